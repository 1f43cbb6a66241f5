"""Every test here gets its own empty trust list folder ($WORKBENCH_HOME, see
workbench.embed.trust), so no test reads or writes the real user's list."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def workbench_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("workbench-home")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    return home
