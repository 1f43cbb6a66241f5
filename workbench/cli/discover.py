"""``workbench train-ssl``, ``embed``, ``map``, ``anomalies``: self-supervised discovery.

The commands call the same functions a notebook does (:mod:`workbench.learn.train`,
:mod:`workbench.learn.embed`, :mod:`workbench.embed`); heavy imports stay inside them.
"""

from __future__ import annotations

import time

import click

from workbench.cli._common import dask_client, dask_options

__all__ = ["train_ssl", "embed", "map_", "anomalies"]


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
    from workbench.learn.train import train_ssl as run

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
        res = run(coll, out=out, method=method, epochs=epochs, batch_size=batch_size, size=size,
                  product=product, lr=lr, seed=seed, device=device, resume=resume,
                  crop=None if crop >= 1 else crop, stretch=stretch,
                  encoder={"width": width, "out_dim": out_dim}, progress=progress,
                  cancel=cancel)
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
    from workbench.learn.embed import embed_collection

    with dask_client(scheduler, workers) as client:
        res = embed_collection(collection, checkpoint, batch_size=batch_size, device=device,
                               force=force, client=client)
    what = "reused" if res.reused else "stored"
    click.echo(f"{what} {res.name}: {res.embeddings.shape[0]} x {res.embeddings.shape[1]} "
               f"({res.seconds:.1f} s)")


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
    from workbench.embed.store import cluster_and_store, map_and_store, place_new_items
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
