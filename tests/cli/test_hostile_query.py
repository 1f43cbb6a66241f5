"""Hostile ``--query`` strings on the command line: one ``error:`` line, exit code 2, nothing
run, no campaign and no label store made."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.cli import main


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("hostile") / "sim"
    simulate_radio(path, n=12, seed=1, size=32, infrared=False)
    return path


def _run(capsys, *args):
    """Run ``workbench ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_hostile_query_shell_command_does_not_run(survey, tmp_path):
    """The issue's acceptance case, through the real command in a fresh interpreter."""
    pwned = tmp_path / "pwned"
    res = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "campaign", "create", str(survey),
         "--name", "c1", "--scheme", "fr-morphology",
         "--query", f"snr > 0 and @os.system('touch {pwned}') == 0"],
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "'@'" in lines[0] and str(survey) in lines[0]
    assert "Traceback" not in res.stderr
    assert not pwned.exists()
    assert not (survey / "labels.sqlite").exists()  # refused before the store was opened


@pytest.mark.parametrize("query,named", [
    ("@os.getpid()", "'@'"),
    ("__import__('os').system('touch {p}') == 0", "__import__()"),
    ("open('{p}', 'w').write('x') > 0", "open()"),
    ("snr.to_csv('{p}') == 0", ".to_csv()"),
    ("snr.__class__.__init__.__globals__['os'].system('touch {p}')", "subscript"),
    ("(lambda: open('{p}', 'w'))() == 0", "call"),
    ("snr > 0 and truth.str.contains('a', regex=True)", "regex="),
    ("no_such_column > 1", "unknown column 'no_such_column'"),
    ("truth > 5", "cannot compare"),
    ("snr.median()", "not True/False per row"),
    ("'a' * 10**9 == truth", "arithmetic on a string"),
    ("snr >", "not valid syntax"),
])
def test_hostile_query_campaign_is_one_line_exit_2(survey, tmp_path, capsys, query, named):
    touched = tmp_path / "touched"
    code, out, err = _run(capsys, "campaign", "create", survey, "--name", "c2",
                          "--scheme", "fr-morphology", "--query", query.format(p=touched))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0]
    assert not touched.exists()
    assert not (survey / "labels.sqlite").exists()


def test_hostile_query_good_query_still_makes_the_campaign(tmp_path, capsys):
    from workbench.io.collection import open as open_collection
    from workbench.io.labels import open_store
    from workbench.sims.radio import simulate_radio

    path = tmp_path / "sim"
    simulate_radio(path, n=12, seed=1, size=32, infrared=False)
    cat = open_collection(path).catalog
    want = cat.loc[(cat.snr > cat.snr.median()) | cat.truth.isin(["FRI", "FRII"]), "id"]
    code, out, err = _run(capsys, "campaign", "create", path, "--name", "ok",
                          "--scheme", "fr-morphology",
                          "--query", "snr > snr.median() or truth in ['FRI', 'FRII']")
    assert code == 0, err
    assert f"{len(want)} items" in out
    store = open_store(open_collection(path))
    assert sorted(store.campaign("ok").item_ids) == sorted(want)
