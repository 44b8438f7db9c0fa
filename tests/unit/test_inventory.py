from pathlib import Path

import pytest

from tools_server.inventory import InventoryError, load_inventory, parse_inventory

OWN = """\
defaults:
  user: ops
  identity_file: /keys/ops
hosts:
  - name: web-01
    address: 10.0.0.11
    groups: [web, prod]
    tags: [ssd]
    rack: r01
    switch: sw-a
    services:
      - {name: nginx, port: 80, process: "nginx: master"}
  - name: db-01
    address: db-01.example.internal
    port: 2222
    user: dba
    groups: [db]
"""

ANSIBLE = """\
all:
  vars:
    ansible_user: ops
  children:
    web:
      vars:
        rack: r01
      hosts:
        web1:
          ansible_host: 10.0.0.1
          ansible_ssh_private_key_file: /keys/web
        web2:
    db:
      hosts:
        db1: {ansible_host: 10.0.0.9, ansible_port: 2222, ansible_become: true}
        web1:
"""


def test_own_format_with_defaults() -> None:
    inv = parse_inventory(OWN, "inv.yaml")
    web, db = inv.hosts
    assert web.user == "ops" and str(web.identity_file) == "/keys/ops"
    assert web.services[0].process == "nginx: master"
    assert db.user == "dba" and db.port == 2222
    assert [h.name for h in inv.select(group="web")] == ["web-01"]
    assert [h.name for h in inv.select(tag="ssd")] == ["web-01"]


def test_ansible_inventory_as_is() -> None:
    inv = parse_inventory(ANSIBLE, "hosts.yml")
    web1 = inv.get("web1")
    assert web1.address == "10.0.0.1" and web1.user == "ops" and web1.rack == "r01"
    assert web1.groups == ["db", "web"]
    assert inv.get("web2").address == "web2"
    db1 = inv.get("db1")
    assert db1.port == 2222 and db1.become is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hosts:\n  - name: a\n    address: 1.2.3.4\n    port: 99999\n", "inv.yaml: line 4: hosts.0.port"),
        ("hosts:\n  - name: a\n    address: '-oProxyCommand=id'\n", "inv.yaml: line 3: hosts.0.address"),
        (
            "hosts:\n  - name: a\n    address: h\n  - name: a\n    address: h\n",
            "line 4: duplicate host name 'a'",
        ),
        ("hosts:\n  - name: a\n    address: h\n    colour: red\n", "line 4: hosts.0.colour"),
        ("hosts: [\n", "inv.yaml: line 2: not valid YAML"),
        ("- a\n- b\n", "line 1: expected a mapping"),
        ("hosts:\n  - name: a\n    address: h\n    services: [{name: x, process: '-f /etc'}]\n", "line 4"),
        ("all:\n  hosts:\n    a:\n      ansible_port: abc\n", "line 4: hosts.0.port"),
        ("all:\n  children:\n    web:\n      hostz: {}\n", "line 4: group 'web' has unknown keys"),
    ],
)
def test_malformed_inventory_names_file_line_and_problem(text: str, expected: str) -> None:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "inv.yaml")
    assert expected in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read inventory"):
        load_inventory(tmp_path / "nope.yaml")


def test_unknown_host_is_named() -> None:
    inv = parse_inventory(OWN, "inv.yaml")
    with pytest.raises(KeyError, match="unknown host 'x'"):
        inv.get("x")
