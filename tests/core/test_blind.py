"""Blind labeling rule: what an annotator may see beside the images."""

from __future__ import annotations

import pytest

from workbench.core.blind import CAMPAIGN_DEFAULT, is_hidden, shown_columns

# What each simulator writes that an annotator may legitimately see (observables).
OBSERVABLES = {
    "radio": {"id", "kind", "ra", "dec", "pixscale_arcsec", "source_file", "source_hdu",
              "flux_jy", "peak_jy_beam", "snr", "beam_fwhm_arcsec", "rms_jy", "bmaj", "bmin",
              "bpa"},
    "transients": {"id", "kind", "ra", "dec", "pixscale_arcsec", "source_file", "source_hdu",
                   "time_s", "dm", "width_s", "snr", "cand_row", "padded", "decimation"},
    "lenses": {"id", "kind", "ra", "dec", "pixscale_arcsec", "source_file", "source_hdu",
               "psf_fwhm_g_arcsec", "sky_sigma_g", "psf_fwhm_r_arcsec", "sky_sigma_r",
               "psf_fwhm_i_arcsec", "sky_sigma_i", "moffat_beta"},
}


@pytest.fixture(scope="module")
def sim_catalogs(tmp_path_factory):
    from workbench.sims.lenses import simulate_lenses
    from workbench.sims.radio import simulate_radio
    from workbench.sims.transients import simulate_transients

    root = tmp_path_factory.mktemp("blind")
    simulate_radio(root / "radio", n=6, seed=1, size=40, infrared=False)
    simulate_transients(root / "transients", n=4, seed=1)
    simulate_lenses(root / "lenses", n=4, seed=1)
    import workbench

    return {k: list(workbench.open(root / k).catalog.columns) for k in OBSERVABLES}


@pytest.mark.parametrize("kind", sorted(OBSERVABLES))
def test_notebook_rule_hides_every_simulator_truth(sim_catalogs, kind):
    cols = sim_catalogs[kind]
    shown = shown_columns(cols)
    # Every column a simulator writes is either a known observable (shown) or hidden: a
    # new simulator column must be classified here before it can leak the answer.
    assert set(cols) - OBSERVABLES[kind] - {c for c in cols if is_hidden(c)} == set()
    assert set(shown) == set(cols) & OBSERVABLES[kind]
    assert "truth" not in shown and shown[0] == "id"


def test_named_columns_that_give_the_answer_away():
    for c in ("truth", "truth_class", "TRUE_DM", "label", "fr_label", "labels", "prediction",
              "pred_FRII", "prob_lens", "p_frii", "score", "anomaly_knn", "outlier_glosh",
              "cluster", "cluster_prob", "consensus_level", "class", "morph_class",
              "injected_snr", "theta_e_arcsec", "host_ra"):
        assert is_hidden(c), c
    for c in ("id", "ra", "dec", "snr", "flux_jy", "dm", "width_s", "kind", "rms_jy"):
        assert not is_hidden(c), c


def test_explicit_lists_win():
    cols = ["id", "ra", "dec", "snr", "truth", "flux_jy"]
    assert shown_columns(cols, campaign=True) == [c for c in cols if c in CAMPAIGN_DEFAULT]
    assert shown_columns(cols, ["snr"], campaign=True) == ["id", "snr"]
    assert shown_columns(cols, ["truth", "nope"]) == ["id", "truth"]   # a lead may opt in
    assert shown_columns(["id", "snr"], campaign=True) == ["id"]       # no ra/dec: id only
