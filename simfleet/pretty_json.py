"""A fast equivalent of json.dumps(obj, indent=2) for the plain dicts, lists and scalars smartctl prints."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any


def dumps_indent2(obj: Any) -> str:
    """Serialise like json.dumps(obj, indent=2), without the pure-Python encoder's overhead."""
    out: list[str] = []
    _emit(obj, "\n", out)
    return "".join(out)


def _emit(o: Any, nl: str, out: list[str]) -> None:
    if isinstance(o, str):
        out.append(encode_basestring_ascii(o))
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif o is None:
        out.append("null")
    elif isinstance(o, int):
        out.append(str(o))
    elif isinstance(o, float):
        out.append(repr(o))
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = nl + "  "
        sep = "{" + inner
        for k, v in o.items():
            out.append(sep + encode_basestring_ascii(k) + ": ")
            _emit(v, inner, out)
            sep = "," + inner
        out.append(nl + "}")
    elif isinstance(o, list | tuple):
        if not o:
            out.append("[]")
            return
        inner = nl + "  "
        sep = "[" + inner
        for v in o:
            out.append(sep)
            _emit(v, inner, out)
            sep = "," + inner
        out.append(nl + "]")
    else:
        msg = f"cannot serialise {type(o).__name__}"
        raise TypeError(msg)
