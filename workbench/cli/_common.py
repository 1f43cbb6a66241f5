"""Helpers shared by the CLI commands."""

from __future__ import annotations

import click

__all__ = ["report_skips", "parse_shape", "print_report", "dask_options", "dask_client",
           "open_collection", "echo_epoch", "FEATURES_HELP", "store_option", "open_with_store"]

#: Help of ``--features`` (``train``, ``al simulate``, ``al round``).
FEATURES_HELP = ("Features of the head model: auto (stored SSL embeddings "
                 "`embedding-*` if any, else pixels), pixels (16x16, PCA for al simulate), "
                 "embedding (the newest stored), embedding-<hash>, or 'embedding:<array>' / "
                 "'pixels:<product>:<size>'.")

#: ``--store URL`` of the label-store commands (``campaign``, ``labels``).
store_option = click.option("--store", "store_url", default=None, metavar="URL",
                            help="Label store URL or file (default: COLLECTION/labels.sqlite).")


def open_collection(path, mode: str = "r"):
    """The Collection at ``path`` (``mode`` ``"r"`` or ``"r+"``), imported when called."""
    from workbench.io.collection import open as open_

    return open_(path, mode)


def open_with_store(collection, store_url):
    """``(Collection, label store)``: the store at ``store_url`` or the Collection's own."""
    from workbench.io.labels import open_store

    coll = open_collection(collection)
    return coll, open_store(coll, url=store_url)


def echo_epoch(rec: dict) -> None:
    """One line per training epoch (to stderr)."""
    click.echo(f"epoch {rec['epoch']}/{rec['epochs']}  loss {rec['loss']:.4f}  "
               f"train accuracy {rec['accuracy']:.3f}  ({rec['seconds']:.1f} s)", err=True)


def report_skips(skipped, limit: int = 50) -> None:
    """Print every skipped input with its reason (to stderr)."""
    if not skipped:
        return
    click.echo(f"skipped {len(skipped)} input(s):", err=True)
    for inp, reason in skipped[:limit]:
        click.echo(f"  {inp}: {reason}", err=True)
    if len(skipped) > limit:
        click.echo(f"  ... and {len(skipped) - limit} more", err=True)


def print_report(rep, as_json: bool, summary: str, *, note_unit: str = "file(s)") -> None:
    """Print an ingest report: its JSON (``--json``), or skips and notes (stderr) and then
    the one-line ``summary`` (stdout). ``rep`` has ``to_json()``, ``skipped`` and ``notes``."""
    import json

    if as_json:
        click.echo(json.dumps(rep.to_json(), indent=1))
        return
    report_skips(rep.skipped)
    for note, n in rep.notes.items():
        click.echo(f"note: {n} {note_unit}: {note}", err=True)
    click.echo(summary)


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


def dask_options(f):
    """``--scheduler ADDRESS`` and ``--workers N``: run the command's heavy step on Dask
    (see :mod:`workbench.io.distributed`); the command gets ``scheduler`` and ``workers``."""
    f = click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Run on a new local Dask cluster of N worker processes "
                          "(1 thread each). Default: in this process.")(f)
    f = click.option("--scheduler", metavar="ADDRESS", default=None,
                     help="Run on a running Dask cluster: its scheduler's address "
                          "(tcp://host:8786) or scheduler file (.json). Its workers must "
                          "see the same files.")(f)
    return f


def dask_client(scheduler, workers):
    """Context manager: the client ``--scheduler``/``--workers`` ask for (None: neither)."""
    from workbench.io.distributed import open_client

    if scheduler is not None and workers is not None:
        raise click.UsageError("give --scheduler or --workers, not both")
    return open_client(scheduler=scheduler, workers=workers)
