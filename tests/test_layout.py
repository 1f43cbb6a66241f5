"""The test suite mirrors the package, and the default run selects every test.

``tests/<a>/<b>/test_x.py`` tests code of ``workbench/<a>/<b>/`` (a package), so a reader
finds a module's tests by its path. The only other places a test file may live:

- ``EXTRA_FOLDERS``: suites across packages: ``ui`` (the browser tests), ``benchmarks``
  (the benchmark scripts of ``benchmarks/``), ``distributed`` (the Dask cluster tests);
- the top of ``tests/``: a test named after a top-level module (``test_metrics.py`` for
  ``workbench/metrics.py``) or one of ``TOP_LEVEL`` (tests of the whole project).

Helper modules (``tiny.py``, ``pgtemp.py``, ...) and conftests may live anywhere.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PACKAGE = ROOT / "workbench"

EXTRA_FOLDERS = {"ui", "benchmarks", "distributed"}
TOP_LEVEL = {
    "test_notebooks.py",  # every notebook runs
    "test_import_hygiene.py",  # what `import workbench` loads
    "test_layers.py",  # the import graph against the layer table
    "test_layout.py",  # this file
    "test_private_access.py",  # no module outside io/ uses a Collection's private parts,
    # and tests use only workbench's public names
}


def _misplaced(tests: Path, package: Path) -> list[str]:
    bad = []
    for f in sorted(tests.rglob("test_*.py")):
        rel = f.relative_to(tests)
        folder = rel.parts[:-1]
        if not folder:
            if f.name not in TOP_LEVEL and not (package / f"{f.stem[5:]}.py").is_file():
                bad.append(f"{rel}: no workbench/{f.stem[5:]}.py and not in TOP_LEVEL")
        elif folder[0] not in EXTRA_FOLDERS and \
                not (package.joinpath(*folder) / "__init__.py").is_file():
            bad.append(f"{rel}: no package workbench/{'/'.join(folder)}/")
    return bad


def test_every_test_file_sits_where_its_package_is():
    assert _misplaced(TESTS, PACKAGE) == []


def test_the_rule_catches_a_misplaced_file(tmp_path):
    pkg, tests = tmp_path / "workbench", tmp_path / "tests"
    for d in (pkg / "io", pkg / "io" / "labels", pkg / "sims"):
        d.mkdir(parents=True)
        (d / "__init__.py").write_text("")
    (pkg / "metrics.py").write_text("")
    for f in ("io/labels/test_store.py", "sims/test_lenses.py", "ui/test_page.py",
              "test_metrics.py", "test_notebooks.py",
              "io/test_lenses.py",  # fine by folder (io is a package)
              "core/test_lens_metrics.py", "io/label/test_x.py", "test_stuff.py"):
        (tests / f).parent.mkdir(parents=True, exist_ok=True)
        (tests / f).write_text("")
    (tests / "helpers").mkdir()
    (tests / "helpers" / "tiny.py").write_text("")  # not a test file
    bad = [b.split(":")[0] for b in _misplaced(tests, pkg)]
    assert bad == ["core/test_lens_metrics.py", "io/label/test_x.py", "test_stuff.py"]


def test_browser_screenshots_go_through_the_fixture():
    """Only tests/conftest.py's ``screenshot`` fixture writes screenshots (to tmp_path or
    ``--screenshots DIR``), so a browser test run leaves nothing in the source tree."""
    writers = sorted(str(f.relative_to(TESTS)) for f in TESTS.rglob("*.py")
                     if ".screenshot(" in f.read_text() and f.name != "test_layout.py")
    assert writers == ["conftest.py"]


def test_the_default_run_selects_slow_tests():
    """``slow`` is for ``-m "not slow"`` by hand; ./scripts/test (CI) runs everything."""
    opts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "slow" in " ".join(opts["markers"])
    assert not re.search(r"(^|\s)-m\b", str(opts.get("addopts", "")))
    script = (ROOT / "scripts" / "test").read_text()
    pytest_line = next(ln for ln in script.splitlines() if "-m pytest" in ln)
    assert not re.search(r"\s-m\s", pytest_line.split("-m pytest", 1)[1])
    assert not re.search(r"\s-k\s", pytest_line)


#: module names that several packages share because they hold the SAME concept at different
#: layers (issue 16: no two modules of one name doing different things). A module of
#: ``workbench/cli/`` is named after its command and may share the name of the library module
#: the command drives; a pure re-export (``from X import *``) and the packages' private
#: ``_common`` helpers are allowed too. Anything else needs a line here with its reason.
SAME_CONCEPT = {
    "config": "core/config.py is the Settings base class; learn/config.py the learning settings",
    "identity": "core/identity.py names the annotator; server/identity.py authenticates them",
    "components": "io/components.py computes and stores radio components; "
                  "labeling/components.py reads them for clicks",
}


def _is_reexport(path: Path) -> bool:
    """A module whose body is only its docstring and ``from workbench.... import`` lines."""
    body = ast.parse(path.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body) and all(isinstance(s, ast.ImportFrom) and (s.module or "")
                              .startswith("workbench.") for s in body)


def _name_clashes(package: Path) -> dict[str, list[str]]:
    by_name: dict[str, list[Path]] = {}
    for f in sorted(package.rglob("*.py")):
        if f.name in ("__init__.py", "__main__.py") or f.stem == "_common":
            continue
        by_name.setdefault(f.stem, []).append(f)
    clashes = {}
    for name, files in by_name.items():
        lib = [f for f in files if f.parent.name != "cli" and not _is_reexport(f)]
        if len(lib) > 1 and name not in SAME_CONCEPT:
            clashes[name] = [str(f.relative_to(package)) for f in lib]
    return clashes


def test_no_two_library_modules_share_a_name():
    assert _name_clashes(PACKAGE) == {}


def test_the_name_rule_catches_a_clash(tmp_path):
    pkg = tmp_path / "workbench"
    for d in ("cli", "learn", "labeling", "widgets"):
        (pkg / d).mkdir(parents=True)
    (pkg / "cli" / "export.py").write_text('"""The export command."""\nimport click\n')
    (pkg / "learn" / "export.py").write_text('"""ONNX."""\nimport numpy\n')
    (pkg / "widgets" / "render.py").write_text(
        '"""Re-export."""\nfrom workbench.labeling.render import *  # noqa\n')
    (pkg / "labeling" / "render.py").write_text('"""Drawing."""\nimport numpy\n')
    assert _name_clashes(pkg) == {}
    (pkg / "labeling" / "export.py").write_text('"""Labels."""\nimport csv\n')
    assert _name_clashes(pkg) == {"export": ["labeling/export.py", "learn/export.py"]}
