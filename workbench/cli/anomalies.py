"""``workbench anomalies``: score every item for how unusual it is in the embedding space.
"""

from __future__ import annotations

import click

from workbench.cli._common import dask_client, dask_options

__all__ = ["anomalies"]


@click.command("anomalies")
@click.argument("collection", type=click.Path())
@click.option("--method", type=click.Choice(["glosh", "iforest", "knn"]), default="glosh",
              show_default=True, help="GLOSH (HDBSCAN), isolation forest, or k-th neighbour distance.")
@click.option("--embedding", default=None,
              help="Derived array to score (default: the newest embedding-*).")
@click.option("--top", type=int, default=20, show_default=True, help="Print the top N.")
@click.option("--seed", type=int, default=0, show_default=True)
@dask_options
def anomalies(collection, method, embedding, top, seed, scheduler, workers):
    """Score every item of COLLECTION for how unusual it is in the embedding space; store
    column anomaly_<method> and print the most unusual items."""
    from workbench.embed.dask_scores import score_anomalies
    from workbench.io.collection import open as open_collection

    coll = open_collection(collection, "r+")
    with dask_client(scheduler, workers) as client:  # iforest/knn: chunks scored on Dask
        name, scores = score_anomalies(coll, client=client, method=method,
                                       embedding=embedding, seed=seed)
    click.echo(f"stored {name}")
    ids = coll.ids
    for rank, i in enumerate(scores.argsort()[::-1][:top], 1):
        click.echo(f"{rank:4d}  {scores[i]:.4f}  {ids[i]}")
