"""``workbench simulate``: realistic sample surveys with ground truth."""

from __future__ import annotations

import click

__all__ = ["simulate"]


@click.group()
def simulate():
    """Make a simulated survey (with ground truth) as a Collection."""
