"""Shared fixtures: paths to the real data in ../shared/data (skipped when absent), and a
real PostgreSQL server for the label-store tests.

``pg_server`` (session) runs initdb/pg_ctl in a temporary folder on a free loopback port
(see ``tests/pgtemp.py``); ``store_url`` is parametrised over SQLite and
PostgreSQL so the same store tests run on both backends.

``screenshot`` saves a browser test's page as a PNG in the test's tmp_path (discarded
with it), or in ``--screenshots DIR`` when given: never inside the source tree by default.
"""

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


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the whole session (skipped if the binaries are absent)."""
    from pgtemp import TempPostgres, find_pg_bin  # tests/pgtemp.py

    if find_pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with TempPostgres(fsync=False) as pg:
        yield pg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A fresh, empty label store location: a SQLite path or a PostgreSQL database URL."""
    if request.param == "sqlite":
        return str(tmp_path / "labels.sqlite")
    return request.getfixturevalue("pg_server").create_database()


def pytest_addoption(parser):
    parser.addoption("--screenshots", metavar="DIR", default=None,
                     help="keep the browser tests' screenshots in DIR (default: each "
                          "test's temporary folder)")


@pytest.fixture
def screenshot(request, tmp_path):
    """``screenshot(page, name, full_page=True)`` -> the path of ``name.png`` written from a
    Playwright page into ``--screenshots DIR``, else ``tmp_path/screenshots``."""
    opt = request.config.getoption("--screenshots")
    folder = Path(opt).expanduser().resolve() if opt else tmp_path / "screenshots"

    def take(page, name: str, *, full_page: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
