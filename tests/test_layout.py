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
    "test_private_access.py",  # no module outside io/ uses a Collection's private parts
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
