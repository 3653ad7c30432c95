"""The README, the changelog and the documentation site hold together.

Every relative link and image resolves to a file, and every ``#anchor`` to a heading of
that file (MkDocs' default slug; for the README, which GitHub renders, GitHub's slug too);
the README stays a front page; every page is in ``mkdocs.yml``'s nav and every nav entry
is a page; the README's lint and test commands are the ones ``.ci/run`` runs.

Plain text parsing only: this needs neither MkDocs nor PyYAML, so it runs with the test
extra alone. ``mkdocs build --strict`` (the lint command) checks the same links again,
and everything else the site needs.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CHANGELOG = ROOT / "CHANGELOG.md"
MKDOCS = ROOT / "mkdocs.yml"
CI = ROOT / ".ci" / "run"

README_MAX_LINES = 300
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest"
)
"""CI runs it as written: it must not change by a byte."""

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
EXPLICIT_ID = re.compile(r"\{[^}]*#([\w-]+)[^}]*\}\s*$")
SNIPPET = re.compile(r'^--8<--\s+"([^"]+)"\s*$', re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def markdown_files() -> list[Path]:
    return [README, CHANGELOG, *sorted(DOCS.rglob("*.md"))]


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans."""
    return INLINE_CODE.sub("code", FENCE.sub("", text))


def expanded(path: Path) -> str:
    """A page as MkDocs renders it: pymdownx.snippets lines replaced by the file they name."""
    text = path.read_text(encoding="utf-8")
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), text)


def included(page: Path) -> set[Path]:
    """The files a page only includes (docs/changelog.md is CHANGELOG.md); else empty."""
    text = re.sub(r"<!--.*?-->", "", page.read_text(encoding="utf-8"), flags=re.S)
    if SNIPPET.sub("", text).strip():
        return set()
    return {(ROOT / name).resolve() for name in SNIPPET.findall(text)}


def links(text: str) -> list[str]:
    body = prose(text)
    return LINK.findall(body) + REFERENCE.findall(body)


def heading_text(raw: str) -> str:
    """A heading as plain text, the way the toc extension sees it once rendered."""
    text = EXPLICIT_ID.sub("", raw)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"(\*\*|__|\*)", "", text)  # emphasis marks
    return text.replace("`", "").strip()


def mkdocs_slug(text: str) -> str:
    """Python-Markdown's toc.slugify, the default of MkDocs."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def github_slug(text: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path, slug: Callable[[str], str] = mkdocs_slug) -> set[str]:
    """Every anchor a page's headings give, duplicates numbered as the toc numbers them."""
    found: set[str] = set()
    for _, raw in HEADING.findall(FENCE.sub("", expanded(path))):
        explicit = EXPLICIT_ID.search(raw)
        anchor = explicit.group(1) if explicit else slug(heading_text(raw))
        candidate, n = anchor, 0
        while candidate in found:
            n += 1
            candidate = f"{anchor}_{n}" if slug is mkdocs_slug else f"{anchor}-{n}"
        found.add(candidate)
    return found


def broken_links(path: Path) -> list[str]:
    """What is wrong with each relative link or image of one Markdown file."""
    problems = []
    for target in links(path.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue
        if path == CHANGELOG:
            problems.append(
                f"{target}: CHANGELOG.md is included in docs/changelog.md, where a "
                "relative link would point elsewhere; use an absolute URL"
            )
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no file {os.path.relpath(resolved, ROOT)}")
            continue
        if anchor and resolved.suffix == ".md":
            slugs = [mkdocs_slug] + ([github_slug] if path == README else [])
            for slug in slugs:
                if anchor not in anchors(resolved, slug):
                    problems.append(f"{target}: no heading gives #{anchor} ({slug.__name__})")
    return problems


def nav_pages() -> list[str]:
    """The .md files named in mkdocs.yml's nav (a block of indented lines under nav:)."""
    lines = MKDOCS.read_text(encoding="utf-8").splitlines()
    start = lines.index("nav:")
    block = []
    for line in lines[start + 1 :]:
        if line and not line[0].isspace() and not line.startswith("-"):
            break
        block.append(line)
    return re.findall(r"([\w./-]+\.md)\s*$", "\n".join(block), re.M)


def sh_commands(text: str) -> list[str]:
    """The lines of the README's ```sh blocks."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def ci_commands() -> list[str]:
    """.ci/run's lines that are neither blank, comments, nor shell structure."""
    return [
        line
        for line in CI.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_the_link_check_finds_a_broken_link_anchor_and_image(tmp_path: Path) -> None:
    shutil.copy(DOCS / "python-api.md", tmp_path / "python-api.md")
    page = tmp_path / "probe.md"
    page.write_text(
        "# Probe\n\n"
        "[missing](no-such-page.md) [bad anchor](python-api.md#no-such-heading) "
        "![missing image](no-such.png) [good](python-api.md#errors) [self](#probe) "
        "`[in code](nowhere.md)`\n\n```md\n[in a fence](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert len(problems) == 3, problems
    assert any("no-such-page.md" in p for p in problems)
    assert any("#no-such-heading" in p for p in problems)
    assert any("no-such.png" in p for p in problems)


def test_slugs_follow_mkdocs_and_github() -> None:
    assert mkdocs_slug("Meaning: word vectors (optional)") == "meaning-word-vectors-optional"
    assert mkdocs_slug(heading_text("`prefix` on PIAF")) == "prefix-on-piaf"
    assert mkdocs_slug("Données et licences") == "donnees-et-licences"
    assert github_slug("Données et licences") == "données-et-licences"


def test_the_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_readme_links_every_docs_page() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for target in links(README.read_text(encoding="utf-8"))
        if not SCHEME.match(target)
    }
    unlinked = [
        str(page.relative_to(ROOT))
        for page in sorted(DOCS.rglob("*.md"))
        if page not in linked and not (included(page) and included(page) <= linked)
    ]
    assert unlinked == []


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    nav = nav_pages()
    pages = sorted(str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md"))
    assert len(nav) == len(set(nav)), "a page is listed twice in the nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page"
    assert sorted(set(pages) - set(nav)) == [], "pages missing from the nav"


def test_the_readme_commands_are_the_ones_ci_runs() -> None:
    commands = sh_commands(README.read_text(encoding="utf-8"))
    tests = [c for c in commands if c.endswith("python -m pytest")]
    lints = [c for c in commands if "ruff check" in c]
    assert tests == [TEST_COMMAND]
    assert len(lints) == 1
    *_, ci_lint, ci_test = ci_commands()
    assert ci_test == tests[0], "the last command of .ci/run is not the README's test command"
    assert ci_lint == lints[0], "the command before it is not the README's lint command"
    assert lints[0].endswith("mkdocs build --strict")
