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
# # Active learning: label a few, retrain, let the model choose what to label next
#
# Real radio galaxies: MiraBest (FIRST images with Miraghaei & Best's FRI/FRII labels),
# read from `../shared/data/mirabest` when it is there; without it the notebook runs the
# same steps on a simulated survey. Three parts:
#
# 1. **Does active learning pay here?** An oracle simulation (the catalogue's labels play
#    the annotator) compares strategies with random sampling on the same splits over several
#    seeds: learning curves with 95% bands, and the labels each strategy needs to reach
#    random's final accuracy, with a bootstrap interval.
# 2. **The loop**: a labelling campaign in the label store, an annotator who labels what the
#    queue offers, and an `ActiveLoop` that retrains after each batch, measures the model on
#    a fixed held-out set and writes new priorities into the campaign.
# 3. **The advisor**: from the labels given so far, which strategy is ahead, with its
#    interval; it says so only when the interval supports it.

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import workbench
from workbench import Dashboard, open_store, plots
from workbench.active.loop import ActiveLoop
from workbench.active.oracle import simulate_strategies
from workbench.active.realdata import (
    SSL_CONFIG,
    cached_ssl_embedding,
    default_cache_dir,
    mirabest_classes,
    mirabest_collection,
)
from workbench.core.schemes import register_scheme

work = Path(tempfile.mkdtemp(prefix="wb-08-"))
MIRABEST = next((p for p in (Path("../../shared/data/mirabest"), Path("../shared/data/mirabest"))
                 if (p / "catalog.csv").exists()), None)
print("data:", MIRABEST.resolve() if MIRABEST else "simulated survey (MiraBest is absent)")

# %% [markdown]
# ## The data and its self-supervised features
# MiraBest is ingested into a Collection (here a temporary folder), and a small SimCLR
# encoder is trained on **all 1,255 images without their labels**; its 128-d embeddings are
# the features of everything below. The embedding is cached under a hash of the data and
# the training settings (`$WORKBENCH_HOME/cache/active`, else `~/.cache/workbench/active`),
# so only the first run trains. This notebook trains for 8 epochs (about a minute or two
# on two CPU cores); `benchmarks/bench_learn.py --al` uses 20 (`SSL_CONFIG`). We keep the
# confident FRI (codes 100/102/104) and FRII (200/201): 832 sources.

# %%
if MIRABEST is not None:
    coll = workbench.open(mirabest_collection(MIRABEST, cache_dir=work).path, "r+")
    emb, info = cached_ssl_embedding(coll, default_cache_dir(), store=True,
                                     config={**SSL_CONFIG, "epochs": 8})
    print(f"SSL embedding {emb.shape}, {'from the cache' if info['cached'] else 'trained'} "
          f"(training took {info['train_seconds']} s)")
    cls = mirabest_classes(coll.catalog["label_code"].to_numpy())
    keep = np.array([c is not None for c in cls])
    truth = pd.Series(cls[keep], index=np.asarray(coll.ids)[keep])
    classes = ["FRI", "FRII"]
    features = emb[keep]
else:
    from workbench.learn.pool_features import features_for, pca_reduce
    from workbench.sims.radio import simulate_radio

    classes = ["compact", "FRI", "FRII", "bent"]
    simulate_radio(work / "survey", n=400, seed=8, size=64, infrared=False,
                   class_fractions={"compact": 0.4, "FRI": 0.2, "FRII": 0.25, "bent": 0.15})
    coll = workbench.open(work / "survey", "r+")
    truth = coll.catalog.set_index("id")["truth"]
    features = pca_reduce(features_for(coll, source="pixels:radio:16"), n_components=32)
coll = workbench.open(coll.path, "r+")  # the loop records its rounds beside the data
truth.value_counts()

# %% [markdown]
# ## 1. Does active learning pay on this data?
# Each seed splits the items into a pool and a test set (30%); every strategy starts from
# the same 10 random labels and asks for 15 more per round, up to 160; after each round a
# small MLP head is retrained and scored on the test set. *Margin* labels the items the
# model is least sure of; *BALD* those on which Monte-Carlo dropout samples of the model
# disagree. Bands: 95% bootstrap intervals of the mean over seeds.

# %%
sim = simulate_strategies(features, truth.to_numpy(), strategies=["random", "margin", "bald"],
                          seeds=4, budget=160, step=15, head="mlp")
plots.learning_curve(sim)  # interactive (HoloViews); plot_learning_curves(sim) gives a PNG

# %% [markdown]
# The saving table: labels each strategy needed to reach random's final accuracy,
# the saving (share of random's labels) with its 95% interval (bootstrap over the seeds,
# the same resample for both strategies), and the *area* between the curves (the mean
# accuracy gained over the whole curve, which does not hinge on one noisy end point). With
# four seeds the intervals are wide; the benchmark runs ten.

# %%
ln = sim["labels_needed"]
print(f"target: random's final accuracy {ln['target_accuracy']:.3f}, reached by random "
      f"at {ln['baseline_labels']} labels")
