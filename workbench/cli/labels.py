"""``workbench schemes``, ``workbench campaign``, ``workbench labels`` and ``workbench components``.

The label store is ``COLLECTION/labels.sqlite`` unless ``--store URL`` names another
(any SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import json

import click

__all__ = ["schemes", "campaign", "labels", "components"]

_STORE = click.option("--store", "store_url", default=None, metavar="URL",
                      help="Label store URL or file (default: COLLECTION/labels.sqlite).")


def _open(collection, store_url):
    from workbench.io.collection import open as open_collection
    from workbench.io.labels import open_store

    coll = open_collection(collection)
    return coll, open_store(coll, url=store_url)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the schemes as JSON (full trees).")
def schemes(as_json):
    """List the label schemes with their versions, classes and questions."""
    from workbench.core.schemes import list_schemes

    all_ = list_schemes()
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in all_], indent=1))
        return
    for s in all_:
        kinds = ",".join(s.kinds) or "any"
        click.echo(f"{s.name:<14} v{s.version}  {s.title}  [{kinds}]")
        for q in s.questions:
            vals = f": {', '.join(map(str, q.values))}" if q.answers else ""
            scope = ", per source" if q.scope == "source" else ""
            click.echo(f"    {q.id} ({q.type}{scope}){vals}")


@click.group()
def campaign():
    """Create labelling campaigns and follow their progress."""


@campaign.command("create")
@click.argument("collection", type=click.Path())
@click.option("--name", required=True, help="Unique campaign name.")
@click.option("--scheme", required=True,
              help="Label scheme name (see `workbench schemes`) or a scheme JSON/YAML file.")
@click.option("--retire", type=int, default=3, show_default=True,
              help="Annotations after which an item retires.")
@click.option("--query", default=None,
              help="Only items whose catalog rows match this pandas query, e.g. 'snr > 8'.")
@click.option("--order", type=click.Choice(["random", "priority"]), default="random",
              show_default=True, help="Order items are handed out in.")
@click.option("--early-retire", default=None, metavar="N:K",
              help="Items with at most N components retire after K annotations (RGZ: 1:5); "
                   "needs `workbench components` first.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random order.")
@_STORE
def campaign_create(collection, name, scheme, retire, query, order, early_retire, seed,
                    store_url):
    """Make campaign NAME over the items of COLLECTION (all, or those matching --query)."""
    from workbench.core.schemes import get_scheme

    coll, store = _open(collection, store_url)
    sch = get_scheme(scheme)
    view = coll.select(query) if query else coll
    ids = view.ids
    ncomp = None
    cat = view.catalog
    if "n_components" in cat.columns:
        ncomp = dict(zip(cat["id"].astype(str), cat["n_components"]))
    rule = None
    if early_retire:
        try:
            n, k = (int(x) for x in early_retire.split(":"))
        except ValueError as exc:
            raise click.BadParameter(f"{early_retire!r} is not N:K",
                                     param_hint="--early-retire") from exc
        rule = {"max_components": n, "retire": k}
    camp = store.create_campaign(name, sch, ids, retire=retire, order=order, early_retire=rule,
                                 n_components=ncomp, seed=seed)
    click.echo(f"campaign {camp.name!r}: {len(ids)} items, scheme {sch.name} v{sch.version}, "
               f"retire {retire}, order {order} (store {store._where})")


@campaign.command("status")
@click.argument("collection", type=click.Path())
@click.option("--name", required=True, help="Campaign name.")
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object.")
@_STORE
def campaign_status(collection, name, as_json, store_url):
    """Progress of campaign NAME: items, retired, annotations per annotator.

    The --json keys: name, scheme, scheme_version, retire, order, early_retire, n_items,
    n_retired, n_remaining, n_annotations, n_retracted, n_open, n_skipped, fraction_retired,
    annotators, rounds, created, created_by.
    """
    _, store = _open(collection, store_url)
    st = store.campaign(name).status()
    if as_json:
        click.echo(json.dumps(st, indent=1))
        return
    click.echo(f"campaign {st['name']}: scheme {st['scheme']} v{st['scheme_version']}, "
               f"retire {st['retire']}, order {st['order']}")
    click.echo(f"items:       {st['n_items']} ({st['n_retired']} retired, "
               f"{st['fraction_retired']:.0%})")
    click.echo(f"annotations: {st['n_annotations']} ({st['n_retracted']} retracted, "
               f"{st['n_open']} in progress)")
    for who, n in st["annotators"].items():
        click.echo(f"  {who}: {n}")


@click.group()
def labels():
    """Export labels (consensus or raw annotations)."""


@labels.command("export")
@click.argument("collection", type=click.Path())
@click.option("--campaign", "campaign_name", required=True, help="Campaign name.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output file: .parquet, .csv, .fits, .vot/.xml, .ecsv, or .reg (DS9 regions "
                   "of an RGZ consensus).")
@click.option("--raw", is_flag=True, help="Export every annotation record, not the consensus.")
@click.option("--method", type=click.Choice(["majority", "dawid-skene", "rgz"]), default=None,
              help="Consensus method (default: rgz for component schemes, else majority).")
@_STORE
def labels_export(collection, campaign_name, output, raw, method, store_url):
    """Write the consensus (or --raw annotations) of a campaign with sky positions."""
    from workbench.io.labels.export import export_labels

    coll, store = _open(collection, store_url)
    out = export_labels(store, campaign_name, output, collection=coll, raw=raw, method=method)
    click.echo(f"wrote {out['rows']} {out['kind']} row(s) to {out['path']}")


@click.command()
@click.argument("collection", type=click.Path())
@click.option("--product", default="radio", show_default=True, help="Image product to use.")
@click.option("--nsigma", type=float, default=3.0, show_default=True,
              help="Lowest contour in units of the robust noise.")
@click.option("--min-npix", type=int, default=1, show_default=True,
              help="Drop islands with fewer pixels.")
def components(collection, product, nsigma, min_npix):
    """Find the radio components (islands above the lowest contour) of every item and store
    them with COLLECTION (derived array 'components', column n_components)."""
    from workbench.io.collection import open as open_collection
    from workbench.io.components import compute_components

    coll = open_collection(collection, "r+")
    out = compute_components(coll, product, nsigma=nsigma, min_npix=min_npix)
    click.echo(f"{out['n_items']} items, {out['n_components']} components stored in "
               f"{coll.path}")
