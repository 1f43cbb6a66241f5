"""The `workbench` command: help everywhere, info --json keys, ingest fits, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import numpy as np
import pytest
from astropy.io import fits

from workbench.cli import cli

INFO_KEYS = {"path", "format", "format_version", "description", "n_items", "kinds", "products",
             "columns", "derived", "n_segments", "size_bytes"}


def _walk(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, (*prefix, name))


def run(*args):
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True)


@pytest.mark.parametrize("path", list(_walk(cli)), ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    from click.testing import CliRunner

    res = CliRunner().invoke(cli, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output and len(res.output.splitlines()) > 3


def test_ingest_fits_and_info_json(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        fits.PrimaryHDU(rng.normal(size=(12, 12)).astype(np.float32)).writeto(src / f"s{i}.fits")
    (src / "bad.fits").write_bytes(b"")
    res = run("ingest", "fits", str(src), "-o", str(tmp_path / "c"), "--errors", "skip")
    assert res.returncode == 0, res.stderr
    assert "bad.fits: is empty" in res.stderr and "ingested 3 item(s)" in res.stdout
    info = json.loads(run("info", str(tmp_path / "c"), "--json").stdout)
    assert INFO_KEYS <= set(info)
    assert info["n_items"] == 3 and info["kinds"] == {"radio": 3}
    assert info["products"]["radio"]["shape"] == [1, 12, 12]


def test_errors_are_one_line_and_exit_2(tmp_path):
    res = run("info", str(tmp_path / "missing"))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "no such Collection folder" in res.stderr
    (tmp_path / "empty.fits").write_bytes(b"")
    res = run("ingest", "fits", str(tmp_path / "empty.fits"), "-o", str(tmp_path / "c"))
    assert res.returncode == 2 and "empty.fits: is empty" in res.stderr
    assert not (tmp_path / "c").exists()
