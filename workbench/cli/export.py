"""``workbench export``: write a Collection in the formats other tools read.

Each format's command lives in the module of its kind of data (transients, radio, ...) and
is registered under this group in :mod:`workbench.cli`.
"""

from __future__ import annotations

import click

__all__ = ["export"]


@click.group()
def export():
    """Write a Collection (or part of it) for another tool: FETCH, Zooniverse, ..."""
