"""`import workbench` and the core/io/imaging/embed layers load neither torch nor widget libs;
the top-level API (`from workbench import Labeler, ...`) is lazy (PEP 562) and complete."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import workbench

HEAVY = ("torch", "ipywidgets", "anywidget", "bokeh", "holoviews", "matplotlib", "panel",
         "datashader", "traitlets")
#: what a bare ``import workbench`` must not load either (the lower layers may use some of these)
HEAVY_FOR_TOP = HEAVY + ("sqlalchemy", "umap", "hdbscan", "pynndescent", "sklearn", "numba",
                         "dask", "distributed", "zarr", "astropy", "scipy", "click", "tornado",
                         "jupyter_server", "PIL")
#: layers that load neither torch nor a widget/plot library (labeling: the UI-free logic)
LAYERS = ("core", "io", "imaging", "embed", "sims", "labeling")
#: the names the top-level API promises (README), with the module each comes from
TOP_LEVEL = {"Collection": "workbench.io.collection", "Item": "workbench.io.collection",
             "ProductSpec": "workbench.io.collection", "open": "workbench.io.collection",
             "create": "workbench.io.collection", "Gallery": "workbench.widgets.gallery",
             "Labeler": "workbench.widgets.labeler", "Explorer": "workbench.widgets.explorer",
             "Dashboard": "workbench.widgets.dashboard", "view_item": "workbench.widgets.views",
             "open_store": "workbench.io.labels.store", "LabelStore": "workbench.io.labels.store",
             "Session": "workbench.labeling.session", "Selection": "workbench.core.selection"}


def _modules_of(layer: str) -> list[str]:
    pkg = __import__(f"workbench.{layer}", fromlist=["_"])
    return [f"workbench.{layer}"] + [m.name for m in pkgutil.walk_packages(
        pkg.__path__, prefix=f"workbench.{layer}.")]


def _loaded_after(modules: list[str], heavy=HEAVY, then: str = "") -> list[str]:
    """Heavy libraries in ``sys.modules`` of a fresh interpreter after importing ``modules``
    (and running the statement ``then``)."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"{then}\n"
        f"print(json.dumps(sorted(h for h in {tuple(heavy)!r} if h in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_workbench_is_light():
    assert _loaded_after(["workbench", "workbench.errors", "workbench.metrics"
                          if _exists("workbench.metrics") else "workbench"]) == []


def test_bare_import_workbench_loads_no_heavy_library():
    """Not even SQLAlchemy, Dask, UMAP or astropy: the top-level names load on first use."""
    assert _loaded_after(["workbench"], HEAVY_FOR_TOP) == []


def test_top_level_api_is_lazy_and_complete():
    """``from workbench import Labeler, Explorer, Gallery, open_store`` works in a fresh
    interpreter, gives the very objects of their modules, and only then loads the widgets."""
    then = ("from workbench import Labeler, Explorer, Gallery, open_store\n"
            "import workbench.widgets.labeler as L, workbench.io.labels.store as S\n"
            "assert Labeler is L.Labeler and open_store is S.open_store")
    loaded = _loaded_after(["workbench"], HEAVY_FOR_TOP, then)
    assert {"anywidget", "sqlalchemy"} <= set(loaded)   # the probe sees the lazy imports


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_every_top_level_name_is_its_modules_object(name):
    import importlib

    assert name in workbench.__all__ and name in dir(workbench)
    assert getattr(workbench, name) is getattr(importlib.import_module(TOP_LEVEL[name]), name)


def test_top_level_submodules_and_unknown_names():
    """``workbench.plots`` and ``workbench.errors`` work after a bare ``import workbench``."""
    then = ("assert workbench.plots.__name__ == 'workbench.plots'\n"
            "assert issubclass(workbench.errors.InputError, workbench.errors.WorkbenchError)")
    _loaded_after(["workbench"], then="import workbench\n" + then)  # fails if an assert does
    assert {"plots", "errors"} <= set(dir(workbench))
    with pytest.raises(AttributeError, match="no attribute 'Labeller'"):
        workbench.Labeller  # noqa: B018
    with pytest.raises(ImportError):
        exec("from workbench import Labeller", {})


def test_version_matches_pyproject():
    import tomllib
    from pathlib import Path

    from workbench.core.provenance import made_by

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert workbench.__version__ == pyproject["project"]["version"]
    assert made_by("x")["version"] == workbench.__version__


def _exists(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.mark.parametrize("layer", LAYERS)
def test_lower_layers_are_light(layer):
    if not _exists(f"workbench.{layer}"):
        pytest.skip(f"workbench.{layer} does not exist yet")
    mods = _modules_of(layer)
    assert _loaded_after(mods) == [], f"a module of workbench.{layer} imports a heavy library"


def test_the_check_can_fail():
    """The probe sees torch when a module does import it (so the tests above mean something)."""
    assert "torch" in json.dumps(_loaded_after(["torch"]))
    assert workbench.__version__
