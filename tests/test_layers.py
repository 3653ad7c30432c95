"""The layer rules of docs/architecture.md, read from every module's imports with ``ast``."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nato_search"

FACADE = {"index", "indexing", "folders", "sources", "default_index", "highlight", "rerank"}
FACES = {"cli", "web", "integrations", "__main__"}
FLOOR = {"settings", "errors", "durable"}
PRIVATE_WHOOSH = ("whoosh.codec.whoosh3", "whoosh.filedb.filetables", "whoosh.filedb.structfile")
PRIVATE_WHOOSH += ("whoosh.system", "whoosh.util.numeric")
WHOOSH_PRIVATE_MODULE = "engines.whoosh.whoosh_private"
OTHER_LIBRARIES = {
    "_exit": "os._exit, in a build worker that must not run its parent's cleanup",
    "_actions": "argparse: the CLI lists its own parser's options",
    "_begin": "Xapian's MSet iteration (its Python bindings' own)",
    "_end": "Xapian's MSet iteration (its Python bindings' own)",
}
"""Private names of other libraries, which the Whoosh rule does not cover."""


def modules() -> dict[str, Path]:
    """``text.analyzer`` → its file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name or "__init__"] = path
    return found


def imports(path: Path) -> list[str]:
    """Every module it imports (``nato_search.`` dropped from ours), wherever the import is."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import of {node.module}"
            found.append(node.module)
            if node.module == "nato_search":  # from nato_search import a_module
                found += [f"nato_search.{alias.name}" for alias in node.names]
    return found


def ours(names: list[str]) -> set[str]:
    return {n.removeprefix("nato_search.") for n in names if n.startswith("nato_search.")}


def layer(module: str) -> str:
    return module.split(".")[0]


def violations(rule) -> list[str]:
    return [
        f"{module} imports {imported}"
        for module, path in modules().items()
        for imported in sorted(ours(imports(path)))
        if not rule(module, imported)
    ]


def test_the_package_has_the_layout_the_docs_describe():
    names = set(modules())
    for expected in [
        "text.tokenizer",
        "text.filters",
        "text.names",
        "text.analyzer",
        "text.stemming",
        "text.snippets",
        "readers.corpus",
        "query.syntax",
        "query.expansion",
        "query.plan",
        "query.filters",
        "engines.base",
        "engines.pool",
        "engines.fields",
        "engines.whoosh.engine",
        "engines.whoosh.bm25",
        "engines.whoosh.arrays",
        "engines.whoosh.arrays_file",
        "engines.whoosh.whoosh_private",
        "engines.xapian.engine",
        "engines.xapian.cluster",
        "engines.xapian.translate",
        "web.app",
        "web.server",
        "integrations.langchain",
        *FACADE,
        *FLOOR,
    ]:
        assert expected in names, expected


def test_text_and_readers_know_no_index():
    def rule(module: str, imported: str) -> bool:
        return layer(module) not in ("text", "readers") or layer(imported) in (
            "text",
            "readers",
            *FLOOR,
        )

    assert violations(rule) == []


def test_the_query_layer_is_engine_neutral():
    def rule(module: str, imported: str) -> bool:
        return layer(module) != "query" or layer(imported) in ("query", "text", "readers", *FLOOR)

    assert violations(rule) == []


def test_engines_never_import_the_facade_or_the_faces():
    def rule(module: str, imported: str) -> bool:
        return layer(module) != "engines" or layer(imported) not in FACADE | FACES | {"vectors"}

    assert violations(rule) == []


@pytest.mark.parametrize(("backend", "other"), [("whoosh", "xapian"), ("xapian", "whoosh")])
def test_each_backend_imports_neither_the_other(backend, other):
    def rule(module: str, imported: str) -> bool:
        return not (
            module.startswith(f"engines.{backend}") and imported.startswith(f"engines.{other}")
        )

    assert violations(rule) == []


def test_the_shared_engine_modules_import_no_backend():
    def rule(module: str, imported: str) -> bool:
        shared = module in ("engines", "engines.base", "engines.pool", "engines.fields")
        return not (shared and imported.startswith(("engines.whoosh", "engines.xapian")))

    assert violations(rule) == []


def test_the_faces_know_no_engine():
    def rule(module: str, imported: str) -> bool:
        return layer(module) not in FACES or layer(imported) != "engines"

    assert violations(rule) == []


def test_the_floor_imports_only_the_floor():
    def rule(module: str, imported: str) -> bool:
        return module not in FLOOR or imported in FLOOR

    assert violations(rule) == []


def test_whooshs_private_modules_are_imported_in_one_place():
    wrong = [
        f"{module} imports {name}"
        for module, path in modules().items()
        if module != WHOOSH_PRIVATE_MODULE
        for name in imports(path)
        if name.startswith(PRIVATE_WHOOSH)
    ]
    assert wrong == []


def defined_private_names() -> set[str]:
    """Every ``_name`` the package defines: functions, classes, attributes it assigns."""
    names: set[str] = set()
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_whooshs_private_attributes_are_used_in_one_place():
    """An ``x._name`` that no module of ours defines is Whoosh's (or another library's)."""
    ours_ = defined_private_names()
    wrong = []
    for module, path in modules().items():
        if module == WHOOSH_PRIVATE_MODULE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in ours_
                and node.attr not in OTHER_LIBRARIES
            ):
                wrong.append(f"{module}:{node.lineno} uses .{node.attr}")
    assert wrong == []


def test_the_rules_catch_a_forbidden_import(tmp_path, monkeypatch):
    """A text module importing the facade, and an engine using Whoosh's private modules,
    are both caught (the rules read files, so a planted file proves they can fail)."""
    copy = tmp_path / "nato_search"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setitem(globals(), "PACKAGE", copy)
    planted = copy / "text" / "_planted_for_test.py"
    planted.write_text(
        "from nato_search.index import Index\nfrom whoosh.system import pack_int\n"
        "def f(x):\n    return x._tindex\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match="_planted_for_test imports index"):
        test_text_and_readers_know_no_index()
    with pytest.raises(AssertionError, match="whoosh.system"):
        test_whooshs_private_modules_are_imported_in_one_place()
    with pytest.raises(AssertionError, match="_tindex"):
        test_whooshs_private_attributes_are_used_in_one_place()


def test_backends_are_chosen_from_a_registry(tmp_path):
    import nato_search
    from nato_search.engines.base import backend_named, backend_names

    assert backend_names() == ("whoosh", "xapian")
    assert backend_named("whoosh").name == "whoosh"
    with pytest.raises(ValueError, match="unknown backend 'lucene'; choose one of whoosh, xapian"):
        nato_search.build_index([], tmp_path / "ix", backend="lucene")
    with pytest.raises(ValueError, match="unknown backend"):
        backend_named(None)
