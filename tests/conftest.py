"""Shared fixtures: paths to the real data in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


def _shared(sub: str) -> Path:
    p = SHARED_DATA / sub
    if not p.exists():
        pytest.skip(f"real data {p} is absent (it lives in ../shared/data beside the project)")
    return p


@pytest.fixture(scope="session")
def mirabest_dir() -> Path:
    """../shared/data/mirabest: 1255 FIRST FITS images and catalog.csv."""
    return _shared("mirabest")


@pytest.fixture(scope="session")
def filterbank_dir() -> Path:
    """../shared/data/filterbank: Parkes Crab filterbanks (1/2/4/8 bit) and tutorial.fil."""
    return _shared("filterbank")
