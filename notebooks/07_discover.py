# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Discover: self-supervised embeddings, maps, clusters and anomalies
#
# Labels are scarce, images are not. This notebook trains a small self-supervised encoder
# (BYOL) on a simulated radio survey without using its labels, embeds every item, draws a
# UMAP map with HDBSCAN clusters, labels a whole cluster at once in the label store, and ranks
# the most unusual items, with a ranking that adapts to what we mark as interesting.
# Everything here is the same code `workbench train-ssl / embed / map / anomalies` run.

# %%
import tempfile
import time
from pathlib import Path

import numpy as np

import workbench
from workbench.embed.warmup import warm_up
from workbench.sims.radio import simulate_radio

warm_up()  # compiles the numba kernels of UMAP/HDBSCAN in the background meanwhile

work = Path(tempfile.mkdtemp(prefix="wb-discover-"))
fractions = {"compact": 0.35, "FRI": 0.25, "FRII": 0.25, "bent": 0.13, "ring": 0.02}
simulate_radio(work / "survey", n=300, seed=7, size=48, infrared=False,
               class_fractions=fractions)
coll = workbench.open(work / "survey", "r+")
coll

# %% [markdown]
# ## Train an encoder in the background
# `TrainingJob` runs the one training function (`workbench.learn.train.train_ssl`) in a
# thread: the kernel and its widgets stay responsive; `job.progress` says where it is and
# `job.cancel()` would stop it after the current step with a resumable checkpoint. The
# encoder here is tiny so that the notebook runs in seconds on a laptop CPU.

# %%
from workbench.learn.train import TrainingJob

job = TrainingJob(coll, out=work / "encoder.safetensors", method="byol", epochs=2,
                  batch_size=64, size=32, encoder={"width": 8, "out_dim": 32}).start()
while job.running:
    time.sleep(1)
result = job.result()
print(f"{result.steps} steps in {result.seconds:.1f} s, encoder hash {result.hash[:12]}")
print("loss per epoch:", [round(h["loss"], 3) for h in result.history])

# %% [markdown]
# ## Embed every item
# The embeddings are stored beside the Collection as `embedding-<hash>`; running this again
# with the same checkpoint reuses them.

# %%
from workbench.learn.encode import embed_collection

emb = embed_collection(coll, work / "encoder.safetensors")
again = embed_collection(coll, work / "encoder.safetensors")
print(emb.name, emb.embeddings.shape, "reused the second time:", again.reused)

# %% [markdown]
# ## Map and cluster
# UMAP to 2-D, HDBSCAN clusters on the map, GLOSH outlier scores in the embedding space; all
# stored as derived columns with their parameters (see `coll.info()["derived"]`).

# %%
from workbench.embed.records import anomalies_and_store, cluster_and_store, map_and_store

map_and_store(coll, method="umap", n_neighbors=15)
_, labels = cluster_and_store(coll, min_cluster_size=15)
coll = workbench.open(coll.path, "r+")
cat = coll.catalog
print(sorted(coll.info()["derived"]))
cat.groupby("cluster")["truth"].agg(lambda s: s.value_counts().head(2).to_dict())

# %% [markdown]
# ## Explore
# The Explorer draws the map in the kernel (so it stays fast at a million points) and sends
# one image over the widget's comm. Hover for thumbnails, drag a box or lasso to fill the
# Gallery below, click a cluster on the right to select it.

# %%
from workbench import Explorer, open_store

store = open_store(coll)
ex = Explorer(coll, color_by="cluster", store=store, scheme="fr-morphology",
              default_answers={"confidence": "uncertain"}, width=520, height=400)
ex.panel()

# %% [markdown]
# ## Label a whole cluster at once
# The same action as the "label selection" button: one bulk annotation per item, marked as
# bulk in the store, with what selected them.

# %%
biggest = ex.clusters[0]["id"]
ex.select_cluster(biggest)
majority = cat.loc[cat["cluster"] == biggest, "truth"].mode()[0]
answer = majority if majority in ("FRI", "FRII") else "hybrid"
ids = ex.label_selection(answer)
ann = store.annotations()
print(len(ids), "annotations;", ann["source"].unique(), "bulk:", bool(ann["bulk"].all()))

# %% [markdown]
# ## More like this
# Nearest neighbours in embedding space of one item.

# %%
like = ex.more_like_this(coll.ids[0], k=8)
cat.set_index("id").loc[like, ["truth"]].T

# %% [markdown]
# ## The most unusual items, and a ranking that learns from feedback
# Anomaly scores are computed in the embedding space (GLOSH here; `iforest` and `knn` too).
# We then mark the top few as interesting or not (here from the simulator's truth, standing
# in for a person) and the personalised ranking moves similar items up or down.

# %%
from workbench.embed.anomaly import PersonalisedRanking, record_interest

_, scores = anomalies_and_store(coll, method="glosh")
top = np.argsort(-scores)[:20]
truth = cat["truth"].to_numpy()
print("top 20 by GLOSH:", dict(zip(*np.unique(truth[top], return_counts=True))))

ranking = PersonalisedRanking(emb.embeddings, scores)
marked = top[:5]
interesting = np.isin(truth[marked], ["ring", "bent"])
ranking.feedback(marked, interesting)
record_interest(store, np.asarray(coll.ids)[marked], interesting, method="glosh")
new_top = ranking.ranking()[:20]
print("top 20 after feedback:", dict(zip(*np.unique(truth[new_top], return_counts=True))))
