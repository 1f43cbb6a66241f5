"""``workbench train-ssl``: train a self-supervised encoder on a Collection's images.

Calls :func:`workbench.learn.train.train_ssl` (the function a notebook calls) with an
:class:`~workbench.learn.config.SSLConfig` built from the options.
"""

from __future__ import annotations

import time

import click

__all__ = ["train_ssl"]


@click.command("train-ssl")
@click.argument("collection", type=click.Path())
@click.option("--method", type=click.Choice(["simclr", "byol"]), default="simclr",
              show_default=True,
              help="SimCLR (Chen et al. 2020) or BYOL (Grill et al. 2020; needs longer "
                   "training: at CPU budgets SimCLR learns more).")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("-o", "--output", "out", type=click.Path(), required=True,
              help="Checkpoint to write (.safetensors).")
@click.option("--product", default=None, help="Image product (default: the only one, or radio).")
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--size", type=int, default=64, show_default=True,
              help="Images are resized to SIZE x SIZE pixels.")
@click.option("--crop", type=float, default=1.0, show_default=True,
              help="Keep the central CROP fraction of each side before resizing (for stamps "
                   "centred on a source much smaller than the stamp; MiraBest: 0.64).")
@click.option("--stretch", type=click.Choice(["asinh", "linear"]), default="asinh",
              show_default=True,
              help="asinh: zero pixels below 3 sigma, then asinh (lifts faint lobes); "
                   "linear: peak-normalised only.")
@click.option("--width", type=int, default=16, show_default=True,
              help="Channels of the encoder's first stage (doubles per stage).")
@click.option("--out-dim", type=int, default=128, show_default=True,
              help="Embedding length.")
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if available).")
@click.option("--resume", is_flag=True, help="Continue from -o if it exists (same options).")
def train_ssl(collection, method, epochs, out, product, batch_size, size, crop, stretch, width,
              out_dim, lr, seed, device, resume):
    """Train a self-supervised encoder on COLLECTION's images; save a safetensors checkpoint.

    A checkpoint is written at every epoch end. The first Ctrl-C stops after the current
    step and saves a resumable checkpoint (exit code 130; a second Ctrl-C aborts at once),
    and --resume continues from it with the same result as an uninterrupted run.
    """
    import signal
    import threading

    from workbench.io.collection import open as open_collection
    from workbench.learn.config import SSLConfig
    from workbench.learn.train import train_ssl as run

    config = SSLConfig(method=method, epochs=epochs, batch_size=batch_size, size=size,
                       product=product, lr=lr, seed=seed, crop=None if crop >= 1 else crop,
                       stretch=stretch, encoder={"width": width, "out_dim": out_dim})
    coll = open_collection(collection)
    cancel = threading.Event()
    t0 = time.perf_counter()
    state = {"last": 0.0}

    def progress(p):
        now = time.perf_counter()
        if now - state["last"] > 5 or p["global_step"] == p["total_steps"]:
            state["last"] = now
            click.echo(f"epoch {p['epoch'] + 1}/{epochs} step {p['step']}/{p['steps_per_epoch']} "
                       f"loss {p['loss']:.4f} ({p['images_per_s']:.0f} img/s)", err=True)

    def on_sigint(_signum, _frame):
        if cancel.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once
        cancel.set()
        click.echo("stopping after this step to save a checkpoint (Ctrl-C again to abort)",
                   err=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        res = run(coll, out=out, config=config, device=device, resume=resume,
                  progress=progress, cancel=cancel)
    except KeyboardInterrupt:
        click.echo("interrupted; run again with --resume to continue from the last epoch end",
                   err=True)
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if res.cancelled:
        click.echo(f"cancelled after {res.steps} steps; saved {res.path}: run again with "
                   "--resume to continue", err=True)
        raise SystemExit(130)
    click.echo(f"wrote {res.path} (encoder hash {res.hash[:12]}, {res.steps} steps on "
               f"{res.device}, {time.perf_counter() - t0:.1f} s)")
