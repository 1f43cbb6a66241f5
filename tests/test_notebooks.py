"""Every notebook in notebooks/ runs top to bottom, and its .ipynb matches its jupytext .py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS), "the tour notebook 01_ is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_ipynb_matches_py(path):
    import jupytext

    py = path.with_suffix(".py")
    assert py.exists(), f"{path.name} has no jupytext source {py.name}"
    a = [c.source.strip() for c in jupytext.read(py).cells if c.cell_type == "code"]
    b = [c.source.strip() for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert a == b, f"{path.name} is out of date: run `jupytext --to ipynb {py.relative_to(ROOT)}`"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_backup = dict(os.environ)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache/workbench/numba"))
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NB_DIR)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
