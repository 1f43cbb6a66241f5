"""Hostile and careless inputs at the command line: unknown store URLs, exports that fail,
and errors that must stay one line with exit code 2 (bugs: one line, exit code 1)."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys

import pandas as pd
import pytest

from workbench.core.errors import OutputError, StoreError


def _cli(*args, cwd=None, env=None):
    """Run ``workbench ARGS`` in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def _one_line_error(res, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("hostile-cli") / "sim"
    simulate_radio(path, n=8, seed=3, size=40, infrared=False)
    return path


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("url", ["foo://bar", "http://example.org/db", "mysql://u@h/db",
                                 "sqlite+evil://x"])
def test_hostile_unknown_store_scheme_is_one_line_and_makes_no_store(survey, url):
    before = sorted(p.name for p in survey.iterdir())
    res = _cli("campaign", "create", survey, "--name", "c", "--scheme", "fr-morphology",
               "--store", url)
    line = _one_line_error(res)
    assert any(w in line for w in ("unsupported label store URL scheme", "not a database URL",
                                   "cannot open the label store"))
    assert sorted(p.name for p in survey.iterdir()) == before
    assert not (survey / "labels.sqlite").exists()


def test_hostile_store_url_refused_in_python_before_anything_is_made(tmp_path):
    from workbench.io.labels import open_store

    with pytest.raises(StoreError, match="unsupported label store URL scheme 'foo'"):
        open_store(tmp_path, url="foo://bar")
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("://nothing")
    assert list(tmp_path.iterdir()) == []


def _campaign_with_labels(survey, store):
    from workbench.io.labels import open_store

    st = open_store(store)
    ids = list(pd.read_parquet(next(survey.glob("catalog-*.parquet")))["id"].astype(str))
    st.create_campaign("fr", "fr-morphology", ids, retire=1)
    for i in ids[:4]:
        st.annotate(i, {"morphology": "FRI", "confidence": "confident"}, annotator="ann", campaign="fr")
    st.close()


def test_hostile_failed_export_leaves_the_old_file(survey, tmp_path, monkeypatch):
    from workbench.io.labels import open_store
    from workbench.labeling.export import export_labels

    store = tmp_path / "labels.sqlite"
    _campaign_with_labels(survey, store)
    out = tmp_path / "labels.csv"
    out.write_text("precious,old,export\n1,2,3\n")
    before = _sha(out)

    real = pd.DataFrame.to_csv

    def disk_full(self, path, *a, **k):  # writes half, then the disk is full
        with open(path, "w") as fh:
            fh.write("item_id,la")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    with pytest.raises(OutputError, match="No space left") as ei:
        export_labels(open_store(store), "fr", out)
    assert str(out) in str(ei.value)
    assert _sha(out) == before                       # the old export is intact
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())  # no leftovers
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    export_labels(open_store(store), "fr", out)      # and a later export replaces it
    assert _sha(out) != before
    assert len(pd.read_csv(out)) == 4


@pytest.mark.parametrize("target", ["missing-dir/out.csv", "adir", "out.xyz"])
def test_hostile_export_to_a_bad_path_is_one_line(survey, tmp_path, target):
    store = tmp_path / "labels.sqlite"
    _campaign_with_labels(survey, store)
    (tmp_path / "adir").mkdir()
    res = _cli("labels", "export", survey, "--campaign", "fr", "-o", tmp_path / target,
               "--store", store)
    line = _one_line_error(res)
    assert str(tmp_path / target) in line
    assert (tmp_path / "adir").is_dir() and list((tmp_path / "adir").iterdir()) == []


def test_hostile_unexpected_exception_is_one_line_exit_1(tmp_path):
    # A command that crashes on a bug prints one line (exit 1) unless WORKBENCH_DEBUG is set.
    code = ("import sys, click\n"
            "import workbench.cli as c\n"
            "@click.command('boom')\n"
            "def boom():\n"
            "    raise ZeroDivisionError('bug\\nin two lines')\n"
            "c.cli.add_command(boom)\n"
            "c.main(['boom'])\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = _one_line_error(res, code=1)
    assert line.startswith("internal error: ZeroDivisionError: bug in two lines")
    env = {**os.environ, "WORKBENCH_DEBUG": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 1 and "Traceback" in res.stderr


def test_hostile_unknown_label_scheme_makes_no_store(survey):
    before = sorted(p.name for p in survey.iterdir())
    res = _cli("campaign", "create", survey, "--name", "c", "--scheme", "no-such-scheme")
    assert "no label scheme named 'no-such-scheme'" in _one_line_error(res)
    assert sorted(p.name for p in survey.iterdir()) == before
