"""``workbench campaign create|status|invite``: labelling campaigns in the label store
(``campaign serve`` is in :mod:`workbench.cli.campaign_serve`).

The label store is ``COLLECTION/labels.sqlite`` unless ``--store URL`` names another
(any SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import json

import click

from workbench.cli._common import open_with_store, store_option

__all__ = ["campaign"]


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
              help="Only items whose catalog rows match this query, e.g. \"snr > 8 and truth in "
                   "['FRI', 'FRII']\": column names (`odd name` in backticks), literals, "
                   "comparisons, and/or/not, in [...], arithmetic, abs/sqrt/log10/log/exp and "
                   "the column methods .median() .mean() .std() .min() .max() .quantile(q) "
                   ".abs() .isna() .notna() .between(lo, hi) .str.contains(s) "
                   ".str.startswith(s) .str.endswith(s) .str.lower() .str.upper(). It is "
                   "never run as Python; anything else is an error.")
@click.option("--order", type=click.Choice(["random", "priority"]), default="random",
              show_default=True, help="Order items are handed out in.")
@click.option("--early-retire", default=None, metavar="N:K",
              help="Items with at most N components retire after K annotations (RGZ: 1:5); "
                   "needs `workbench components` first.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random order and of the choice of gold items.")
@click.option("--show", "show", default=None, metavar="COL,COL",
              help="Catalog columns annotators see beside the images (the id always). "
                   "Default: the id and, where present, ra and dec; nothing else.")
@click.option("--gold-column", default=None, metavar="COLUMN",
              help="Catalog column holding known answers to the scheme's class question; "
                   "items whose value is one of its classes can become gold items.")
@click.option("--gold-rate", type=float, default=None, metavar="F",
              help="Fraction of each annotator's items that are gold items (default 0.05 "
                   "with --gold-column).")
@store_option
def campaign_create(collection, name, scheme, retire, query, order, early_retire, seed, show,
                    gold_column, gold_rate, store_url):
    """Make campaign NAME over the items of COLLECTION (all, or those matching --query).

    Annotators see the images and only the --show columns. With --gold-column, about
    gold-rate / (1 - gold-rate) of the items (at least one; chosen at random among those
    with a known answer) become gold items: handed to every annotator at that rate, looking
    like any other item, never retired, and used to measure annotators (campaign status)
    and to weight them (Dawid-Skene consensus).
    """
    from workbench.core.schemes import get_scheme
    from workbench.io.collection import open as open_collection
    from workbench.io.labels import open_store

    coll = open_collection(collection)
    view = coll.select(query) if query else coll  # a bad query fails before the store is made
    sch = get_scheme(scheme)                       # and so does an unknown scheme
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
    show_columns = _show_columns(show, cat, coll.path)
    gold, rate = _gold_items(gold_column, gold_rate, cat, sch, seed, coll.path)
    store = open_store(coll, url=store_url)
    camp = store.create_campaign(name, sch, ids, retire=retire, order=order, early_retire=rule,
                                 n_components=ncomp, seed=seed, show_columns=show_columns,
                                 gold=gold or None, gold_rate=rate)
    click.echo(f"campaign {camp.name!r}: {len(ids) - len(gold)} items, scheme {sch.name} "
               f"v{sch.version}, retire {retire}, order {order} (store {store._where})")
    click.echo(f"annotators see: {', '.join(camp.shown_columns(cat.columns))}")
    if gold:
        click.echo(f"gold: {len(gold)} items from column {gold_column!r}, mixed in at rate "
                   f"{rate:g}")


def _show_columns(show, catalog, where):
    """--show as a list, every name checked against the catalog."""
    import sys

    from workbench.core.blind import is_hidden
    from workbench.core.errors import CatalogError

    if show is None:
        return None
    cols = [c.strip() for c in show.split(",") if c.strip()]
    missing = [c for c in cols if c not in catalog.columns]
    if missing:
        raise CatalogError(f"--show names column(s) {missing} that the catalog does not have",
                           path=where, hint="see `workbench info COLLECTION` for its columns")
    for c in cols:
        if is_hidden(c):
            print(f"note: annotators will see {c!r}, a column that may give the answer away",
                  file=sys.stderr)
    return cols


def _gold_items(column, rate, catalog, scheme, seed, where):
    """({item_id: answer}, rate) for --gold-column/--gold-rate ({} and None without)."""
    import math

    import numpy as np

    from workbench.core.errors import CatalogError

    if column is None:
        if rate is not None:
            raise CatalogError("--gold-rate needs --gold-column (the known answers)")
        return {}, None
    rate = 0.05 if rate is None else float(rate)
    if not 0.0 < rate < 1.0:
        raise CatalogError(f"--gold-rate must be between 0 and 1 (exclusive), not {rate:g}")
    if column not in catalog.columns:
        raise CatalogError(f"--gold-column {column!r} is not a catalog column", path=where)
    from workbench.io.labels.campaigns import gold_answer, gold_question

    q = gold_question(scheme)
    if q is None:
        raise CatalogError(f"scheme {scheme.name!r} has no item-level class question for gold "
                           f"answers")
    known = {}
    for iid, v in zip(catalog["id"].astype(str), catalog[column]):
        answer = gold_answer(q, v)
        if answer is not None:
            known[iid] = answer
    if not known:
        seen = sorted({str(v) for v in catalog[column].dropna()})[:8]
        raise CatalogError(f"no value of column {column!r} is one of the {q.id!r} classes "
                           f"{list(q.values)} (values: {seen})", path=where)
    n = max(1, math.ceil(rate / (1.0 - rate) * len(catalog)))
    n = min(n, len(known), len(catalog) - 1)
    if n < 1:
        raise CatalogError("a campaign with gold items needs at least two items", path=where)
    pick = np.random.default_rng(seed).permutation(sorted(known))[:n]
    return {str(i): known[str(i)] for i in pick}, rate


@campaign.command("status")
@click.argument("collection", type=click.Path())
@click.option("--name", required=True, help="Campaign name.")
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object.")
@store_option
def campaign_status(collection, name, as_json, store_url):
    """Progress of campaign NAME: items, retired, annotations per annotator.

    The --json keys: name, scheme, scheme_version, retire, order, early_retire,
    show_columns, gold_rate, n_items, n_gold, n_retired, n_remaining, n_annotations,
    n_retracted, n_open, n_skipped, fraction_retired, annotators, rounds, created,
    created_by, per_annotator (name -> n_annotations, first, last, median_seconds, n_gold,
    gold_accuracy, n_compared, agreement), per_day (list of date, annotations, retirements,
    annotators, total_annotations, total_retired) and agreement (n_items, median). Gold
    items are not in n_items/n_retired. See workbench.labeling.report for definitions.
    """
    _, store = open_with_store(collection, store_url)
    from workbench.labeling.report import campaign_report

    st = campaign_report(store.campaign(name))
    if as_json:
        click.echo(json.dumps(st, indent=1))
        return
    click.echo(f"campaign {st['name']}: scheme {st['scheme']} v{st['scheme_version']}, "
               f"retire {st['retire']}, order {st['order']}")
    gold = f", {st['n_gold']} gold items at rate {st['gold_rate']:g}" if st["n_gold"] else ""
    click.echo(f"items:       {st['n_items']} ({st['n_retired']} retired, "
               f"{st['fraction_retired']:.0%}){gold}")
    click.echo(f"annotations: {st['n_annotations']} ({st['n_retracted']} retracted, "
               f"{st['n_open']} in progress)")

    def pct(v):
        return "-" if v is None else f"{v:.0%}"

    for who, a in st["per_annotator"].items():
        speed = "-" if a["median_seconds"] is None else f"{a['median_seconds']:.1f} s"
        click.echo(f"  {who}: {a['n_annotations']}, median {speed}, gold {pct(a['gold_accuracy'])}"
                   f" of {a['n_gold']}, agreement {pct(a['agreement'])}")
    for d in st["per_day"]:
        click.echo(f"  {d['date']}: {d['annotations']} annotations, {d['retirements']} retired")


@campaign.command("invite")
@click.argument("collection", type=click.Path())
@click.option("--name", required=True, help="Campaign name.")
@click.option("--annotator", required=True, help="Who the invite is for (their name in the store).")
@click.option("--revoke", is_flag=True, help="End the annotator's invite instead.")
@click.option("--base-url", default="http://127.0.0.1:8891", show_default=True,
              help="Where `workbench campaign serve` is reached.")
@store_option
def campaign_invite(collection, name, annotator, revoke, base_url, store_url):
    """Print a personal labeling URL for ANNOTATOR in campaign NAME (or --revoke it).

    The URL carries a new random token (it replaces any earlier one of theirs); the store
    keeps only its hash, so it cannot be shown again: send it to them, keep no copy.
    """
    from urllib.parse import quote, urlsplit

    from workbench.core.errors import StoreError

    _, store = open_with_store(collection, store_url)
    if revoke:
        n = store.revoke_invite(name, annotator)
        if not n:
            store.campaign(name)  # an unknown campaign says so first
            raise StoreError(f"{annotator!r} has no valid invite to campaign {name!r}")
        click.echo(f"revoked the invite of {annotator!r} to campaign {name!r}")
        return
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise StoreError(f"--base-url {base_url!r} is not an http(s)://HOST[:PORT] URL")
    token = store.invite(name, annotator)
    click.echo(f"{base_url.rstrip('/')}/workbench/campaigns/{quote(name, safe='')}/label"
               f"?token={token}")
