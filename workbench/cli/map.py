"""``workbench map``: project a Collection's embeddings to 2-D and cluster them (stored as
derived columns); ``--transform-new`` places new items on the stored map.
"""

from __future__ import annotations

import time

import click

__all__ = ["map_"]


@click.command("map")
@click.argument("collection", type=click.Path())
@click.option("--method", type=click.Choice(["umap", "tsne", "pca"]), default="umap",
              show_default=True)
@click.option("--cluster", type=click.Choice(["hdbscan", "none"]), default="hdbscan",
              show_default=True, help="Cluster the embeddings (HDBSCAN, with GLOSH outlier scores).")
@click.option("--embedding", default=None,
              help="Derived array to map (default: the newest embedding-*).")
@click.option("--n-neighbors", type=int, default=15, show_default=True, help="UMAP neighbours.")
@click.option("--min-cluster-size", type=int, default=None,
              help="HDBSCAN min cluster size (default: scales with N).")
@click.option("--space", type=click.Choice(["map", "embedding"]), default="map",
              show_default=True, help="Cluster the 2-D map or the embeddings themselves "
              "(outlier scores always use the embeddings).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--transform-new", is_flag=True,
              help="Do not refit: place the items that have no map position yet (added since "
              "the map was made) on the stored map of --method, from stored arrays only "
              "(PCA: exactly; UMAP/t-SNE: the weighted mean of the map positions of their "
              "nearest fitted items in the embedding space), and give them a cluster "
              "(majority of their 10 nearest clustered items in the embedding space; noise "
              "when those are mostly noise or too far) and outlier/anomaly scores on the "
              "stored scale (their 10th-neighbour distance, quantile-matched). Nothing in "
              "the Collection is unpickled.")
@click.option("--exact", is_flag=True,
              help="When fitting: fit UMAP and HDBSCAN on every item (by default, above "
              "60,000 items UMAP is fitted on 40,000 random items and the others placed "
              "among their nearest fitted items, and HDBSCAN clusters 40,000 map points and "
              "places the rest by a 10-NN vote: several times faster at 300,000 items, "
              "see README). With --transform-new: place new items with the estimator's own "
              "transform "
              "(umap-learn/openTSNE) from the model file your own `workbench map "
              "--save-model` wrote; a model whose SHA-256 is not in your trust list "
              "($WORKBENCH_HOME/trusted-models.json, default "
              "~/.local/share/workbench/) is refused without being read.")
@click.option("--save-model", is_flag=True,
              help="Also save the fitted estimator (a Python pickle) for a later "
              "`--transform-new --exact`, and add its SHA-256 to your own trust list.")
def map_(collection, method, cluster, embedding, n_neighbors, min_cluster_size, space, seed,
         transform_new, exact, save_model):
    """Project COLLECTION's embeddings to 2-D (columns <method>_x, <method>_y) and cluster
    them (columns cluster, cluster_prob, outlier_glosh), stored as derived columns.

    The map is also stored as plain arrays (its PCA part, UMAP's neighbour graph), so a
    later `workbench map COLLECTION --transform-new` places new items on the same map
    without running anything from the Collection.
    """
    from workbench.embed.records import cluster_and_store, map_and_store, place_new_items
    from workbench.io.collection import open as open_collection

    if save_model and transform_new:
        raise click.UsageError("--save-model applies when fitting a map, not with "
                               "--transform-new")
    coll = open_collection(collection, "r+")
    t0 = time.perf_counter()
    if transform_new:
        name, placed = place_new_items(coll, method=method, exact=exact)
        how = "the saved model's transform" if exact else "stored arrays"
        click.echo(f"placed {len(placed)} new items on {name} from {how} without refitting "
                   f"({time.perf_counter() - t0:.1f} s)")
        p = coll.derived.get("clusters", {}).get("made_by", {}).get("params", {})
        if p.get("n_placed"):
            lab = coll.catalog["cluster"].to_numpy()[p["n_fitted"]:]
            click.echo(f"clusters: {len(lab)} placed items ({(lab < 0).sum()} noise) by "
                       "nearest-neighbour vote")
        return
    full = {"fit_sample": None} if exact and method == "umap" else {}
    name, xy = map_and_store(coll, method=method, embedding=embedding, seed=seed,
                             n_neighbors=n_neighbors, save_model=save_model, **full)
    model = coll.derived[name]["made_by"]["params"].get("model")
    saved = f"; fitted model saved as {model} and trusted" if model else ""
    click.echo(f"stored {name}: {len(xy)} points ({time.perf_counter() - t0:.1f} s){saved}")
    if cluster == "hdbscan":
        t1 = time.perf_counter()
        cname, labels = cluster_and_store(coll, embedding=embedding, space=space,
                                          map_method=method, min_cluster_size=min_cluster_size,
                                          **({"fit_sample": None} if exact else {}))
        n_cl = len(set(labels.tolist()) - {-1})
        click.echo(f"stored {cname}: {n_cl} clusters, {(labels < 0).sum()} noise points "
                   f"({time.perf_counter() - t1:.1f} s)")
