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

A second rule holds for the test files: they use only workbench's public names (see the
section "tests use workbench's public names" below, with its short allowlist).
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


# --- tests use workbench's public names ------------------------------------------------------
#
# A test file reaches through workbench's public face, not its private names: no
# ``from workbench.x import _name``, no ``module._name`` on a module imported from workbench,
# no ``obj._name`` (nor ``getattr``/``setattr``/``monkeypatch.setattr`` with ``"_name"``, nor
# ``monkeypatch.setattr("workbench.x._name", ...)``) where ``_name`` is private to workbench:
# defined at the top of one of its modules or by one of its classes (method, class attribute,
# ``self._name``). An underscore-named *module* (``workbench.io._staging``) is not a private
# name here: it is an internal module whose public names are its interface inside the
# package, and its tests (mirrored under tests/) import it. A test's own helpers (``_img()``,
# a fake class's ``self._rows``) are its business.

#: (test file, private name) pairs a test may still use, each with the reason it must.
ALLOWED_PRIVATE = {
    ("tests/server/test_lab_server.py", "_jupyter_server_extension_points"):
        "the hook Jupyter Server looks up by this exact name; the test checks what Jupyter sees",
}
_PATCH_FUNCS = {"setattr", "delattr", "patch", "setitem"}


def _defined_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (functions, classes, assignments, imports)."""
    out = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def workbench_private_names(package: Path) -> set[str]:
    """Private names of the package: top-level names of its modules and its classes' names."""
    names = set()
    for f in package.rglob("*.py"):
        src = f.read_text()
        names |= _defined_names(ast.parse(src))
        names |= private_names([src])
    return {n for n in names if _is_private(n)}


def _is_module(package: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``workbench.io._staging``) names a module or package of ``package``."""
    parts = dotted.split(".")
    if parts[0] != package.name:
        return False
    p = package.joinpath(*parts[1:])
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def private_uses(source: str, names: set[str], package: Path, filename: str = "<string>"
                      ) -> list[str]:
    """``file:line: text`` of every use of one of workbench's private ``names`` in ``source``."""
    tree = ast.parse(source, filename=filename)
    own = private_names([source])  # the file's own classes' attributes: obj._name is theirs
    modules = {}  # local name -> dotted workbench module it is bound to
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == package.name:
                    local = a.asname or a.name.split(".")[0]
                    modules[local] = a.name if a.asname else package.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == package.name:
            for a in node.names:
                dotted = f"{node.module}.{a.name}"
                if _is_module(package, dotted):
                    modules[a.asname or a.name] = dotted
                elif _is_private(a.name):
                    hits.append((node.lineno, f"from {node.module} import {a.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            dotted = ast.unparse(base)
            head, _, rest = dotted.partition(".")
            if head in modules and _is_module(package, ".".join(
                    p for p in (modules[head], rest) if p) + f".{node.attr}"):
                continue  # module.sub._module: a module, not a private name
            if head in modules and isinstance(base, (ast.Name, ast.Attribute)) \
                    or node.attr in names - own:
                hits.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call):
            fn = node.func
            fname = fn.id if isinstance(fn, ast.Name) else \
                fn.attr if isinstance(fn, ast.Attribute) else ""
            if fname in _ATTR_FUNCS | _PATCH_FUNCS and node.args:
                first = node.args[0]
                on_module = isinstance(first, ast.Name) and first.id in modules
                args = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)
                        and isinstance(a.value, str)]
                for a in args:
                    last = a.rsplit(".", 1)[-1]
                    if a.startswith(package.name + ".") and _is_private(last) \
                            and not _is_module(package, a):
                        hits.append((node.lineno, ast.unparse(node)))
                    elif a == last and (a in names - own or on_module and _is_private(a)):
                        hits.append((node.lineno, ast.unparse(node)))
    return [f"{filename}:{line}: {text}" for line, text in sorted(set(hits))]


def _test_files():
    for f in sorted((ROOT / "tests").rglob("*.py")):
        rel = f.relative_to(ROOT).as_posix()
        if rel != "tests/test_private_access.py":
            yield rel, f


def test_tests_use_only_public_names_of_workbench():
    package = ROOT / "workbench"
    names = workbench_private_names(package)
    assert {"_map_graph", "_thread", "_ids_key", "_lock_dir", "_finished"} <= names
    assert not names & {"stored_graph", "target_parameters", "prefetched", "__init__"}
    found = [hit for rel, f in _test_files()
             for hit in private_uses(f.read_text(), names, package, rel)
             if (rel, hit.rsplit(" ", 1)[-1].split(".")[-1]) not in ALLOWED_PRIVATE]
    assert not found, ("tests using private names of workbench (test through the public "
                       "API, or make the name public and documented):\n" + "\n".join(found))
    # every allowance is still needed (an entry whose use is gone is removed)
    for rel, name in ALLOWED_PRIVATE:
        assert name in (ROOT / rel).read_text(), (rel, name)


def test_a_planted_private_use_in_a_test_is_caught(tmp_path):
    pkg = tmp_path / "workbench"
    (pkg / "io").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "io" / "__init__.py").write_text("")
    (pkg / "io" / "_atomic.py").write_text("def new_folder():\n    pass\n")
    (pkg / "jobs.py").write_text("_LIMIT = 3\n\ndef _run():\n    pass\n\nclass Job:\n"
                                 "    def __init__(self):\n        self._thread = None\n")
    names = workbench_private_names(pkg)
    assert names == {"_LIMIT", "_run", "_thread"}
    src = ("import workbench.jobs as J\n"
           "from workbench import jobs\n"
           "from workbench.jobs import _run, Job\n"          # line 3: flagged
           "from workbench.io import _atomic\n"             # a module: allowed
           "from workbench.io._atomic import new_folder\n"  # a public name: allowed
           "def test(monkeypatch):\n"
           "    J._LIMIT\n"                                 # line 7: flagged
           "    Job()._thread.join()\n"                     # line 8: flagged
           "    monkeypatch.setattr(jobs, '_run', None)\n"  # line 9: flagged
           "    monkeypatch.setattr('workbench.jobs._LIMIT', 1)\n"  # line 10: flagged
           "    _atomic.new_folder()\n"
           "    other._private\n"                          # not a workbench name
           "class Fake:\n"
           "    def __init__(self):\n"
           "        self._run = 1\n"                        # the test's own attribute
           "    def go(self, f):\n"
           "        return f._run\n")
    assert [h.split(": ")[0] for h in private_uses(src, names, pkg, "t.py")] == [
        "t.py:3", "t.py:7", "t.py:8", "t.py:9", "t.py:10"]
