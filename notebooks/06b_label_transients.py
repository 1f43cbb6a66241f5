# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Label single-pulse candidates
#
# Each candidate is shown as its DM-time bow-tie and its dedispersed frequency-time image,
# side by side with physical axes (DM in pc cm^-3, time in s, frequency in MHz), and the
# search's S/N, DM and width. One key per candidate: **1** pulsar, **2** FRB,
# **3** broadband RFI, **4** narrow-band RFI, **5** noise, **6** unsure.

# %%
import pathlib
import tempfile

import workbench
from workbench import Gallery, Labeler, open_store
from workbench.sims.transients import simulate_transients
from workbench.widgets import TransientView

work = pathlib.Path(tempfile.mkdtemp(prefix="wb-06b-"))
simulate_transients(work / "cands", n=16, seed=2)
coll = workbench.open(work / "cands")
store = open_store(coll)
coll.catalog[["id", "snr", "dm", "truth"]].head()

# %%
TransientView(coll, 0)

# %%
Gallery(coll, sort_by="snr", ascending=False, page_size=16, n_cols=8)

# %% [markdown]
# Label the brightest candidates (a selection instead of a campaign). Without a campaign
# the Labeler shows every catalog column except those that give the answer away (truths,
# labels, predictions, scores, simulator parameters such as `true_dm`); `show=[...]`
# chooses the columns explicitly.

# %%
bright = list(coll.catalog.sort_values("snr", ascending=False)["id"][:8])
labeler = Labeler(coll, scheme="transient", store=store, items=bright, annotator="you")
labeler

# %%
sorted(labeler.state["meta"])  # no truth, true_dm, injected_snr, ...

# %% [markdown]
# Scripted keys (what pressing them does): answer with the simulator's truth where it is a
# class of the scheme, otherwise "unsure".

# %%
keys = {a.value: a.key for a in labeler.scheme.question("class").answers}
truth = coll.catalog.set_index("id")["truth"]
same = {"rfi_narrowband": "narrowband_rfi", "rfi_broadband": "broadband_rfi"}
for _ in range(4):
    t = str(truth[labeler.item_id])
    labeler.handle_key(keys.get(same.get(t, t), keys["unsure"]))
store.annotations(annotator="you")[["item_id", "answers", "started", "ended"]]
