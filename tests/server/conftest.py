"""Fixtures of the server tests: a folder of Collections with campaigns, and real servers.

``survey`` (session): ``ROOT/radio`` (12 radio items; campaigns ``fr`` and ``other``
(fr-morphology) and ``rgz-pilot`` (rgz)), ``ROOT/projects/radio2`` (another ``fr``), and
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

EVIL = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"
N_ITEMS = 12


def hidden_columns(n: int) -> dict:
    return {"truth": [f"SECRET-TRUTH-{i}" for i in range(n)],
            "sim_angle": [1000.25 + i for i in range(n)],
            "snr": [float(5 + i) for i in range(n)],
            "note": [EVIL if i % 2 == 0 else f"plain note {i}" for i in range(n)]}


def make_collection(path: Path, n: int = N_ITEMS, seed: int = 1):
    import tiny

    path.parent.mkdir(parents=True, exist_ok=True)
    return tiny.radio_collection(path, n=n, size=48, seed=seed, extra=hidden_columns(n))


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
    return root, base / "outside"


@pytest.fixture(scope="session")
def invite_server(survey):
    """``(base_url, collection folder)`` of ``workbench campaign serve ROOT/radio --name fr``."""
    from _server import campaign_server

    root, _ = survey
    with campaign_server(root / "radio", "fr", log_dir=root.parent) as base:
        yield base, root / "radio"


def invite(collection, annotator: str, campaign: str = "fr") -> str:
    from workbench.io.labels import open_store

    st = open_store(collection)
    try:
        return st.invite(campaign, annotator)
    finally:
        st.close()
