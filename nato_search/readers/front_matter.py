"""YAML front matter (``---`` lines around ``key: value`` lines at the top of a file), the
flat subset static-site generators write: scalars, quoted strings, ``[a, b]`` and ``- item``
lists. A nested block is kept whole as its text, so that nothing in it is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nato_search.errors import CorpusError

_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)\s*:(?:\s+(?P<value>.*?))?\s*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass
class FrontMatter:
    body: str
    """The text after the front matter."""
    fields: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    """The line of the file where each field is written, for messages."""


def front_matter(text: str, where: str) -> FrontMatter:
    """The front matter of ``text`` (none when it does not open with a ``---`` line)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return FrontMatter(text)
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        return FrontMatter(text)  # no closing line: a thematic break, not front matter
    found = FrontMatter("\n".join(lines[end + 1 :]))
    fields = found.fields
    key: str | None = None
    nested: list[str] = []
    for number, line in enumerate(lines[1:end], 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t-" and key is not None:
            nested.append(line)
            continue
        _close(fields, key, nested)
        match = _KEY.match(line)
        if not match:
            raise CorpusError(f"{where}:{number}: front matter line is not 'key: value'")
        key, value = match["key"], match["value"]
        found.lines[key] = number
        if value:
            fields[key] = _scalar_or_list(value)
            key = None
    _close(fields, key, nested)
    return found


def _close(fields: dict[str, Any], key: str | None, nested: list[str]) -> None:
    """The value of a key written on the lines below it: a list of ``- item``, or the text."""
    if key is None:
        return
    if nested and all(line.lstrip().startswith("- ") for line in nested):
        fields[key] = [_scalar(line.lstrip()[2:]) for line in nested]
    elif nested:
        fields[key] = "\n".join(line.strip() for line in nested)
    else:
        fields[key] = None
    nested.clear()


def _scalar_or_list(value: str) -> Any:
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(item) for item in value[1:-1].split(",") if item.strip()]
    return _scalar(value)


def _scalar(value: str) -> Any:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if " #" in value:
        value = value[: value.index(" #")].rstrip()
    lowered = value.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if lowered in ("null", "~", ""):
        return None
    if _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value
