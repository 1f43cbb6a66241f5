"""``workbench train``, ``workbench predict`` and ``workbench al ...`` (active learning)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbench.cli._common import dask_client, dask_options
from workbench.io._atomic import replacing

__all__ = ["train", "predict", "al"]


def _open(path, mode="r"):
    from workbench.io.collection import open as open_collection

    return open_collection(path, mode)


def _echo_progress(rec: dict) -> None:
    click.echo(f"epoch {rec['epoch']}/{rec['epochs']}  loss {rec['loss']:.4f}  "
               f"train accuracy {rec['accuracy']:.3f}  ({rec['seconds']:.1f} s)", err=True)


_FEATURES_HELP = ("Features of the head model: auto (stored SSL embeddings "
                  "`embedding-*` if any, else pixels), pixels (16x16, PCA for al simulate), "
                  "embedding (the newest stored), embedding-<hash>, or 'embedding:<array>' / "
                  "'pixels:<product>:<size>'.")


@click.command()
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("--label-column", help="Catalog column with the true class (oracle labels).")
@click.option("--campaign", help="Label-store campaign whose consensus labels to train on.")
@click.option("--model", "arch", type=click.Choice(["mlppa", "head"]), default="mlppa",
              show_default=True, help="mlppa: the ML-PPA DM-time CNN on an image product; "
              "head: an MLP on embeddings (or small pixels).")
@click.option("--product", help="Image product for mlppa (default: the only/first one).")
@click.option("--size", type=click.Choice(["32", "64", "128", "256"]), default="256",
              show_default=True, help="ML-PPA input size (images are resampled to it).")
@click.option("--depth", type=click.Choice(["2", "3"]), default="3", show_default=True,
              help="ML-PPA convolutions.")
@click.option("--features", "source", default="auto", show_default=True,
              help=_FEATURES_HELP + " Used with --model head.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True),
              help="Dropout before the dense layers (default: 0 for mlppa, the published "
                   "network; 0.2 for head). Above 0 for Monte-Carlo dropout (BALD).")
@click.option("--holdout", type=float, default=0.2, show_default=True,
              help="Fraction of labelled items held out for metrics and calibration.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", help="cuda or cpu (default: cuda when available).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint to write (.safetensors); metrics go beside it as .json.")
def train(collection, label_column, campaign, arch, product, size, depth, source, epochs,
          batch_size, lr, dropout, holdout, seed, device, output):
    """Train a classifier on COLLECTION from a label column or a campaign's consensus.

    Writes a safetensors checkpoint (weights + config + calibrated temperature) and a
    metrics JSON (held-out accuracy, per-class precision/recall/F1, confusion, AUROC).
    """
    from workbench.learn.config import TrainConfig
    from workbench.learn.supervised import train_classifier

    if bool(label_column) == bool(campaign):
        raise click.UsageError("give exactly one of --label-column or --campaign")
    if arch == "mlppa" and source != "auto":
        raise click.UsageError("--features is for --model head (mlppa reads an image product)")
    coll = _open(collection)
    config = TrainConfig(arch=arch, product=product, size=int(size), depth=int(depth),
                         source=source, epochs=epochs, batch_size=batch_size, lr=lr,
                         dropout=dropout, holdout=holdout, seed=seed)
    res = train_classifier(coll, output, config=config, label_column=label_column,
                           campaign=campaign, device=device, progress=_echo_progress)
    m = res.metrics
    report = Path(output).with_suffix(".json")
    with replacing(report) as tmp:
        tmp.write_text(json.dumps({"checkpoint": str(output), "device": res.device,
                                   "input": res.config["input"] if arch == "mlppa" else
                                   {"kind": "features", "source": res.config["input"]["source"]},
                                   "train": res.train.to_dict(),
                                   "metrics": m, "history": res.history}, indent=1,
                                  default=str))
    feats = "" if arch == "mlppa" else f"; features {res.config['input']['source']}"
    click.echo(f"wrote {output} and {report.name} (device {res.device}{feats}); held-out "
               f"n={m.get('n')} accuracy={m.get('accuracy')} auroc={m.get('auroc')}")


@click.command()
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="A checkpoint written by `workbench train` (.safetensors).")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--name", default="predictions", show_default=True,
              help="Name of the derived column set to write.")
@click.option("--device", help="cuda or cpu for --backend torch (default: cuda when "
              "available); the onnx backends run on CPU.")
@click.option("--backend", type=click.Choice(["torch", "onnx", "onnx-int8"]), default="torch",
              show_default=True, help="torch: the checkpoint's network; onnx: its ONNX export "
              "run with onnxruntime (same predictions); onnx-int8: dynamic int8 quantisation "
              "of that export (4x smaller, faster on CPU, probabilities within ~0.01). "
              "ONNX exports are cached beside the checkpoint in <checkpoint>-onnx/.")
@dask_options
def predict(collection, model_path, batch_size, name, device, backend, scheduler, workers):
    """Predict every item of COLLECTION and store pred_<class> and pred_label columns
    (provenance: the checkpoint's SHA-256 and the backend)."""
    import time

    import workbench.learn.checkpoints  # noqa: F401 - imports torch before the clock starts
    from workbench.learn.infer import predict_collection

    coll = _open(collection, "r+")
    t0 = time.perf_counter()
    with dask_client(scheduler, workers) as client:
        df = predict_collection(coll, model_path, batch_size=batch_size, name=name,
                                device=device, backend=backend, client=client)
    dt = time.perf_counter() - t0
    counts = df["pred_label"].value_counts().to_dict()
    click.echo(f"predicted {len(df)} items with {backend} in {dt:.2f} s "
               f"({len(df) / max(dt, 1e-9):.1f} items/s, model load, any ONNX export and the "
               f"column write included); columns {[c for c in df.columns if c != 'id']}; "
               f"labels {counts}")


@click.group()
def al():
    """Active learning: oracle simulations and labelling rounds."""


@al.command("simulate")
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("--label-column", required=True, help="Catalog column with the ground truth.")
@click.option("--strategies", default="random,margin,bald", show_default=True,
              help="Comma-separated acquisition strategies (random, least_confidence, margin, "
                   "entropy, bald, coreset, cluster_balanced, anomaly_first, badge; a '+cold' "
                   "suffix, e.g. margin+cold, starts from cluster-balanced labels).")
@click.option("--budget", type=int, default=200, show_default=True,
              help="Labels to spend (capped at the pool size).")
@click.option("--seeds", type=int, default=3, show_default=True)
@click.option("--initial", type=int, default=10, show_default=True,
              help="Random labels to start from.")
@click.option("--step", type=int, help="Labels per round (default budget/15, at least 5).")
@click.option("--features", "source", default="auto", show_default=True,
              help=_FEATURES_HELP)
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
                head, rare, rare_k, plot, output):
    """Compare acquisition strategies with random on COLLECTION using its ground truth as
    the annotator; report labels needed to reach random's final accuracy, with 95%
    bootstrap intervals over seeds (all strategies run on the same splits per seed)."""
    from workbench.active.oracle import (
        features_for_simulation,
        plot_learning_curves,
        simulate_strategies,
    )
    from workbench.core.errors import InputError

    coll = _open(collection)
    if label_column not in coll.catalog.columns:
        raise InputError(f"no column {label_column!r}", path=collection,
                         hint=f"columns: {list(coll.catalog.columns)}")
    labels = coll.catalog[label_column]
    keep = labels.notna().to_numpy()
    if rare is not None and rare not in set(labels[keep].astype(str)):
        raise InputError(f"--rare {rare!r} is not a value of column {label_column!r}",
                         path=collection,
                         hint=f"values: {sorted(set(labels[keep].astype(str)))[:20]}")
    x, src = features_for_simulation(coll, source=source)
    res = simulate_strategies(x[keep], labels[keep].astype(str).tolist(),
                              strategies=[s.strip() for s in strategies.split(",") if s.strip()],
                              budget=budget, seeds=seeds, initial=initial, step=step, head=head,
                              progress=lambda m: click.echo(m, err=True))
    if rare is not None:
        from workbench.active.rare import simulate_rare

        res["rare"] = simulate_rare(x[keep], labels[keep].astype(str).tolist(), rare,
                                    k=rare_k, seeds=seeds,
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
    click.echo(f"target accuracy (random's final) {ln['target_accuracy']}")
    for s, row in ln["table"].items():
        click.echo(f"  {s:18s} labels needed {row['labels']}  saving {row['saving']} "
                   f"(95% CI {row['saving_ci']})  area {row['area']} (95% CI "
                   f"{row['area_ci']})  final accuracy {row['final_accuracy']}")
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
@click.option("--features", "source", default="auto", show_default=True, help=_FEATURES_HELP)
def al_round(collection, campaign, label_column, strategy, arch, queue_size, epochs, source):
    """Run one active-learning round: labels -> retrain -> evaluate -> new queue."""
    from workbench.active.loop import ActiveLoop

    if bool(label_column) == bool(campaign):
        raise click.UsageError("give exactly one of --label-column or --campaign")
    coll = _open(collection, "r+")
    loop = ActiveLoop(coll, campaign=campaign, label_column=label_column, arch=arch,
                      strategy=strategy, queue_size=queue_size, epochs=epochs, source=source)
    rec = loop.run_round(progress=_echo_progress)
    m = rec.metrics
    click.echo(f"round {rec.round} ({strategy}): trained on {rec.n_train} labels, "
               f"held-out accuracy {m.get('accuracy')}, queued {len(rec.queue)} items "
               f"-> recorded in {collection} as derived data {rec.name}")