pd.DataFrame(ln["table"]).T[["labels", "saving", "saving_ci", "area", "area_ci",
                             "final_accuracy"]]

# %% [markdown]
# ## 2. The loop on a labelling campaign
# A small scheme (one question: the morphology) and a campaign over every source, ordered
# by priority. To see what each round's labels buy, 300 random sources are labelled first
# and kept aside as a **fixed held-out set** (`holdout_ids`): every round's model is
# measured on those same sources and never trained on them.

# %%
scheme = register_scheme({
    "name": "morphology-demo", "version": 1, "title": "Radio morphology",
    "kinds": ["radio"], "class_question": "morphology",
    "questions": [{"id": "morphology", "type": "choice", "text": "Which morphology?",
                   "answers": [{"value": c, "label": c, "key": str(k + 1)}
                               for k, c in enumerate(classes)]}]})
store = open_store(coll)
campaign = store.create_campaign("al-demo", scheme, truth.index, retire=1, order="priority",
                                 seed=0)
rng = np.random.default_rng(0)
held_out = list(rng.choice(truth.index.to_numpy(), size=min(300, len(truth) // 3),
                           replace=False))
for item_id in held_out:
    campaign.annotate(item_id, {"morphology": truth[item_id]}, annotator="oracle")


def label(n, annotator="oracle"):
    """Label the next ``n`` items the campaign hands out, as a person would."""
    done = []
    for _ in range(n):
        item_id = campaign.next_item(annotator)
        if item_id is None:
            break
        campaign.annotate(item_id, {"morphology": truth[item_id]}, annotator=annotator)
        done.append(item_id)
    return done


first = label(20)
print(f"{len(held_out)} held-out labels, {len(first)} training labels; campaign: "
      f"{campaign.status()['n_retired']} retired of {campaign.status()['n_items']}")

# %% [markdown]
# ### Round 1: retrain in the background
# `start_round` runs the round in a thread and returns at once; `job.progress` holds the
# latest epoch record (the Dashboard draws it as a progress bar) and `job.cancel()` would
# stop it, leaving the previous round in use. The model is an MLP head on the stored SSL
# embeddings (`source="auto"` finds them).

# %%
loop = ActiveLoop(coll, campaign="al-demo", store=store, strategy="margin", queue_size=80,
                  epochs=60, random_fraction=0.1, holdout_ids=held_out, seed=0)
job = loop.start_round()
r1 = job.result(timeout=600)
print(f"round {r1.round}: trained on {r1.n_train}, held-out accuracy "
      f"{r1.metrics['accuracy']:.3f} on {r1.n_holdout}")

# %% [markdown]
# The round scored every unlabelled source (margin: the gap between the two most likely
# classes; a small gap = most useful) and wrote the scores into the campaign as
# priorities, with the round and strategy that chose them; its own record says why each
# item is queued and what the model thinks it is (10% of the picks are random, to keep the
# labels unbiased).

# %%
r1.queue.head(8)

# %% [markdown]
# ### More rounds: label what the queue offers, retrain
# Each round labels the top of the queue and retrains; batches grow (20, 40, 80 labels), as
# they would while a person gains confidence in the queue.

# %%
for n in [20, 40, 80]:
    got = label(n)
    rec = loop.run_round()
    print(f"labelled {len(got)} more; round {rec.round}: {rec.n_train} training labels, "
          f"held-out accuracy {rec.metrics['accuracy']:.3f} on the same "
          f"{rec.n_holdout} sources")
curve = loop.history()
curve

# %%
plots.learning_curve(loop) + plots.confusion(loop)

# %%
campaign.status()["rounds"]  # round -> items whose priority it set

# %% [markdown]
# ## 3. Which strategy is ahead on *these* labels?
# `loop.advice()` runs the oracle simulation on the sources labelled so far (their labels as
# the annotator) and states which strategy is ahead of random and by how much, with the
# interval. It names a strategy only when the whole 95% interval of its saving is above 0;
# otherwise it says that no strategy is clearly ahead. The advice is saved with the
# current round (derived file `al-round-000k-advice`).

# %%
advice = loop.advice(seeds=5)
print(advice["message"])

# %% [markdown]
# ## The dashboard
# The learning curve over rounds, per-class metrics of the current round with the strategy
# advisor's latest advice, the queue with thumbnails and reasons, and the model's mistakes
# on the held-out labels. "Retrain now"
# starts a round in the background (progress bar, cancel). Every round is recorded in the
# Collection's derived data (`al-round-000k-*`: checkpoint, labels used, metrics, queue,
# advice; listed by `workbench info`), so
# `loop.rollback(k)` makes an earlier round current again.

# %%
dash = Dashboard(loop)
dash

# %%
state = dash.state
print("held-out accuracy by round:", state["curve"]["accuracy"].round(3).tolist())
print("advice:", loop.latest_advice()["message"])
pd.DataFrame(state["mistakes"]).head()
