"""A campaign's show_columns: stored with it, None meaning the blind default rule."""

from __future__ import annotations

import pytest

from workbench.core.errors import StoreError
from workbench.io.labels import LabelStore

CATALOG = ["id", "kind", "ra", "dec", "truth", "flux_jy", "snr", "host_x"]


def test_show_columns_are_stored_and_applied(store_url):
    s = LabelStore(store_url)
    s.create_campaign("blind", "fr-morphology", ["a", "b"])
    s.create_campaign("open", "fr-morphology", ["a", "b"], show_columns=["snr", "flux_jy", "snr"])
    s.close()
    s = LabelStore(store_url)
    blind, opened = s.campaign("blind"), s.campaign("open")
    assert blind.show_columns is None
    assert blind.shown_columns(CATALOG) == ["id", "ra", "dec"]
    assert opened.show_columns == ["snr", "flux_jy"]
    assert opened.shown_columns(CATALOG) == ["id", "flux_jy", "snr"]  # catalog order, id always
    assert s.campaign("open").status()["show_columns"] == ["snr", "flux_jy"]
    assert s.campaign("blind").status()["show_columns"] is None


def test_empty_list_shows_only_the_id_and_bad_names_are_refused(tmp_path):
    s = LabelStore(tmp_path / "l.sqlite")
    assert s.create_campaign("c", "transient", ["a"], show_columns=[]).shown_columns(CATALOG) \
        == ["id"]
    with pytest.raises(StoreError, match="unusable column names"):
        s.create_campaign("d", "transient", ["a"], show_columns=["snr", ""])
