"""The layer table (docs/layers.toml) holds for the real import graph of workbench/.

Every module of the package is parsed with :mod:`ast`; every import counts, wherever it is
(module top, inside a function, under ``if TYPE_CHECKING``): a lazy import is still a
dependency. Relative imports are resolved, ``from pkg import name`` counts as an import of
``pkg.name`` when that is a module, and so does a string constant naming a module of the
package (``importlib.import_module("workbench.x.y")``, the lazy tables of the CLI and of
``workbench/__init__.py``). Each workbench -> workbench import across layers must be an
arrow of the table; a failure lists every offending arrow as ``module -> imported module``.
"""

from __future__ import annotations

import ast
import re
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE_FILE = ROOT / "docs" / "layers.toml"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


# ---------------------------------------------------------------------------- the checker
def load_table(path: Path = TABLE_FILE) -> dict[str, set[str]]:
    """layer -> the layers it may import, from a ``[may_import]`` TOML table."""
    data = tomllib.loads(path.read_text())
    try:
        table = data["may_import"]
    except KeyError:
        raise AssertionError(f"{path}: no [may_import] table") from None
    for layer, allowed in table.items():
        if not (isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)):
            raise AssertionError(f"{path}: {layer} = {allowed!r} is not a list of layer names")
    return {layer: set(allowed) for layer, allowed in table.items()}


