"""``workbench ingest``: FITS cutouts, mosaics (and later filterbanks, multi-band stamps)."""

from __future__ import annotations

import sys

import click

from workbench.cli._common import dask_client, dask_options, parse_shape, print_report

__all__ = ["ingest"]


@click.group()
def ingest():
    """Turn source data into a Collection."""


@ingest.command("fits")
@click.argument("paths", nargs=-1, required=True)
@click.option("--catalog", type=click.Path(), help="CSV/FITS/VOTable/Parquet joined by file name.")
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--product", default="radio", show_default=True, help="Name of the image product.")
@click.option("--kind", default="radio", show_default=True,
              type=click.Choice(["radio", "lens", "image", "transient"]))
@click.option("--size", help="Common shape N or NYxNX, at most 4096 per side (default: the "
              "first image's shape).")
@click.option("--channel", type=int, help="Plane to take from cubes with a real third axis.")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="Stop at the first bad file (nothing is written), or skip and report "
                   "every bad file with its reason.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
@dask_options
def ingest_fits_cmd(paths, catalog, out, product, kind, size, channel, errors, overwrite, as_json,
                    scheduler, workers):
    """Ingest FITS cutouts (files, folders or globs) into a new Collection."""
    from workbench.io.ingest_fits import ingest_fits

    with dask_client(scheduler, workers) as client:
        rep = ingest_fits(paths, out, catalog=catalog, product=product, kind=kind,
                          size=parse_shape(size), channel=channel, errors=errors,
                          overwrite=overwrite, progress=not as_json and sys.stderr.isatty(),
                          client=client)
    if rep.unmatched_catalog_rows and not as_json:
        click.echo(f"note: {len(rep.unmatched_catalog_rows)} catalogue row(s) matched no file",
                   err=True)
    print_report(rep, as_json, f"ingested {rep.n_items} item(s) of shape {rep.shape} into {out}")
