"""Prompts, each once per language as a Markdown file, rendered with named fields."""

from __future__ import annotations

from importlib import resources


def render(name: str, lang: str, **fields: str) -> str:
    """Load `<name>_<lang>.md` (falling back to English) and fill its {named} fields."""
    folder = resources.files(__package__)
    source = folder / f"{name}_{lang}.md"
    if not source.is_file():
        source = folder / f"{name}_en.md"
    return source.read_text(encoding="utf-8").format(**fields)
