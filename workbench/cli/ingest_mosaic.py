"""``workbench ingest mosaic``: stamps around catalogue positions of a large FITS map."""

from __future__ import annotations

import json
import sys

import click

from workbench.cli._common import dask_client, dask_options

__all__ = ["ingest_mosaic_cmd"]


@click.command("mosaic")
@click.argument("image", type=click.Path())
@click.option("--catalog", required=True, type=click.Path(),
              help="CSV, FITS table, VOTable or Parquet with RA/Dec (deg or sexagesimal).")
@click.option("--size", "size_arcsec", required=True, type=float,
              help="Stamp side in arcsec (rounded to whole mosaic pixels; at most 4096 px).")
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--product", default="radio", show_default=True, help="Name of the image product.")
@click.option("--kind", default="radio", show_default=True,
              type=click.Choice(["radio", "lens", "image", "transient"]))
@click.option("--channel", type=int, help="Plane to take from a cube with a real third axis.")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="Positions outside the mosaic, or stamps that cannot be cut: stop with an "
                   "error, or skip and list them.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
@dask_options
def ingest_mosaic_cmd(image, catalog, size_arcsec, out, product, kind, channel, errors,
                      overwrite, as_json, scheduler, workers):
    """Cut stamps around catalogue positions of a FITS mosaic into a new Collection.

    The mosaic is memory-mapped; stamps over its edge are NaN-padded and flagged (column
    `edge`); positions outside it are reported.
    """
    import warnings

    from workbench.io.ingest_mosaic import ingest_mosaic

    with warnings.catch_warnings(), dask_client(scheduler, workers) as client:
        warnings.simplefilter("ignore", UserWarning)  # the report below says it all
        rep = ingest_mosaic(image, out, catalog=catalog, size_arcsec=size_arcsec,
                            product=product, kind=kind, channel=channel, errors=errors,
                            overwrite=overwrite, progress=not as_json and sys.stderr.isatty(),
                            client=client)
    if as_json:
        click.echo(json.dumps(rep.to_json(), indent=1))
        return
    for note in rep.notes:
        click.echo(f"note: {note}", err=True)
    if rep.outside:
        click.echo(f"{len(rep.outside)} catalogue position(s) outside the mosaic, not cut:",
                   err=True)
        for r in rep.outside[:50]:
            click.echo(f"  row {r['row']} {r['id']}: ra={r['ra']:.6f} dec={r['dec']:.6f}", err=True)
        if len(rep.outside) > 50:
            click.echo(f"  ... and {len(rep.outside) - 50} more", err=True)
    if rep.skipped:
        click.echo(f"{len(rep.skipped)} stamp(s) could not be cut, skipped:", err=True)
        for r in rep.skipped[:50]:
            click.echo(f"  row {r['row']} {r['id']}: {r['reason']}", err=True)
    if rep.invalid:
        click.echo(f"{len(rep.invalid)} catalogue row(s) without RA/Dec, not cut: "
                   + ", ".join(str(r["row"]) for r in rep.invalid[:50]), err=True)
    click.echo(f"ingested {rep.n_items} stamp(s) of {rep.shape[0]}x{rep.shape[1]} px "
               f"({rep.n_edge} over the edge, NaN-padded) into {out}")
