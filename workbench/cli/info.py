"""``workbench info``: what a Collection holds."""

from __future__ import annotations

import json

import click

__all__ = ["info"]


@click.command()
@click.argument("collection", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object instead of text.")
def info(collection, as_json):
    """Summarise COLLECTION: items, kinds, products and shapes, columns, derived data.

    The --json form is stable; its keys are: path, format, format_version, description,
    n_items, kinds, products, columns, derived, n_segments, size_bytes.
    """
    from workbench.io.collection import open as open_collection

    d = open_collection(collection).info()
    if as_json:
        click.echo(json.dumps(d, indent=1, default=str))
        return
    click.echo(f"{d['path']}: {d['n_items']} items")
    click.echo("kinds:    " + ", ".join(f"{k} ({v})" for k, v in d["kinds"].items()))
    for name, p in d["products"].items():
        click.echo(f"product:  {name} {tuple(p['shape'])} channels={p['channels']} {p['units']}")
    click.echo("columns:  " + ", ".join(d["columns"]))
    for name, rec in d["derived"].items():
        mb = rec.get("made_by", {})
        click.echo(f"derived:  {name} ({rec['type']}) by {mb.get('name')} {mb.get('version')} "
                   f"{mb.get('params')}")
    click.echo(f"size:     {d['size_bytes'] / 1e6:.1f} MB in {d['n_segments']} segment(s)")
