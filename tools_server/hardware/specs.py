"""The board/chipset memory spec table (specs.yaml): typed, validated, and matched against dmidecode identity."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools_server.hardware.models import DimmKind
from tools_server.parsers.dmidecode import DmiInfo

Level = Literal["chipset", "platform", "board", "system"]
MatchedBy = Literal["system_product", "board_product", "chipset"]

_REGISTERED_KINDS = frozenset({"RDIMM", "LRDIMM"})
# Firmware fillers that name no product; matching them would only ever be a coincidence.
_PLACEHOLDERS = frozenset(
    {
        "",
        "to be filled by o e m",
        "system product name",
        "default string",
        "not specified",
        "not applicable",
        "none",
        "o e m",
        "oem",
        "type1productconfigid",
        "base board product name",
        "unknown",
    }
)
_BRACKETED = re.compile(r"-?\[[^\]]*\]-?")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


class TypeLimits(BaseModel):
    """JEDEC speed bins and largest sold module per DIMM kind of one DDR generation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    speeds_mts: list[int] = Field(min_length=1)
    max_module_gib: dict[DimmKind, int]
    source: str = Field(min_length=1)


class PartNumberRule(BaseModel):
    """A vendor part-number pattern that tells the DIMM kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: str
    kind: DimmKind
    source: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            msg = f"part-number pattern {value!r} is not a valid regular expression: {exc}"
            raise ValueError(msg) from exc
        return value


class MemorySupport(BaseModel):
    """What one DDR generation looks like on a board: DIMM kinds, speeds, largest module per slot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    kinds: list[DimmKind] = Field(min_length=1)
    speeds_mts: list[int] = Field(min_length=1)
    max_per_slot_gib: int = Field(gt=0)


class MatchNames(BaseModel):
    """Names under which dmidecode reports a board: system products, board products, chipset words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_products: list[str] = Field(default_factory=list)
    board_products: list[str] = Field(default_factory=list)
    chipsets: list[str] = Field(default_factory=list)


class BoardSpec(BaseModel):
    """One entry of the table: a chipset, platform, board or server model and its memory limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    level: Level
    vendor: str
    match: MatchNames
    memory: list[MemorySupport] = Field(min_length=1)
    ecc: Literal["none", "optional", "required"]
    sockets: int = Field(ge=1)
    channels_per_socket: int = Field(ge=1)
    slots: int = Field(ge=1)
    board_max_gib: int = Field(gt=0)
    mixed_sizes: bool = False
    confidence: Literal["spec", "typical"]
    source: str = Field(min_length=1)
    notes: str = ""

    def memory_for(self, memory_type: str) -> MemorySupport | None:
        """The entry's support of one DDR generation, None when the board does not take it."""
        return next((m for m in self.memory if m.type == memory_type), None)

    @model_validator(mode="after")
    def _consistent(self) -> BoardSpec:
        problems: list[str] = []
        most_per_slot = max(m.max_per_slot_gib for m in self.memory)
        if self.board_max_gib > self.slots * most_per_slot:
            problems.append(f"board_max_gib {self.board_max_gib} exceeds {self.slots} slots x {most_per_slot} GiB")
        kinds = {k for m in self.memory for k in m.kinds}
        if kinds <= _REGISTERED_KINDS and self.ecc != "required":
            problems.append("registered DIMMs always carry ECC: ecc must be 'required'")
        if self.ecc == "none" and kinds & _REGISTERED_KINDS:
            problems.append("ecc 'none' contradicts RDIMM/LRDIMM support")
        if self.level == "chipset" and not self.match.chipsets:
            problems.append("a chipset entry needs match.chipsets")
        if self.level in ("board", "system") and not (self.match.system_products or self.match.board_products):
            problems.append("a board or system entry needs match.system_products or match.board_products")
        if problems:
            msg = f"spec entry {self.id}: " + "; ".join(problems)
            raise ValueError(msg)
        return self


