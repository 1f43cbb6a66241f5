"""Fixtures of the io tests: a real PostgreSQL server for the label-store tests.

``pg_server`` (session) runs initdb/pg_ctl in a temporary folder on a free loopback port
(see :mod:`workbench.io.labels.pgtemp`); ``store_url`` is parametrised over SQLite and
PostgreSQL so the same store tests run on both backends.
"""

from __future__ import annotations

import pytest

from workbench.io.labels.pgtemp import TempPostgres, find_pg_bin


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the whole session (skipped if the binaries are absent)."""
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
