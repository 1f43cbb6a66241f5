"""Fixtures of the server tests: a folder of Collections with campaigns, and real servers.

``survey`` (session): ``ROOT/radio`` (12 radio items; campaigns ``fr`` and ``other``
(fr-morphology) and ``rgz-pilot`` (rgz)), ``ROOT/projects/radio2`` (another ``fr``),
``ROOT/transients`` (``frb-hunt``) and ``ROOT/lenses`` (``grading``), and
Collections that must never be served: one three folders deep, one in a hidden folder, and
one outside ROOT reached through a symbolic link. The catalog has hidden columns whose
names and values are unmistakable (``truth``: ``SECRET-TRUTH-<i>``, ``sim_angle``), shown
ones (``snr``, ``note``, which holds HTML), and ``ra``/``dec``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "widgets"))  # tiny.py

from _survey import make_collection  # noqa: E402


@pytest.fixture(scope="session")
def survey(tmp_path_factory):
    """``(root, outside)``: the folder a server searches, and a Collection outside it."""
    from workbench.io.labels import open_store

    base = tmp_path_factory.mktemp("survey")
    root = base / "root"
    root.mkdir()
    coll = make_collection(root / "radio")
    store = open_store(coll)
    store.create_campaign("fr", "fr-morphology", coll.ids, retire=3,
                          show_columns=["snr", "note"])
    store.create_campaign("other", "fr-morphology", coll.ids, retire=3)
    store.create_campaign("rgz-pilot", "rgz", coll.ids[:4], retire=2,
                          show_columns=["snr", "note"])
    store.close()
    for where in (root / "projects" / "radio2", root / "a" / "b" / "deep",
                  root / ".hidden" / "radio3", base / "outside"):
        c = make_collection(where, n=3, seed=2)
        st = open_store(c)
        st.create_campaign("fr" if "radio2" in str(where) else f"never-{where.name}",
                           "fr-morphology", c.ids, retire=1)
        st.close()
    (root / "link").symlink_to(base / "outside", target_is_directory=True)
    import tiny  # transient candidates and lens stamps: their pages draw other panels

    for coll, name, scheme in ((tiny.transient_collection(root / "transients", n=3, size=32),
                                "frb-hunt", "transient"),
                               (tiny.lens_collection(root / "lenses", n=3, size=32),
                                "grading", "lens-grade")):
        st = open_store(coll)
        st.create_campaign(name, scheme, coll.ids, retire=1)
        st.close()
    return root, base / "outside"


@pytest.fixture(scope="session")
def invite_server(survey):
    """``(base_url, collection folder)`` of ``workbench campaign serve ROOT/radio --name fr``."""
    from _server import campaign_server

    root, _ = survey
    with campaign_server(root / "radio", "fr", log_dir=root.parent) as base:
        yield base, root / "radio"
