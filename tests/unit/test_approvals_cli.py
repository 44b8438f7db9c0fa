"""`opswatchdog approvals answer` arguments → the answer, built and checked by service/approvals.py like
POST /approvals/{id}: the requester cannot approve, an edit needs a readable JSON object, respond a comment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import build_parser, main
from app.incident_cmd import answer_for, edit_plan
from service.approvals import ApprovalRefused

PLAN = {"summary": "add 2 x 32 GiB", "modules_to_add": [{"size_gib": 32, "count": 2}]}


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["approvals", "answer", "t1", *argv])


def _answer(*argv: str, requested_by: str | None = "alertmanager") -> tuple[str, dict[str, Any]]:
    args = _args(*argv)
    return answer_for(args, edit_plan(args), requested_by)


def test_accept_reject_respond_map_to_agent_inbox_answers() -> None:
    assert _answer("accept", "--approver", "alice") == ("alice", {"type": "accept", "args": None, "approver": "alice"})
    assert _answer("reject", "--approver", "bob", "--reason", "too dear") == (
        "bob",
        {"type": "ignore", "args": "too dear", "approver": "bob"},
    )
    assert _answer("reject", "--approver", "bob")[1]["args"] == "rejected"
    assert _answer("respond", "--approver", "carol", "--reason", "ask the vendor first") == (
        "carol",
        {"type": "response", "args": "ask the vendor first", "approver": "carol"},
    )


def test_respond_needs_a_reason() -> None:
    with pytest.raises(ApprovalRefused, match="respond needs a comment"):
        _answer("respond", "--approver", "carol")


def test_the_requester_cannot_approve_their_own_request() -> None:
    with pytest.raises(ApprovalRefused, match="cannot approve"):
        _answer("accept", "--approver", " AlertManager ")
    with pytest.raises(ApprovalRefused, match="alice requested this incident and cannot approve it"):
        _answer("reject", "--approver", "alice", requested_by="alice")


def test_the_approver_defaults_to_the_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "dave")
    assert _answer("accept") == ("dave", {"type": "accept", "args": None, "approver": "dave"})
    with pytest.raises(ApprovalRefused, match="dave requested this incident"):
        _answer("accept", requested_by="dave")


def test_no_login_name_and_no_approver_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr("getpass.getuser", no_user)
    with pytest.raises(ApprovalRefused, match="needs the approver's identity"):
        _answer("accept")


def test_edit_reads_the_plan_file(tmp_path: Path) -> None:
    bare, wrapped = tmp_path / "bare.json", tmp_path / "wrapped.json"
    bare.write_text(json.dumps(PLAN))
    wrapped.write_text(json.dumps({"plan": PLAN}))
    for path in (bare, wrapped):
        assert _answer("edit", str(path), "--approver", "alice") == (
            "alice",
            {"type": "edit", "args": {"plan": PLAN}, "approver": "alice"},
        )


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the edited plan .*missing.json: No such file or directory"),
        ("{not json", "is not valid JSON: Expecting property name"),
        (b"\xff\xfe\x00{", "is not valid JSON"),
        ('["a", "list"]', "must be a JSON object, not list"),
    ],
)
def test_a_bad_edit_file_is_refused(tmp_path: Path, content: str | bytes | None, error: str) -> None:
    path = tmp_path / "missing.json"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ApprovalRefused, match=error):
        edit_plan(_args("edit", str(path)))


def test_edit_needs_a_file_and_only_edit_takes_one(tmp_path: Path) -> None:
    with pytest.raises(ApprovalRefused, match="edit needs the edited plan"):
        edit_plan(_args("edit"))
    with pytest.raises(ApprovalRefused, match="a plan file goes with edit only"):
        edit_plan(_args("accept", str(tmp_path / "plan.json")))


def test_a_bad_edit_file_exits_2_before_touching_any_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The checkpointer would be a file under the working directory: nothing may be created there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSWD_CHECKPOINTS__URL", raising=False)
    (tmp_path / "plan.json").write_text("{,}")
    assert main(["approvals", "answer", "t1", "edit", "plan.json", "--approver", "alice"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("opswatchdog approvals answer: the edited plan plan.json is not valid JSON")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_decisions_are_those_of_the_http_api() -> None:
    with pytest.raises(SystemExit):
        _args("approve")
    assert _args("respond", "--reason", "x").decision == "respond"
