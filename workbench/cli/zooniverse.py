"""``workbench export zooniverse`` and ``workbench labels import zooniverse``.

Subjects go out as PNG files drawn like the views draw them plus a ``manifest.csv``
(:mod:`workbench.io.export_zooniverse`); classifications come back from a Panoptes
classification export through a small mapping file (:mod:`workbench.io.labels.zooniverse`).
"""

from __future__ import annotations

import json
import sys

import click

__all__ = ["export_zooniverse_cmd", "labels_import"]


@click.command("zooniverse")
@click.argument("collection", type=click.Path())
@click.option("-o", "--out", required=True, type=click.Path(),
              help="New folder for the PNG files and manifest.csv.")
@click.option("--query", default=None,
              help="Only items whose catalog rows match this query (see `campaign create`).")
@click.option("--min-size", type=int, default=424, show_default=True,
              help="Enlarge images (by whole factors) to at least this many pixels a side.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier subject folder OUT.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export_zooniverse_cmd(collection, out, query, min_size, overwrite, as_json):
    """Write COLLECTION's items as a Zooniverse subject set: PNG images (one per panel the
    views show) and manifest.csv, whose hidden column #workbench_id carries the item id."""
    from workbench.io.collection import open as open_collection
    from workbench.io.export_zooniverse import export_zooniverse
    from workbench.labeling.subject_images import subject_pngs

    if not 16 <= min_size <= 4096:
        raise click.BadParameter("must be between 16 and 4096", param_hint="--min-size")
    coll = open_collection(collection)
    res = export_zooniverse(coll, out, query=query, overwrite=overwrite,
                            draw=lambda item: subject_pngs(item, min_size=min_size),
                            progress=not as_json and sys.stderr.isatty())
    if as_json:
        click.echo(json.dumps(res, indent=1))
        return
    click.echo(f"wrote {res['n_subjects']} subject(s), {res['n_images']} image(s) and "
               f"{res['manifest']}")


@click.group("import")
def labels_import():
    """Import classifications made elsewhere into a campaign (Zooniverse, ...)."""


@labels_import.command("zooniverse")
@click.argument("export_csv", type=click.Path())
@click.argument("collection", type=click.Path())
@click.option("--campaign", "campaign_name", required=True, help="Campaign to add them to.")
@click.option("--workflow", required=True, help="Panoptes workflow id to import.")
@click.option("--version", "version", default=None,
              help="Workflow version: 12 takes every 12.x, 12.3 only that one (default: all).")
@click.option("--mapping", required=True, type=click.Path(),
              help="JSON file mapping question tasks and answers onto the campaign's scheme "
                   "(format: see workbench.io.labels.zooniverse or the README).")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise",
              show_default=True,
              help="raise: any unknown subject/answer stops the import before anything is "
                   "written; skip: leave those classifications out and report them.")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Label store URL or file (default: COLLECTION/labels.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_zooniverse_cmd(export_csv, collection, campaign_name, workflow, version, mapping,
                          errors, store_url, as_json):
    """Add the classifications of a Panoptes export to campaign CAMPAIGN, one annotation per
    classification (annotator zooniverse:<user>, source zooniverse). Re-importing the same
    file adds nothing."""
    from workbench.io.collection import open as open_collection
    from workbench.io.labels import open_store
    from workbench.io.labels.zooniverse import import_zooniverse

    coll = open_collection(collection)
    store = open_store(coll, url=store_url)
    rep = import_zooniverse(store, export_csv, campaign_name, workflow=workflow,
                            version=version, mapping=mapping, errors=errors)
    if as_json:
        click.echo(json.dumps(rep.to_dict(), indent=1, default=str))
        return
    click.echo(f"{rep.n_added} classification(s) imported into {rep.campaign!r} from "
               f"{rep.annotators} volunteer(s); {rep.n_already} already there, "
               f"{rep.n_other_workflow} of other workflows, {rep.n_other_version} of other "
               f"versions, {rep.n_skipped} left out")
    for sid, n in list(rep.unknown_subjects.items())[:20]:
        click.echo(f"  unknown subject {sid}: {n} classification(s)", err=True)
    for key, n in list(rep.unknown_answers.items())[:20]:
        click.echo(f"  unmapped answer {key}: {n}", err=True)
    for bad in rep.invalid[:20]:
        click.echo(f"  classification {bad['classification_id']} (line {bad['line']}): "
                   f"{bad['reason']}", err=True)
    if rep.ignored_tasks:
        click.echo("  tasks not in the mapping (ignored): " + ", ".join(
            f"{t} ({n})" for t, n in rep.ignored_tasks.items()), err=True)
