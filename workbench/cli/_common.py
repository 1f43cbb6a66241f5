"""Helpers shared by the CLI commands."""

from __future__ import annotations

import click

__all__ = ["report_skips", "parse_shape"]


def report_skips(skipped, limit: int = 50) -> None:
    """Print every skipped input with its reason (to stderr)."""
    if not skipped:
        return
    click.echo(f"skipped {len(skipped)} input(s):", err=True)
    for inp, reason in skipped[:limit]:
        click.echo(f"  {inp}: {reason}", err=True)
    if len(skipped) > limit:
        click.echo(f"  ... and {len(skipped) - limit} more", err=True)


def parse_shape(text: str | None):
    """'150' -> (150, 150); '120x150' -> (120, 150) as (ny, nx)."""
    if text is None:
        return None
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not N or NYxNX") from exc
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise click.BadParameter(f"{text!r} is not N or NYxNX")
    return tuple(parts)
