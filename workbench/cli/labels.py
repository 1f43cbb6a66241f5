"""``workbench labels export``: a campaign's consensus, raw annotations or masks
(``labels import zooniverse`` is in :mod:`workbench.cli.zooniverse`).

The label store is ``COLLECTION/labels.sqlite`` unless ``--store URL`` names another.
"""

from __future__ import annotations

import click

from workbench.cli._common import open_with_store, store_option

__all__ = ["labels"]


@click.group()
def labels():
    """Export labels (consensus, raw annotations, masks) or import them (Zooniverse)."""


@labels.command("export")
@click.argument("collection", type=click.Path())
@click.option("--campaign", "campaign_name", required=True, help="Campaign name.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output file: .parquet, .csv, .fits, .vot/.xml, .ecsv, or .reg (DS9 regions "
                   "of an RGZ consensus).")
@click.option("--raw", is_flag=True, help="Export every annotation record, not the consensus.")
@click.option("--method", type=click.Choice(["majority", "dawid-skene", "rgz"]), default=None,
              help="Consensus method (default: rgz for component schemes, else majority).")
@click.option("--format", "fmt", type=click.Choice(["table", "coco", "caesar"]),
              default="table", show_default=True,
              help="table: by the output's suffix; coco: COCO instance masks (-o FILE.json), "
                   "one per consensus source; caesar: a caesar-mrcnn training folder (-o DIR: "
                   "image FITS, JSON and mask FITS per item, datalist.txt). Masks need "
                   "`workbench components` first.")
@click.option("--segmentation", type=click.Choice(["rle", "polygon"]), default="rle",
              show_default=True, help="COCO masks as uncompressed RLE (exact) or polygons "
                                      "along pixel edges (holes filled).")
@click.option("--overwrite", is_flag=True, help="caesar: replace an earlier export folder.")
@store_option
def labels_export(collection, campaign_name, output, raw, method, fmt, segmentation, overwrite,
                  store_url):
    """Write the consensus (or --raw annotations) of a campaign with sky positions, or its
    sources' masks for detectors (--format coco|caesar)."""
    from workbench.labeling.export import export_labels

    coll, store = open_with_store(collection, store_url)
    out = export_labels(store, campaign_name, output, collection=coll, raw=raw, method=method,
                        format=fmt, segmentation=segmentation, overwrite=overwrite)
    if fmt == "table":
        click.echo(f"wrote {out['rows']} {out['kind']} row(s) to {out['path']}")
        return
    click.echo(f"wrote {out['rows']} {fmt} object(s) of {out['n_items']} item(s) to "
               f"{out['path']}")
    if out["n_no_class"]:
        click.echo(f"note: {out['n_no_class']} consensus source(s) without a class (or "
                   f"without pixels) were left out", err=True)
