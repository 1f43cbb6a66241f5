"""Test data of the server tests: radio Collections with hidden and shown catalog columns,
and invites. (A module of its own: helpers imported from a conftest clash with other
test folders' conftest modules.)"""

from __future__ import annotations

from pathlib import Path

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


def invite(collection, annotator: str, campaign: str = "fr") -> str:
    from workbench.io.labels import open_store

    st = open_store(collection)
    try:
        return st.invite(campaign, annotator)
    finally:
        st.close()
