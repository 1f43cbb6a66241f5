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
# A labelling campaign in the label store, an annotator who labels what the queue offers,
# and an `ActiveLoop` that, after each batch of labels, retrains a classifier in the
# background, evaluates it on a held-out part of the labels, scores every unlabelled item
# and writes new priorities into the campaign, so the Labeler shows the most useful
# items next. Each queued item records the round and the acquisition strategy that chose it.
#
# The survey is simulated, so the annotator here is an *oracle* that answers with the
# simulator's ground truth (the `truth` column). In real use a person answers in the
# Labeler widget; everything else is the same code (`workbench al round` runs one round
# from the command line).

# %%
import tempfile
import time
from pathlib import Path

import pandas as pd

import workbench
from workbench.active.loop import ActiveLoop
from workbench.core.schemes import register_scheme
from workbench.io.labels import open_store
from workbench.sims.radio import simulate_radio
from workbench.widgets.dashboard import Dashboard

work = Path(tempfile.mkdtemp(prefix="wb-08-"))
fractions = {"compact": 0.4, "FRI": 0.2, "FRII": 0.25, "bent": 0.15}
simulate_radio(work / "survey", n=240, seed=8, size=64, infrared=False,
               class_fractions=fractions)
coll = workbench.open(work / "survey", "r+")
coll

# %% [markdown]
# ## A campaign in the label store
# A small scheme of our own (one question: the source's morphology) and a campaign over
# every item, ordered by priority: items without a priority come in a seeded random order,
# which is what the first annotations use.

# %%
scheme = register_scheme({
    "name": "morphology-demo", "version": 1, "title": "Radio morphology",
    "kinds": ["radio"], "class_question": "morphology",
    "questions": [{"id": "morphology", "type": "choice", "text": "Which morphology?",
                   "answers": [{"value": c, "label": c, "key": str(k + 1)}
                               for k, c in enumerate(fractions)]}]})
store = open_store(coll)
campaign = store.create_campaign("al-demo", scheme, coll.ids, retire=1, order="priority",
                                 seed=0)
truth = coll.catalog.set_index("id")["truth"]


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


first = label(30)
print(f"labelled {len(first)} items; campaign: {campaign.status()['n_retired']} retired of "
      f"{campaign.status()['n_items']}")
campaign.consensus().head()

# %% [markdown]
# ## Round 1: retrain in the background
# `start_round` runs the round in a thread and returns at once; `job.progress` holds the
# latest epoch record (the Dashboard below draws it as a progress bar) and `job.cancel()`
# would stop it, leaving the previous round in use. The model is a small MLP on the pixels
# (16 x 16, standardised); with stored SSL embeddings (`workbench embed`) it would use
# those instead.

# %%
loop = ActiveLoop(coll, campaign="al-demo", store=store, strategy="margin", queue_size=20,
                  epochs=60, random_fraction=0.1, seed=0)
job = loop.start_round()
seen = set()
while not job.done:
    rec = job.progress
    if rec and rec["epoch"] % 20 == 0 and rec["epoch"] not in seen:
        seen.add(rec["epoch"])
        print(f"epoch {rec['epoch']}/{rec['epochs']}  loss {rec['loss']:.3f}")
    time.sleep(0.05)
r1 = job.result()
print(f"round {r1['round']}: trained on {r1['n_train']}, held-out accuracy "
      f"{r1['metrics']['accuracy']:.3f} on {r1['n_holdout']}")

# %% [markdown]
# ## The queue changes
# The round scored every unlabelled item (margin: the gap between the two most likely
# classes; small gap = most useful) and wrote the scores into the campaign as priorities,
# with the round and strategy that chose them. The next items the Labeler hands out are
# now the model's choice, not the random order.

# %%
def queue_view(n=8):
    items = campaign.items()
    items = items[~items["retired"]].sort_values("priority", ascending=False)
    return items[["item_id", "priority", "round", "strategy"]].head(n)


queue_view()

# %% [markdown]
# The round's own record of the queue says why each item is there and what the model
# currently thinks it is (10% of the picks are random, to keep the labels unbiased).

# %%
r1["queue"].head(8)

# %% [markdown]
# ## More rounds: label what the queue offers, retrain
# Each round labels the top of the queue, retrains and re-queues. We switch strategy in the
# last round (BALD: Monte-Carlo dropout disagreement) to show that the campaign records it.

# %%
queues = {1: set(r1["queue"]["id"])}
for strategy in ["margin", "margin", "bald"]:
    got = label(20)
    sources = store.annotations(campaign="al-demo").tail(len(got))["source"].value_counts()
    rec = loop.run_round(strategy=strategy)
    queues[rec["round"]] = set(rec["queue"]["id"])
    print(f"labelled {len(got)} ({dict(sources)}), round {rec['round']} ({strategy}): "
          f"{rec['n_train']} training labels, held-out accuracy "
          f"{rec['metrics']['accuracy']:.3f}")

last = loop.current_round()
overlap = len(queues[last] & queues[last - 1])
print(f"queue of round {last} shares {overlap} of {len(queues[last])} items with round "
      f"{last - 1}'s")
queue_view()

# %%
campaign.status()["rounds"]  # round -> items whose priority it set

# %% [markdown]
# ## Learning curve and the dashboard
# Every round is recorded under `<collection>/rounds/` (checkpoint, labels used, metrics,
# queue), so `loop.rollback(k)` makes an earlier round current again.

# %% [markdown]
# The held-out labels are a stable hash-chosen part of what was labelled, and the loop
# labels the *hard* items, so the held-out set gets harder round by round. Because this
# survey is simulated we can also score each round's model on every item against the
# truth (`predict_collection` with the round's checkpoint); `workbench al simulate`
# compares strategies with random this way over several seeds.

# %%
from workbench.learn.infer import predict_collection

curve = loop.history()
survey_acc = []
for k in curve["round"]:
    pred = predict_collection(coll, loop.round_dir(k) / "model.safetensors", write=False)
    survey_acc.append(float((pred["pred_label"].to_numpy() == truth[pred["id"]].to_numpy())
                            .mean()))
curve["survey_accuracy"] = survey_acc
curve

# %%
ax = curve.plot(x="n_train", y=["accuracy", "survey_accuracy"], marker="o",
                title="accuracy vs training labels")
ax.set_xlabel("training labels");

# %% [markdown]
# The Dashboard shows the same curve, per-class metrics of the current round, the queue
# with thumbnails and reasons, and the model's mistakes on the held-out labels. Its
# "Retrain now" button starts a round in the background (progress bar, cancel).

# %%
dash = Dashboard(loop)
dash

# %%
state = dash.state
pd.DataFrame(state["mistakes"]).head()
