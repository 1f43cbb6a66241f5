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
# # Transient candidates: from a filterbank to DM-time and frequency-time images
#
# Every single-pulse search ends with the same diagnostic: the candidates as points in
# arrival time against DM, sized by S/N. We start there, with the sample survey the set-up
# made (`data/sample/transients`): box-select a group of candidates (or tap one) and the
# Gallery below shows exactly those; click a thumbnail and the plot rings it. Above 50,000
# candidates the overview is binned into an image in the kernel, so a million stay
# interactive. Then we simulate a small SIGPROC filterbank with injected FRBs, a pulsar,
# RFI and noise candidates, turn its candidate list into a Collection of images, and look at
# a DM-time image (trial DM in pc cm^-3 against time in s) next to the frequency-time image
# dedispersed at the candidate DM (MHz against s).

# %%
import workbench
import workbench.plots as p
from workbench import Gallery
from workbench.sample_data import make_samples

make_samples("../data/sample", only=["transients"])  # does nothing when the set-up made it
survey = workbench.open("../data/sample/transients")
sel = p.Selection()
p.candidates(survey, color_by="truth", selection=sel)

# %%
gallery = Gallery(survey, selection=sel, sort_by="snr", ascending=False, page_size=24,
                  n_cols=8)
sel.set(survey.select("truth == 'frb' and snr > 15").ids)  # or box-select in the plot
gallery

# %% [markdown]
# The selection is one object shared by every view that is given it (`sel.ids`, `sel.focus`);
# a Labeler takes it as its items: `Labeler(survey, scheme="transient", items=sel)`.

# %%
print(len(sel), "selected:", sel.ids[:5])

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from workbench.sims.transients import simulate_transients

out = Path(tempfile.mkdtemp()) / "transients"
report = simulate_transients(out, 6, seed=3)
coll = workbench.open(out)
coll.catalog[["id", "truth", "time_s", "dm", "width_s", "snr", "padded"]]

# %% [markdown]
# The inputs are ordinary files: `sources/transients.fil` (8-bit SIGPROC) and
# `sources/candidates.csv`. The same images come from
# `workbench ingest filterbank FILE.fil --candidates cands.csv -o OUT`.

# %%
def show(item, ax_dm, ax_ft):
    d, f = item.axes["dm_time"], item.axes["freq_time"]
    ax_dm.imshow(item.images["dm_time"], origin="lower", aspect="auto", cmap="viridis",
                 extent=[d["time"][0], d["time"][-1], d["dm"][0], d["dm"][-1]])
    ax_dm.set(xlabel="time (s)", ylabel="DM (pc cm$^{-3}$)",
              title=f"{item.meta['truth']}: DM-time")
    ax_ft.imshow(item.images["freq_time"], origin="lower", aspect="auto", cmap="magma",
                 extent=[f["time"][0], f["time"][-1], f["freq"][0], f["freq"][-1]])
    ax_ft.set(xlabel="time (s)", ylabel="frequency (MHz)",
              title=f"freq-time at DM {item.meta['dm']:.1f}")


cat = coll.catalog
picks = [int(np.flatnonzero(cat["truth"] == t)[0]) for t in cat["truth"].unique()][:3]
fig, axes = plt.subplots(len(picks), 2, figsize=(10, 3.2 * len(picks)), squeeze=False)
for row, i in zip(axes, picks):
    show(coll[i], *row)
fig.tight_layout()
