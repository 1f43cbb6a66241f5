"""workbench.labeling is UI-free: importing it (every module) loads no widget library,
no traitlets, no torch, no plotting library and nothing of workbench.widgets."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import workbench.labeling

BANNED = ("torch", "anywidget", "ipywidgets", "traitlets", "matplotlib", "bokeh", "holoviews",
          "workbench.widgets", "workbench.learn", "workbench.server")


def _loaded(modules) -> list[str]:
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"print(json.dumps(sorted(b for b in {BANNED!r} if b in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_labeling_imports_no_ui_library():
    mods = ["workbench.labeling"] + [m.name for m in pkgutil.walk_packages(
        workbench.labeling.__path__, prefix="workbench.labeling.")]
    assert len(mods) >= 6
    assert _loaded(mods) == []


def test_the_probe_can_fail():
    assert {"anywidget", "traitlets", "workbench.widgets"} <= set(
        _loaded(["workbench.widgets"]))
