"""The committed build of the JupyterLab extension: up to date, complete, and installed.

``extensions/campaigns/`` is built into ``workbench/labextension/`` and the build is
committed (installing the workbench needs no Node). These tests fail when the sources
changed without a rebuild (the recorded source hash differs), when the build is stale or
half-made, when pyproject.toml would not install every built file into
``share/jupyter/labextensions/``, and when the installed copy is not this build.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "extensions" / "campaigns"
BUILT = ROOT / "workbench" / "labextension"


def _hashing():
    spec = importlib.util.spec_from_file_location("_ext_source_hash",
                                                  ROOT / "extensions" / "source_hash.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _built_files() -> set[str]:
    return {p.relative_to(BUILT).as_posix() for p in BUILT.rglob("*")
            if p.is_file() and p.name != ".source-hash"}


def test_the_committed_build_matches_the_sources():
    h = _hashing()
    assert h.recorded_hash() == h.source_hash(), (
        "extensions/campaigns changed but workbench/labextension was not rebuilt: "
        "cd extensions/campaigns && jlpm install && jlpm build:prod (or ./scripts/setup), "
        "then commit workbench/labextension")
    assert h.main(["--check"]) == 0


def test_the_build_is_complete_and_from_these_sources():
    src = json.loads((SRC / "package.json").read_text())
    pkg = json.loads((BUILT / "package.json").read_text())
    assert (pkg["name"], pkg["version"]) == (src["name"], src["version"])
    assert pkg["dependencies"] == src["dependencies"]
    load = pkg["jupyterlab"]["_build"]["load"]
    assert (BUILT / load).is_file()
    # one entry point: a build over an old one would leave two
    assert [p.name for p in (BUILT / "static").glob("remoteEntry.*.js")] == [Path(load).name]
    assert json.loads((BUILT / "install.json").read_text()) == \
        json.loads((SRC / "install.json").read_text())
    assert (BUILT / "static" / "style.js").is_file()


def test_pyproject_installs_every_built_file_as_a_labextension():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    name = json.loads((BUILT / "package.json").read_text())["name"]
    dest_root = f"share/jupyter/labextensions/{name}"
    installed = set()
    for dest, patterns in data["tool"]["setuptools"]["data-files"].items():
        for pattern in patterns:
            for f in glob.glob(pattern, root_dir=ROOT):
                if dest == dest_root or dest.startswith(dest_root + "/"):
                    sub = dest[len(dest_root) + 1:]
                    installed.add(f"{sub}/{Path(f).name}".lstrip("/"))
    assert installed == _built_files()


def test_the_source_hash_follows_sources_not_build_products(tmp_path):
    h = _hashing()
    src = tmp_path / "campaigns"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(*h.BUILT_DIRS, *h.BUILT_FILES))
    first = h.source_hash(src)
    assert first == h.source_hash(SRC)
    # what jlpm and tsc write there does not count
    for junk in ("node_modules/x/index.js", "lib/index.js", ".yarn/install-state.gz",
                 "tsconfig.tsbuildinfo"):
        (src / junk).parent.mkdir(parents=True, exist_ok=True)
        (src / junk).write_text("built")
    assert h.source_hash(src) == first
    # a Windows checkout (CRLF) hashes the same
    index = src / "src" / "index.ts"
    text = index.read_bytes()
    index.write_bytes(text.replace(b"\n", b"\r\n"))
    assert h.source_hash(src) == first
    # any change to a source, a new source file, or a renamed one does count
    index.write_bytes(text + b"// changed\n")
    assert h.source_hash(src) != first
    index.write_bytes(text)
    (src / "style" / "extra.css").write_text("")
    assert h.source_hash(src) != first
    (src / "style" / "extra.css").rename(src / "style" / "other.css")
    second = h.source_hash(src)
    (src / "style" / "other.css").unlink()
    assert second != first and h.source_hash(src) == first
    # nothing recorded: --check fails and says how to rebuild
    assert h.recorded_hash(tmp_path / "nowhere") is None
    with pytest.raises(FileNotFoundError, match="no built extension"):
        h.write_hash(src, tmp_path / "nowhere")


def test_the_installed_extension_is_this_build():
    """What ``pip install`` (editable too) put under share/jupyter/labextensions, found as
    JupyterLab finds it."""
    from jupyter_core.paths import jupyter_path
    from jupyterlab_server.config import get_federated_extensions

    name = json.loads((BUILT / "package.json").read_text())["name"]
    found = get_federated_extensions(jupyter_path("labextensions")).get(name)
    assert found is not None, f"{name} is not installed: pip install -e . (./scripts/setup)"
    where = Path(found["ext_path"])
    copies = {p.relative_to(where).as_posix(): p.read_bytes() for p in where.rglob("*")
              if p.is_file() and p.name != ".source-hash"}
    assert copies == {f: (BUILT / f).read_bytes() for f in _built_files()}, (
        f"{where} is not the committed build: pip install -e . again")
    assert found["install"]["packageName"] == "workbench"


@pytest.mark.slow
def test_jupyter_labextension_list_shows_it_enabled_and_ok():
    name = json.loads((BUILT / "package.json").read_text())["name"]
    out = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                         capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    line = next((s for s in text.splitlines() if s.strip().startswith(name + " ")), "")
    assert re.search(r"\benabled\b.*\bOK\b", line), text
