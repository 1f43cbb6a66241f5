"""The label store's modules import downwards only: no cycle, no imports hidden in functions."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench.io.labels as labels

HERE = Path(labels.__file__).parent
#: module -> the label-store modules it may import (the layers, bottom up)
ALLOWED = {
    "_db": set(),
    "schema": set(),
    "migrations": {"schema"},
    "drafts": {"_db", "schema"},
    "invites": {"_db", "schema"},
    "campaigns": {"_db", "schema"},
    "store": {"_db", "schema", "migrations", "campaigns", "drafts", "invites"},
    "zooniverse": set(),
}


def _imports(path: Path):
    """(module imported from workbench.io.labels, at module level?) pairs."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "workbench.io.labels":
                names = [a.name for a in node.names]
            elif node.module.startswith("workbench.io.labels."):
                names = [node.module.rsplit(".", 1)[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.rsplit(".", 1)[1] for a in node.names
                     if a.name.startswith("workbench.io.labels.")]
        for n in names:
            out.append((n, id(node) in top))
    return out


def test_label_store_modules_import_downwards_only():
    for mod, allowed in ALLOWED.items():
        for name, _ in _imports(HERE / f"{mod}.py"):
            assert name in allowed, f"{mod}.py imports {name}"
    # the store module imports what it uses at the top, not inside functions
    assert all(top for _, top in _imports(HERE / "store.py"))
    for mod in ("campaigns", "drafts", "invites"):
        assert "store" not in {n for n, _ in _imports(HERE / f"{mod}.py")}


def test_every_module_is_covered():
    present = {p.stem for p in HERE.glob("*.py")} - {"__init__"}
    assert present <= set(ALLOWED), present - set(ALLOWED)
