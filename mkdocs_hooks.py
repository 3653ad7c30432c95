"""MkDocs hooks of the documentation site (mkdocs.yml's ``hooks:``).

The docstrings are plain text with Sphinx-style roles (``:class:`Index```,
``:meth:`~pkg.mod.Class.method```); mkdocstrings shows them as written. This drops the
role and, for a ``~`` target, keeps only the last name, as Sphinx would show it.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj):<code>(~?)([^<]*)</code>")


def _shown(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if tilde else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_shown, html)
