"""``workbench predict``: predict every item of a Collection with a trained classifier.
"""

from __future__ import annotations

import click

from workbench.cli._common import dask_client, dask_options, open_collection

__all__ = ["predict"]


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

    coll = open_collection(collection, "r+")
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
