"""``workbench al simulate`` and ``workbench al round``: active learning (oracle
simulations, :mod:`workbench.active.oracle`; labelling rounds,
:class:`workbench.active.loop.ActiveLoop`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbench.cli._common import FEATURES_HELP, echo_epoch, open_collection
from workbench.io._atomic import replacing

__all__ = ["al"]


@click.group()
def al():
    """Active learning: oracle simulations and labelling rounds."""


@al.command("simulate")
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("--label-column", required=True, help="Catalog column with the ground truth.")
@click.option("--strategies", default="random,margin,bald", show_default=True,
              help="Comma-separated acquisition strategies (random, least_confidence, margin, "
                   "entropy, bald, coreset, cluster_balanced, anomaly_first, badge, typiclust, "
                   "cluster_margin; a '+cold' suffix, e.g. margin+cold, starts from "
                   "cluster-balanced labels, '+typical' (margin+typical) from TypiClust's "
                   "most typical items of k-means clusters, '+typicalN' keeps TypiClust "
                   "until N labels).")
@click.option("--budget", type=int, default=200, show_default=True,
              help="Labels to spend (capped at the pool size).")
@click.option("--seeds", type=int, default=3, show_default=True)
@click.option("--initial", type=int, default=10, show_default=True,
              help="Random labels to start from.")
@click.option("--step", type=int, help="Labels per round (default budget/15, at least 5).")
@click.option("--features", "source", default="auto", show_default=True,
              help=FEATURES_HELP + " Here also morphology[:SIZE_COLUMN]: per-side "
              "Fanaroff-Riley measures of each image (workbench.imaging.morphology), islands "
              "within half of SIZE_COLUMN (arcsec) + 3 pixels of the centre if given; --rare "
              "then ranks by their label-free hybrid score.")
@click.option("--rotation-average", "rot_ckpt", type=click.Path(exists=True, dir_okay=False),
              help="Features instead of --features: the pooled features of this SSL encoder "
              "(a `workbench train-ssl` checkpoint) averaged over the 8 flips and quarter "
              "turns of each image (for morphology that does not depend on orientation).")
@click.option("--head", type=click.Choice(["mlp", "logistic", "ensemble"]), default="mlp",
              show_default=True, help="Classifier retrained every round: an MLP with "
              "MC dropout, logistic regression, or an ensemble of 5 small MLPs (BALD from "
              "their disagreement).")
@click.option("--rare", help="Also measure labels spent until --rare-k items of this class "
              "are labelled (random, anomaly-first, active anomaly ranking, "
              "cluster-balanced), over all labelled items.")
@click.option("--rare-k", type=int, default=10, show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Also save the curves as PNG.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="JSON with per-strategy, per-seed learning curves and labels-needed table.")
def al_simulate(collection, label_column, strategies, budget, seeds, initial, step, source,
                rot_ckpt, head, rare, rare_k, plot, output):
    """Compare acquisition strategies with random on COLLECTION using its ground truth as
    the annotator; report labels needed to reach random's final accuracy, with 95%
    bootstrap intervals over seeds (all strategies run on the same splits per seed)."""
    from workbench.active.oracle import (
        features_for_simulation,
        plot_learning_curves,
        simulate_strategies,
    )
    from workbench.core.errors import InputError

    coll = open_collection(collection)
    if label_column not in coll.catalog.columns:
        raise InputError(f"no column {label_column!r}", path=collection,
                         hint=f"columns: {list(coll.catalog.columns)}")
    labels = coll.catalog[label_column]
    keep = labels.notna().to_numpy()
    if rare is not None and rare not in set(labels[keep].astype(str)):
        raise InputError(f"--rare {rare!r} is not a value of column {label_column!r}",
                         path=collection,
                         hint=f"values: {sorted(set(labels[keep].astype(str)))[:20]}")
    score = None
    if rot_ckpt is not None:
        from workbench.learn.finetune import dihedral_features

        x, src = dihedral_features(coll, rot_ckpt), f"dihedral-pooled:{Path(rot_ckpt).name}"
    elif source.split(":")[0] == "morphology":
        from workbench.active.rare import collection_morphology

        x, score, _ = collection_morphology(coll, source.partition(":")[2] or None)
        src = source
    else:
        x, src = features_for_simulation(coll, source=source)
    res = simulate_strategies(x[keep], labels[keep].astype(str).tolist(),
                              strategies=[s.strip() for s in strategies.split(",") if s.strip()],
                              budget=budget, seeds=seeds, initial=initial, step=step, head=head,
                              progress=lambda m: click.echo(m, err=True))
    if rare is not None:
        from workbench.active.rare import simulate_rare

        res["rare"] = simulate_rare(x[keep], labels[keep].astype(str).tolist(), rare,
                                    k=rare_k, seeds=seeds,
                                    anomaly=None if score is None else score[keep],
                                    progress=lambda m: click.echo(m, err=True))
    res["collection"] = str(Path(collection).resolve())
    res["label_column"] = label_column
    res["features"] = src
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with replacing(output) as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    if plot:
        plot_learning_curves(res, plot, title=f"{Path(collection).name}: {label_column}")
    ln = res["labels_needed"]
    click.echo(f"target accuracy (random's final) {ln['target_accuracy']}"
               + (f"; second reading: random's last points' mean {ln['target_tail']}"
                  if "target_tail" in ln else ""))
    for s, row in ln["table"].items():
        click.echo(f"  {s:18s} labels needed {row['labels']}  saving {row['saving']} "
                   f"(95% CI {row['saving_ci']})  area {row['area']} (95% CI "
                   f"{row['area_ci']})  final accuracy {row['final_accuracy']}"
                   + (f"  saving with random's last-points target {row['saving_tail']} (95% CI "
                      f"{row['saving_tail_ci']})" if "saving_tail" in row else ""))
    if rare is not None:
        rt = res["rare"]["summary"]["table"]
        click.echo(f"labels until {rare_k} {rare!r} are labelled (mean over seeds):")
        for s, row in rt.items():
            click.echo(f"  {s:18s} {row['labels_mean']}  x{row['factor']} fewer than random "
                       f"(95% CI {row['factor_ci']})")
    click.echo(f"wrote {output} ({res['seconds']} s)")


@al.command("round")
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("--campaign", help="Label-store campaign (its consensus labels; its queue "
              "gets the new priorities).")
@click.option("--label-column", help="Oracle labels from a catalog column instead.")
@click.option("--strategy", default="margin", show_default=True)
@click.option("--model", "arch", type=click.Choice(["head", "mlppa"]), default="head",
              show_default=True)
@click.option("--queue-size", type=int, default=50, show_default=True)
@click.option("--epochs", type=int, default=60, show_default=True)
@click.option("--features", "source", default="auto", show_default=True, help=FEATURES_HELP)
def al_round(collection, campaign, label_column, strategy, arch, queue_size, epochs, source):
    """Run one active-learning round: labels -> retrain -> evaluate -> new queue."""
    from workbench.active.loop import ActiveLoop

    if bool(label_column) == bool(campaign):
        raise click.UsageError("give exactly one of --label-column or --campaign")
    coll = open_collection(collection, "r+")
    loop = ActiveLoop(coll, campaign=campaign, label_column=label_column, arch=arch,
                      strategy=strategy, queue_size=queue_size, epochs=epochs, source=source)
    rec = loop.run_round(progress=echo_epoch)
    m = rec.metrics
    click.echo(f"round {rec.round} ({strategy}): trained on {rec.n_train} labels, "
               f"held-out accuracy {m.get('accuracy')}, queued {len(rec.queue)} items "
               f"-> recorded in {collection} as derived data {rec.name}")
