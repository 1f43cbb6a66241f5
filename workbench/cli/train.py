"""``workbench train``: train a classifier from a label column or a campaign's consensus.

Calls :func:`workbench.learn.supervised.train_classifier` with a
:class:`~workbench.learn.config.TrainConfig` built from the options.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbench.cli._common import FEATURES_HELP, echo_epoch, open_collection
from workbench.io._atomic import replacing

__all__ = ["train"]


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
              help=FEATURES_HELP + " Used with --model head.")
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
    coll = open_collection(collection)
    config = TrainConfig(arch=arch, product=product, size=int(size), depth=int(depth),
                         source=source, epochs=epochs, batch_size=batch_size, lr=lr,
                         dropout=dropout, holdout=holdout, seed=seed)
    res = train_classifier(coll, output, config=config, label_column=label_column,
                           campaign=campaign, device=device, progress=echo_epoch)
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
