"""``workbench embed``: embed a Collection's images with an SSL encoder (stored as a
derived array keyed by the encoder's hash).
"""

from __future__ import annotations

import click

from workbench.cli._common import dask_client, dask_options

__all__ = ["embed"]


@click.command("embed")
@click.argument("collection", type=click.Path())
@click.option("--encoder", "checkpoint", type=click.Path(), required=True,
              help="Encoder checkpoint (.safetensors from train-ssl).")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--device", default=None, help="cpu, cuda (default: CUDA if available).")
@click.option("--force", is_flag=True, help="Recompute even if stored for this encoder.")
@dask_options
def embed(collection, checkpoint, batch_size, device, force, scheduler, workers):
    """Embed COLLECTION's images with an encoder; store them as derived array
    embedding-<hash12> (reused when run again with the same checkpoint)."""
    from workbench.learn.encode import embed_collection

    with dask_client(scheduler, workers) as client:
        res = embed_collection(collection, checkpoint, batch_size=batch_size, device=device,
                               force=force, client=client)
    what = "reused" if res.reused else "stored"
    click.echo(f"{what} {res.name}: {res.embeddings.shape[0]} x {res.embeddings.shape[1]} "
               f"({res.seconds:.1f} s)")