class SpecTable(BaseModel):
    """The whole spec table: module sizes, DDR generations, part-number codes and board entries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1]
    standard_sizes_gib: list[int] = Field(min_length=1)
    memory_types: dict[str, TypeLimits]
    part_number_kinds: list[PartNumberRule] = Field(default_factory=list)
    # Shared values for YAML merge keys only; entries already carry them once loaded.
    families: dict[str, Any] = Field(default_factory=dict)
    boards: list[BoardSpec]

    def entry(self, board_id: str) -> BoardSpec | None:
        """The entry with this id, or None."""
        return next((b for b in self.boards if b.id == board_id), None)

    @model_validator(mode="after")
    def _consistent(self) -> SpecTable:
        problems: list[str] = []
        for size in self.standard_sizes_gib:
            if size & (size - 1):
                problems.append(f"standard size {size} GiB is not a power of two")
        for name, limits in self.memory_types.items():
            problems += [
                f"{name}: {kind} module limit {gib} GiB is not a standard size"
                for kind, gib in limits.max_module_gib.items()
                if gib not in self.standard_sizes_gib
            ]
        seen_ids: set[str] = set()
        seen_names: dict[tuple[str, str], str] = {}
        for board in self.boards:
            if board.id in seen_ids:
                problems.append(f"duplicate id {board.id}")
            seen_ids.add(board.id)
            problems += self._board_problems(board)
            for field, names in (
                ("system", board.match.system_products),
                ("board", board.match.board_products),
                ("chipset", board.match.chipsets),
            ):
                for name in names:
                    key = (field, normalise_name(name) if field != "chipset" else name.upper())
                    if key in seen_names and seen_names[key] != board.id:
                        problems.append(f"{field} name {name!r} is in both {seen_names[key]} and {board.id}")
                    seen_names[key] = board.id
        if problems:
            raise ValueError("invalid spec table: " + "; ".join(problems))
        return self

    def _board_problems(self, board: BoardSpec) -> list[str]:
        problems: list[str] = []
        for support in board.memory:
            limits = self.memory_types.get(support.type)
            if limits is None:
                problems.append(f"{board.id}: memory type {support.type} is not in memory_types")
                continue
            if support.max_per_slot_gib not in self.standard_sizes_gib:
                problems.append(f"{board.id}: max_per_slot_gib {support.max_per_slot_gib} is not a standard size")
            odd = sorted(set(support.speeds_mts) - set(limits.speeds_mts))
            if odd:
                problems.append(f"{board.id}: {support.type} speeds {odd} are not JEDEC bins")
            if support.speeds_mts != sorted(support.speeds_mts):
                problems.append(f"{board.id}: speeds_mts must be ascending")
            missing = sorted(set(support.kinds) - set(limits.max_module_gib))
            if missing:
                problems.append(f"{board.id}: {support.type} has no module limit for {missing}")
        return problems


class BoardMatch(BaseModel):
    """A spec entry matched to a machine, and which dmidecode value matched it."""

    model_config = ConfigDict(frozen=True)

    entry: BoardSpec
    matched_by: MatchedBy
    value: str


def normalise_name(name: str | None) -> str:
    """Lower-case words of a product name without punctuation or bracketed machine types ("-[7X06CTO1WW]-")."""
    if not name:
        return ""
    without_brackets = _BRACKETED.sub(" ", name.casefold())
    return _NON_ALNUM.sub(" ", without_brackets).strip()


def is_placeholder(name: str | None) -> bool:
    """True for firmware fillers such as "To be filled by O.E.M." or "System Product Name"."""
    return normalise_name(name) in _PLACEHOLDERS


def _chipset_pattern(token: str) -> re.Pattern[str]:
    # The chipset name as a word, optionally with up to two letters (B650M, H310CM, X570S), never digits (B650D4U).
    return re.compile(rf"(?<![A-Z0-9]){re.escape(token.upper())}[A-Z]{{0,2}}(?![A-Z0-9])")


def _unique(entries: list[BoardSpec]) -> BoardSpec | None:
    ids = {e.id for e in entries}
    return entries[0] if len(ids) == 1 else None


def match_board(dmi: DmiInfo, table: SpecTable) -> BoardMatch | None:
    """The spec entry for the machine: by system product, then board product, then a chipset name in either."""
    system = normalise_name(dmi.system_product)
    board = normalise_name(dmi.board_product)
    if system not in _PLACEHOLDERS:
        hit = _unique([b for b in table.boards if system in {normalise_name(n) for n in b.match.system_products}])
        if hit is not None:
            return BoardMatch(entry=hit, matched_by="system_product", value=dmi.system_product or "")
    if board not in _PLACEHOLDERS:
        hit = _unique([b for b in table.boards if board in {normalise_name(n) for n in b.match.board_products}])
        if hit is not None:
            return BoardMatch(entry=hit, matched_by="board_product", value=dmi.board_product or "")
    for raw in (dmi.board_product, dmi.system_product):
        if raw is None or is_placeholder(raw):
            continue
        upper = raw.upper()
        hits = [b for b in table.boards if any(_chipset_pattern(t).search(upper) for t in b.match.chipsets)]
        hit = _unique(hits)
        if hit is not None:
            return BoardMatch(entry=hit, matched_by="chipset", value=raw)
    return None


def decode_part_number(part_number: str | None, table: SpecTable) -> DimmKind | None:
    """The DIMM kind a vendor part number encodes, None when no rule of the table knows it."""
    if not part_number:
        return None
    text = part_number.strip().upper()
    kinds = {rule.kind for rule in table.part_number_kinds if re.match(rule.pattern, text)}
    return kinds.pop() if len(kinds) == 1 else None


def parse_spec_table(text: str) -> SpecTable:
    """Validate the YAML text of a spec table; errors say which entry and rule failed."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        msg = "a spec table is a YAML mapping with schema_version, memory_types and boards"
        raise ValueError(msg)
    return SpecTable.model_validate(data)


def load_spec_table(path: Path | None = None) -> SpecTable:
    """The spec table from `path`, or the packaged specs.yaml (cached) when no path is given."""
    if path is None:
        return _packaged_table()
    return parse_spec_table(path.read_text())


@cache
def _packaged_table() -> SpecTable:
    text = resources.files("tools_server.hardware").joinpath("specs.yaml").read_text(encoding="utf-8")
    return parse_spec_table(text)
