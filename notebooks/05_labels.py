# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Labels that last: schemes, campaigns, consensus, export
#
# We simulate a small radio survey, find the radio **components** people click, run a
# labelling **campaign** in which three simulated annotators of different skill label every
# item until it retires, compute **consensus** (majority vote, and Dawid-Skene, which weighs
# annotators by their measured skill), and **export** the labels with sky positions.
# Every annotation goes to a SQLite label store beside the Collection the moment it is made.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import workbench
from workbench import open_store
from workbench.core.schemes import get_scheme, list_schemes
from workbench.io.components import compute_components
from workbench.labeling.consensus import campaign_consensus
from workbench.labeling.export import export_labels
from workbench.sims.radio import simulate_radio

work = Path(tempfile.mkdtemp(prefix="wb-labels-"))
coll = simulate_radio(work / "survey", n=60, seed=5, size=64, infrared=False)
coll

# %% [markdown]
# ## Label schemes
# A scheme is a versioned question tree, shipped as data. Each answer has a keyboard key;
# answers can lead to follow-up questions.

# %%
for s in list_schemes():
    print(f"{s.name:14s} v{s.version}  classes: {s.classes}")
scheme = get_scheme("caesar-mrcnn")
[(a.key, a.value, a.label) for a in scheme.question(scheme.first).answers]

# %% [markdown]
# ## Components
# The islands above the lowest contour (here 4 x the robust noise, ignoring islands of
# fewer than 5 pixels), computed once and stored with the Collection, so that component
# ids mean the same thing to every annotator.

# %%
compute_components(coll, nsigma=4.0, min_npix=5)
coll = workbench.open(work / "survey")
maps = coll.derived_array("components")
cat = coll.catalog
fig, axs = plt.subplots(1, 4, figsize=(12, 3))
for ax, i in zip(axs, cat.index[cat["truth"].isin(["FRII", "multi", "bent", "compact"])][:4]):
    ax.imshow(coll[int(i)].images["radio"], origin="lower", cmap="gray_r")
    ax.contour(maps[i], levels=np.arange(0.5, np.nanmax(maps[i]) + 1), cmap="tab10")
    ax.set_title(f"{cat.loc[i, 'truth']}: {int(cat.loc[i, 'n_components'])} comp.")
    ax.set_axis_off()

# %% [markdown]
# ## A campaign with three annotators
# The simulator's classes map onto the caesar-mrcnn classes. Our annotators: an expert who is
# right 95% of the time, a volunteer (75%), and a careless one who answers "compact" half of
# the time. Each asks the campaign for the next item they have not seen; an item retires after
# 3 annotations.

# %%
truth_map = {"compact": "compact", "FRI": "extended", "FRII": "extended", "bent": "extended",
             "ring": "extended", "multi": "extended-multisland", "artefact": "spurious"}
truth = dict(zip(cat["id"], cat["truth"].map(truth_map)))
store = open_store(coll)
camp = store.create_campaign("classes", "caesar-mrcnn", coll.ids, retire=3, seed=0)
rng = np.random.default_rng(0)
classes = scheme.classes


def answer(who, item):
    t = truth[item]
    if who == "expert":
        ok = rng.random() < 0.95
    elif who == "volunteer":
        ok = rng.random() < 0.75
    else:
        return "compact" if rng.random() < 0.5 else rng.choice(classes)
    return t if ok else rng.choice([c for c in classes if c != t])


annotators = ["expert", "volunteer", "careless"]
active = set(annotators)
while active:
    for who in annotators:
        if who not in active:
            continue
        item = camp.next_item(who)
        if item is None:
            active.discard(who)
            continue
        camp.annotate(item, {"class": str(answer(who, item))}, annotator=who)
camp.status()

# %% [markdown]
# ## Consensus
# Majority vote per item, with the agreement fraction; then Dawid-Skene, with ten items of
# known class ("gold") to measure each annotator's skill. With only 60 items, the full
# Dawid-Skene model (a 5x5 confusion matrix per annotator) has too many parameters; the
# "one-coin" variant (one accuracy per annotator) learns who to trust from the same data.

# %%
maj = campaign_consensus(camp, "majority")
gold = {i: truth[i] for i in coll.ids[:10]}
ds_full = campaign_consensus(camp, "dawid-skene", gold=gold)
ds = campaign_consensus(camp, "dawid-skene", gold=gold, model="one-coin")


def accuracy(df):
    return float(np.mean([truth[i] == lab for i, lab in zip(df["item_id"], df["label"])]))


print(f"majority:               {accuracy(maj):.2f}")
print(f"Dawid-Skene (full):     {accuracy(ds_full):.2f}")
print(f"Dawid-Skene (one-coin): {accuracy(ds):.2f}")
pd.DataFrame({"skill (DS)": ds.attrs["skill"], "accuracy on gold": ds.attrs["gold_accuracy"]})

# %%
maj[["item_id", "label", "agreement", "n_annotations"]].head()

# %% [markdown]
# ## Source identification (Radio Galaxy Zoo)
# For `multi` items, annotators group components into sources and click the host. The RGZ
# consensus picks the winning grouping and the peak of the host clicks.

# %%
multi = list(cat.loc[(cat["truth"] == "multi") & (cat["n_components"] >= 2), "id"])[:4]
rgz = store.create_campaign("sources", "rgz", multi, retire=3)
for item in multi:
    row = cat.set_index("id").loc[item]
    comps = list(range(1, int(row["n_components"]) + 1))
    for who in annotators:
        grouping = [comps] if who != "careless" else [[c] for c in comps]
        host = {"x": float(row["host_x"] + rng.normal(0, 1)),
                "y": float(row["host_y"] + rng.normal(0, 1))}
        srcs = [{"components": g, "host": host if k == 0 else None, "morphology": "other"}
                for k, g in enumerate(grouping)]
        rgz.annotate(item, {"sources": srcs}, annotator=who)
campaign_consensus(rgz)[["item_id", "components", "consensus_level", "host_x", "host_y"]]

# %% [markdown]
# ## Export
# Consensus and raw annotations with the items' sky positions, as Parquet, FITS or VOTable;
# the RGZ sources as a DS9 region file.

# %%
for name, kw in [("classes.parquet", {}), ("classes_raw.fits", {"raw": True}),
                 ("classes.vot", {"method": "dawid-skene", "model": "one-coin"})]:
    print(export_labels(store, "classes", work / name, collection=coll, **kw)["rows"], name)
print(export_labels(store, "sources", work / "sources.reg", collection=coll))
print((work / "sources.reg").read_text().splitlines()[3])
pd.read_parquet(work / "classes.parquet").head()
