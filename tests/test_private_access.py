"""No module outside ``workbench.io`` touches a Collection's (or an Appender's) private
attributes; they use the Collection's public face (``root``, ``rows``, ``derived``,
``manifest``, ...; see :class:`workbench.io.collection.Collection`).

The private names are collected, by parsing, from the classes of the Collection's own
modules (so the list cannot drift from the code): every ``_name`` (single leading
underscore, not a dunder) that such a class defines as a method or class attribute or sets
or reads on ``self``. Every module of ``workbench`` outside ``workbench/io/``, of ``tests``
outside ``tests/io/`` (which may test io's internals), of ``benchmarks`` and of the notebook
sources is parsed; ``X._name`` (or ``getattr(X, "_name")``, ``hasattr``, ``setattr``,
``delattr``) with one of those names, on anything but ``self``/``cls``, and a call passing
such a name as a keyword (``Collection(path, _parent=...)``), is reported as ``file:line``. An object's own ``self._rows`` is its business, not the Collection's.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The modules whose classes make up the Collection and its appender.
COLLECTION_MODULES = ["collection.py", "_manifest.py", "_view.py", "_derived.py", "_appender.py"]
#: Folders scanned, each with the sub-folder allowed to use the internals (or None).
SCANNED = [("workbench", "workbench/io"), ("tests", "tests/io"), ("benchmarks", None),
           ("notebooks", None)]
_ATTR_FUNCS = {"getattr", "hasattr", "setattr", "delattr"}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_names(sources) -> set[str]:
    """Private attribute names the classes in ``sources`` (Python source texts) define."""
    names = set()
    for src in sources:
        for cls in (n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ClassDef)):
            for node in cls.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(node.name)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
                elif isinstance(node, ast.Assign):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            for node in ast.walk(cls):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id == "self"):
                    names.add(node.attr)
    return {n for n in names if _is_private(n)}


def violations(source: str, names: set[str], filename: str = "<string>") -> list[str]:
    """``file:line: text`` of every access to one of ``names`` on anything but self/cls,
    and of every call passing one of them as a keyword argument."""
    hits = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if (isinstance(node, ast.Attribute) and node.attr in names
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            hits.append(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in _ATTR_FUNCS and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in names
              and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))):
            hits.append(node)
        elif isinstance(node, ast.Call):  # Collection(path, _index=..., _parent=...)
            hits += [k for k in node.keywords if k.arg in names]
    hits.sort(key=lambda n: (n.lineno, n.col_offset))
    return [f"{filename}:{n.lineno}: "
            + (f"{n.arg}=" if isinstance(n, ast.keyword) else ast.unparse(n)) for n in hits]


def _collection_names() -> set[str]:
    io = ROOT / "workbench" / "io"
    return private_names((io / m).read_text() for m in COLLECTION_MODULES)


def _scanned_files():
    for top, allowed in SCANNED:
        for f in sorted((ROOT / top).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            if allowed is not None and rel.startswith(allowed + "/"):
                continue
            if rel == "tests/test_private_access.py":
                continue
            yield rel, f


def test_the_collected_names_are_the_collections_internals():
    names = _collection_names()
    # the internals other packages used to reach for, and the appender's state
    assert {"_parent", "_index", "_manifest", "_base_catalog", "_lock", "_write_derived",
            "_zarr", "_coll", "_segments"} <= names
    # public names and dunders are not collected
    assert not names & {"root", "rows", "derived", "manifest", "__init__", "__len__"}


def test_no_module_outside_io_touches_collection_internals():
    names = _collection_names()
    found = []
    n_files = 0
    for rel, f in _scanned_files():
        n_files += 1
        found += violations(f.read_text(), names, rel)
    assert n_files > 100  # the scan really walked the project
    assert not found, ("private attributes of the Collection/Appender used outside "
                       "workbench.io (use the public face: root, rows, derived, manifest, ...):\n"
                       + "\n".join(found))


def test_a_planted_violation_is_caught_with_its_line():
    names = private_names(["class C:\n    def __init__(self):\n        self._parent = None\n"
                           "        self.public = 1\n    def _helper(self):\n        pass\n"])
    assert names == {"_parent", "_helper"}
    src = ("def f(coll, widget):\n"
           "    root = coll._parent or coll\n"           # line 2: flagged
           "    ok = coll.root\n"                       # public
           "    widget._other = 1\n"                    # not a Collection name
           "    if hasattr(coll, '_helper'):\n"         # line 5: flagged
           "        pass\n"
           "    view = Collection(p, _parent=coll)\n"  # line 7: flagged
           "    return self._parent\n")                 # an object's own attribute
    assert violations(src, names, "planted.py") == [
        "planted.py:2: coll._parent", "planted.py:5: hasattr(coll, '_helper')",
        "planted.py:7: _parent="]
