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
