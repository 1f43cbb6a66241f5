"""`import workbench` and the core/io/imaging/embed layers load neither torch nor widget libs."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import workbench

HEAVY = ("torch", "ipywidgets", "anywidget", "bokeh", "holoviews", "matplotlib", "panel",
         "datashader", "traitlets")
LAYERS = ("core", "io", "imaging", "embed", "sims")


def _modules_of(layer: str) -> list[str]:
    pkg = __import__(f"workbench.{layer}", fromlist=["_"])
    return [f"workbench.{layer}"] + [m.name for m in pkgutil.walk_packages(
        pkg.__path__, prefix=f"workbench.{layer}.")]


def _loaded_after(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(h for h in {HEAVY!r} if h in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_workbench_is_light():
    assert _loaded_after(["workbench", "workbench.errors", "workbench.metrics"
                          if _exists("workbench.metrics") else "workbench"]) == []


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
