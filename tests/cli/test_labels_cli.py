"""workbench schemes / campaign / labels export / components."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.core.errors import SchemeError, StoreError


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("cli") / "sim"
    simulate_radio(path, n=12, seed=2, size=48, infrared=False)
    return path


def run(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    return res


def test_schemes_lists_the_shipped_schemes():
    out = run("schemes")
    assert out.exit_code == 0
    for name in ("rgz", "caesar-mrcnn", "fr-morphology", "transient", "lens-grade"):
        assert f"{name}" in out.output
    data = json.loads(run("schemes", "--json").output)
    by = {d["name"]: d for d in data}
    assert by["fr-morphology"]["version"] == 1
    assert [a["value"] for a in by["lens-grade"]["questions"][0]["answers"]] == \
        ["A", "B", "C", "not_a_lens"]


def test_campaign_create_status_export(survey, tmp_path):
    res = run("components", survey)
    assert res.exit_code == 0, res.output
    res = run("campaign", "create", survey, "--name", "fr", "--scheme", "fr-morphology",
              "--retire", "2", "--query", "truth in ['FRI', 'FRII']")
    assert res.exit_code == 0, res.output
    st = json.loads(run("campaign", "status", survey, "--name", "fr", "--json").output)
    import workbench

    cat = workbench.open(survey).catalog
    assert st["n_items"] == int(cat["truth"].isin(["FRI", "FRII"]).sum())
    assert st["retire"] == 2 and st["n_annotations"] == 0
    res = run("campaign", "create", survey, "--name", "r", "--scheme", "rgz", "--retire", "4",
              "--early-retire", "1:2")
    assert res.exit_code == 0, res.output
    from workbench.io.labels import open_store

    items = open_store(survey).campaign("r").items().set_index("item_id")
    ncomp = cat.set_index("id")["n_components"]
    for iid, r in items.iterrows():
        assert r["retire_at"] == (2 if ncomp[iid] <= 1 else 4)
    res = run("labels", "export", survey, "--campaign", "fr", "-o", tmp_path / "l.parquet")
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(tmp_path / "l.parquet")) == 0
    text = run("campaign", "status", survey, "--name", "fr").output
    assert "retire 2" in text


def test_errors_are_workbench_errors(survey):
    res = run("campaign", "create", survey, "--name", "x", "--scheme", "nope")
    assert isinstance(res.exception, SchemeError) and "known schemes" in str(res.exception)
    res = run("campaign", "status", survey, "--name", "missing")
    assert isinstance(res.exception, StoreError)


def main(capsys, *args):
    """Run the CLI entry point; (exit code, stdout, stderr)."""
    from workbench.cli import main as entry

    try:
        entry([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_campaign_show_columns(survey, capsys):
    from workbench.io.labels import open_store

    code, out, _ = main(capsys, "campaign", "create", survey, "--name", "shown",
                        "--scheme", "fr-morphology", "--show", "flux_jy, snr")
    assert code == 0, out
    assert "annotators see: id, flux_jy, snr" in out
    assert open_store(survey).campaign("shown").show_columns == ["flux_jy", "snr"]
    code, out, _ = main(capsys, "campaign", "create", survey, "--name", "blind",
                        "--scheme", "fr-morphology")
    assert code == 0 and "annotators see: id, ra, dec" in out
    assert open_store(survey).campaign("blind").show_columns is None
    code, out, err = main(capsys, "campaign", "create", survey, "--name", "bad",
                          "--scheme", "fr-morphology", "--show", "snr,nope")
    assert code == 2 and "nope" in err and "does not have" in err and len(err.splitlines()) == 1
    assert "bad" not in [c.name for c in open_store(survey).campaigns()]
    code, _, err = main(capsys, "campaign", "create", survey, "--name", "peek",
                        "--scheme", "fr-morphology", "--show", "truth")
    assert code == 0 and "'truth'" in err and "give the answer away" in err


def test_campaign_gold_from_a_column(survey, capsys):
    import workbench
    from workbench.io.labels import open_store

    cat = workbench.open(survey).catalog.set_index("id")
    code, out, err = main(capsys, "campaign", "create", survey, "--name", "gold",
                          "--scheme", "fr-morphology", "--gold-column", "truth",
                          "--gold-rate", "0.2", "--seed", "4")
    assert code == 0, err
    camp = open_store(survey).campaign("gold")
    gold = camp.gold
    n_known = int(cat["truth"].isin(["FRI", "FRII", "hybrid"]).sum())
    assert len(gold) == min(n_known, 3)  # ceil(0.2 / 0.8 * 12) = 3
    assert all(cat.loc[i, "truth"] == v for i, v in gold.items())
    assert camp.gold_rate == 0.2 and f"gold: {len(gold)} items" in out
    st = json.loads(main(capsys, "campaign", "status", survey, "--name", "gold", "--json")[1])
    assert st["n_gold"] == len(gold) and st["n_items"] == 12 - len(gold)
    for args, msg in [(("--gold-column", "nope"), "not a catalog column"),
                      (("--gold-column", "snr"), "no value of column 'snr'"),
                      (("--gold-column", "truth", "--gold-rate", "1.5"), "between 0 and 1"),
                      (("--gold-rate", "0.1"), "needs --gold-column")]:
        code, _, err = main(capsys, "campaign", "create", survey, "--name", "g2",
                            "--scheme", "fr-morphology", *args)
        assert code == 2 and msg in err and len(err.splitlines()) == 1, err


def test_campaign_invite_and_revoke(survey, capsys):
    from urllib.parse import parse_qs, urlsplit

    from workbench.io.labels import open_store

    assert main(capsys, "campaign", "create", survey, "--name", "inv", "--scheme",
                "transient")[0] == 0
    code, out, _ = main(capsys, "campaign", "invite", survey, "--name", "inv",
                        "--annotator", "alice")
    assert code == 0
    url = urlsplit(out.strip())
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:8891",
                                                  "/workbench/campaigns/inv/label")
    token = parse_qs(url.query)["token"][0]
    store = open_store(survey)
    assert store.annotator_for_token(token) == ("alice", "inv")
    code, out, _ = main(capsys, "campaign", "invite", survey, "--name", "inv",
                        "--annotator", "bob", "--base-url", "https://label.example.org/")
    assert out.startswith("https://label.example.org/workbench/campaigns/inv/label?token=")
    code, out, _ = main(capsys, "campaign", "invite", survey, "--name", "inv",
                        "--annotator", "alice", "--revoke")
    assert code == 0 and "revoked" in out and token not in out
    assert store.annotator_for_token(token) is None
    code, _, err = main(capsys, "campaign", "invite", survey, "--name", "inv",
                        "--annotator", "alice", "--revoke")
    assert code == 2 and "no valid invite" in err and len(err.splitlines()) == 1
    for args, msg in [(("--name", "nope", "--annotator", "al"), "no campaign named 'nope'"),
                      (("--name", "nope", "--annotator", "al", "--revoke"),
                       "no campaign named 'nope'"),
                      (("--name", "inv", "--annotator", "al", "--base-url", "ftp://x"),
                       "not an http(s)")]:
        code, out, err = main(capsys, "campaign", "invite", survey, *args)
        assert code == 2 and msg in err and len(err.splitlines()) == 1 and not out, err


def test_campaign_status_per_annotator_and_day(survey, capsys):
    from workbench.io.labels import open_store

    assert main(capsys, "campaign", "create", survey, "--name", "st", "--scheme",
                "transient", "--retire", "1")[0] == 0
    camp = open_store(survey).campaign("st")
    for who, n in (("ada", 3), ("bo", 2)):
        for _ in range(n):
            item = camp.next_item(who)
            camp.annotate(item, {"class": "frb"}, annotator=who, started=0, ended=4)
    st = json.loads(main(capsys, "campaign", "status", survey, "--name", "st", "--json")[1])
    assert {w: a["n_annotations"] for w, a in st["per_annotator"].items()} == {"ada": 3, "bo": 2}
    assert st["per_annotator"]["ada"]["median_seconds"] == 4.0
    assert sum(d["annotations"] for d in st["per_day"]) == 5
    assert sum(d["retirements"] for d in st["per_day"]) == 5 == st["n_retired"]
    code, out, _ = main(capsys, "campaign", "status", survey, "--name", "st")
    assert code == 0 and "ada: 3, median 4.0 s" in out