def package_modules(pkg_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under the package folder."""
    out = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        parts = list(path.relative_to(pkg_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def layer_of(module: str) -> str:
    """``pkg`` for the package's ``__init__``, else the first name below the package."""
    parts = module.split(".")
    return parts[0] if len(parts) == 1 else parts[1]


def _resolve(name: str, package: str, modules: dict[str, Path]) -> str | None:
    """The module of the package that ``name`` (a module, or a name inside one) refers to."""
    if name != package and not name.startswith(package + "."):
        return None
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in modules else None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its source."""
    package = module.split(".")[0]
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from x import y``: the module x.y when there is one, else x itself
            names = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                     for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module below the package named by a string: imported by importlib (the bare
            # package name is too common a word, in paths and program names, to count)
            if node.value in modules and "." in node.value:
                names = [node.value]
        for name in names:
            target = _resolve(name, package, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def check(pkg_dir: Path, table: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """(offending arrows ``module -> imported module``, modules in no layer of the table)."""
    modules = package_modules(pkg_dir)
    bad, unlayered = [], []
    for module, path in modules.items():
        layer = layer_of(module)
        if layer not in table:
            unlayered.append(module)
            continue
        for target in sorted(imports_of(module, path, modules)):
            other = layer_of(target)
            if other != layer and other not in table[layer]:
                bad.append(f"{module} -> {target}")
    return sorted(bad), sorted(unlayered)


def cycle_in(table: dict[str, set[str]]) -> list[str]:
    """A cycle of arrows in the table (``[a, b, ..., a]``), or ``[]`` when it is layered."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(layer: str, path: list[str]) -> list[str]:
        state[layer] = 1
        for nxt in sorted(table.get(layer, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[layer] = 2
        return []

    for layer in sorted(table):
        if layer not in state and (found := visit(layer, [layer])):
            return found
    return []


# ---------------------------------------------------------------------------- the package
def test_every_import_follows_the_layer_table():
    bad, _ = check(ROOT / "workbench", load_table())
    assert not bad, ("imports that break docs/layers.toml (move the code to its layer, or "
                     "change the table and docs/ARCHITECTURE.md together):\n  "
                     + "\n  ".join(bad))


def test_every_module_is_in_a_layer():
    _, unlayered = check(ROOT / "workbench", load_table())
    assert not unlayered, ("modules in no layer of docs/layers.toml:\n  "
                           + "\n  ".join(unlayered))


def test_the_table_names_only_real_layers():
    """Every layer of the table, and every layer it allows, is a real package or module (a
    typo would otherwise allow nothing or everything silently)."""
    table = load_table()
    real = {layer_of(m) for m in package_modules(ROOT / "workbench")}
    named = set(table) | set().union(*table.values())
    assert named <= real, f"docs/layers.toml names layers that do not exist: {named - real}"
    assert "workbench" not in set().union(*table.values()), \
        "no layer may import the top-level package (the lazy public API)"
    for layer, allowed in table.items():
        assert layer not in allowed, f"{layer} lists itself (its own imports are always fine)"


def test_the_table_has_no_cycles():
    """Layers stack: no layer reaches itself through the arrows (else they are one layer)."""
    cycle = cycle_in(load_table())
    assert not cycle, "docs/layers.toml has a cycle: " + " -> ".join(cycle)


def _architecture_arrows() -> dict[str, set[str]]:
    """layer -> arrows, from the ```` ```layers ```` block of docs/ARCHITECTURE.md: an entry
    starts with the layer's name at column 0, may go on over indented lines, and ends with
    ``→ a, b`` (or ``→ nothing``)."""
    text = ARCHITECTURE.read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, f"{ARCHITECTURE}: no ```layers block"
    entries: list[str] = []
    for line in block.group(1).splitlines():
        if line[:1].strip():
            entries.append(line)
        elif line.strip() and entries:
            entries[-1] += " " + line.strip()
    out = {}
    for entry in entries:
        assert "→" in entry, f"{ARCHITECTURE}: the layers entry {entry!r} has no → arrows"
        arrows = entry.rsplit("→", 1)[1].strip()
        out[entry.split()[0]] = set() if arrows == "nothing" else {
            a.strip() for a in arrows.split(",")}
    return out


def test_architecture_picture_matches_the_table():
    assert _architecture_arrows() == load_table()


# ---------------------------------------------------------------------------- the checker
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "pkg"
    for rel, src in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src))
    return pkg


TINY_TABLE = {"pkg": {"core", "io"}, "core": set(), "io": {"core"}, "tool": {"core"}}


def test_the_checker_catches_forbidden_imports(tmp_path):
    """Lazy, relative, ``from pkg import module``, facade and string imports are all seen;
    allowed arrows and imports inside one layer are not reported."""
    pkg = _package(tmp_path, {
        "__init__.py": "from pkg.io.store import Store\n",
        "core/__init__.py": "",
        "core/kinds.py": "KINDS = ()\n",
        "core/lazy.py": """
            def load():
                from ..io import store   # lazy and relative: still core -> io
                return store
            """,
        "core/facade.py": "import pkg\n",
        "io/__init__.py": "from . import store\n",
        "io/store.py": """
            from pkg.core import kinds      # allowed: io -> core
            from .. import tool             # io -> tool: forbidden
            Store = object
            """,
        "tool.py": """
            import importlib
            from pkg.core.kinds import KINDS
            def go():
                return importlib.import_module("pkg.io.store")   # tool -> io by string
            """,
    })
    bad, unlayered = check(pkg, TINY_TABLE)
    assert unlayered == []
    assert bad == ["pkg.core.facade -> pkg", "pkg.core.lazy -> pkg.io.store",
                   "pkg.io.store -> pkg.tool", "pkg.tool -> pkg.io.store"]


def test_the_checker_reports_a_module_in_no_layer(tmp_path):
    pkg = _package(tmp_path, {"__init__.py": "", "core/__init__.py": "",
                              "extra/__init__.py": "", "extra/thing.py": "import os\n",
                              "loose.py": ""})
    bad, unlayered = check(pkg, TINY_TABLE)
    assert bad == [] and unlayered == ["pkg.extra", "pkg.extra.thing", "pkg.loose"]


def test_a_clean_package_passes(tmp_path):
    pkg = _package(tmp_path, {"__init__.py": "from pkg.io import x\n", "core/__init__.py": "",
                              "io/__init__.py": "", "io/x.py": "from pkg.core import y\n",
                              "core/y.py": "import json\n"})
    assert check(pkg, TINY_TABLE) == ([], [])


def test_a_bad_table_is_a_clear_error(tmp_path):
    path = tmp_path / "layers.toml"
    path.write_text('[may_import]\nio = "core"\n')
    with pytest.raises(AssertionError, match=r"io = 'core' is not a list"):
        load_table(path)
    path.write_text('[layers]\nio = ["core"]\n')
    with pytest.raises(AssertionError, match=r"no \[may_import\] table"):
        load_table(path)


def test_the_cycle_check_finds_a_cycle():
    assert cycle_in(TINY_TABLE) == []
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle_in({"core": set(), "io": {"core", "learn"}, "learn": {"io"}}) == \
        ["io", "learn", "io"]
