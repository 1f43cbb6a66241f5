"""The transient-format commands (issue 13): simulate -> export fetch-h5 -> ingest candidates
gives the same images back; --query, --overwrite, --errors and one-line errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import workbench
from workbench.cli import main


def _run(args, capsys):
    """(exit code, stdout, stderr) of one command."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("s") / "s11"
    main(["simulate", "transients", "--n", "6", "--seed", "4", "-o", str(out)])
    return out


def test_acceptance_round_trip(sim, tmp_path, capsys):
    h5, back = tmp_path / "s11-h5", tmp_path / "s11-back"
    code, out, _ = _run(["export", "fetch-h5", str(sim), "-o", str(h5)], capsys)
    assert code == 0 and "wrote 6 candidate file(s)" in out
    code, out, _ = _run(["ingest", "candidates", str(h5), "-o", str(back)], capsys)
    assert code == 0 and "ingested 6 candidate(s)" in out
    a, b = workbench.open(sim), workbench.open(back)
    assert sorted(a.ids) == sorted(b.ids)
    for i in a.ids:
        for p in ("dm_time", "freq_time"):
            np.testing.assert_array_equal(a[i].images[p], b[i].images[p])


def test_query_overwrite_and_refusals(sim, tmp_path, capsys):
    h5 = tmp_path / "h5"
    code, out, _ = _run(["export", "fetch-h5", str(sim), "-o", str(h5), "--query",
                         "truth == 'frb'"], capsys)
    n_frb = int((workbench.open(sim).catalog["truth"] == "frb").sum())
    assert code == 0 and len(list(h5.glob("*.h5"))) == n_frb > 0
    code, _, err = _run(["export", "fetch-h5", str(sim), "-o", str(h5)], capsys)
    assert code == 2 and "not empty" in err and len(list(h5.glob("*.h5"))) == n_frb
    code, _, _ = _run(["export", "fetch-h5", str(sim), "-o", str(h5), "--overwrite"], capsys)
    assert code == 0 and len(list(h5.glob("*.h5"))) == 6
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, err = _run(["export", "fetch-h5", str(sim), "-o", str(other), "--overwrite"],
                        capsys)
    assert code == 2 and (other / "keep.txt").read_text() == "mine"


def test_hostile_file_one_line_and_errors_modes(sim, tmp_path, capsys):
    h5 = tmp_path / "h5"
    _run(["export", "fetch-h5", str(sim), "-o", str(h5)], capsys)
    victim = sorted(h5.glob("*.h5"))[0]
    with h5py.File(victim, "a") as f:
        del f.attrs["tcand"]
    code, out, err = _run(["ingest", "candidates", str(h5), "-o", str(tmp_path / "a")], capsys)
    assert code == 0 and "ingested 5 candidate(s)" in out
    assert victim.name in err and "has no attribute 'tcand'" in err
    code, _, err = _run(["ingest", "candidates", str(h5 / "*.h5"), "-o", str(tmp_path / "b"),
                         "--errors", "raise"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert str(victim) in lines[0] and "tcand" in lines[0]
    assert not (tmp_path / "b").exists()


def test_help_documents_the_pairing_rule(capsys):
    code, out, _ = _run(["ingest", "filterbank", "--help"], capsys)
    text = " ".join(out.split())
    assert code == 0 and "same stem" in text and "'file' column" in text


def test_unquoted_candidate_glob_words_go_back_to_the_candidates(tmp_path, capsys):
    from workbench.io.filterbank import write_filterbank

    for k, name in enumerate(("a", "b")):
        data = np.random.default_rng(k).normal(128, 10, (16, 2000)).clip(0, 255)
        write_filterbank(tmp_path / f"{name}.fil", data, tsamp=1e-3, fch1=1500.0, foff=-2.0)
        (tmp_path / f"{name}.cand").write_text("12 1000 1.0 1 10 5.0 20 990 1010\n")
    # what the shell makes of: ingest filterbank *.fil --candidates *.cand
    code, out, err = _run(["ingest", "filterbank", str(tmp_path / "a.fil"),
                           str(tmp_path / "b.fil"), "--candidates", str(tmp_path / "a.cand"),
                           str(tmp_path / "b.cand"), "-o", str(tmp_path / "o"), "--size", "16"],
                          capsys)
    assert code == 0, err
    assert sorted(workbench.open(tmp_path / "o").ids) == ["a-000000", "b-000000"]
