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
# # Strong-lens candidates: simulate, look at colour composites, score a ranking
#
# Lens searches in Euclid, Rubin and KiDS end with people grading candidates by eye, and lens
# finders are compared the way the Strong Gravitational Lens Finding Challenge (Metcalf et al.
# 2019) did: 101 x 101 pixel stamps, ranked by **AUROC**, **TPR0** (true-positive rate before
# the first false positive) and **TPR10** (before the tenth).
#
# Here we simulate a candidate set (the same as `workbench simulate lenses --n 200 --seed 3`),
# show it as Lupton et al. (2004) colour composites, and score a simple baseline: how much
# *blue* light sits in an annulus around a *red* galaxy.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import workbench
from workbench.imaging.composite import lupton_rgb
from workbench.imaging.stretch import stretch_image
from workbench.metrics import auroc, tpr0, tpr10
from workbench.sims.lenses import simulate_lenses

out = Path(tempfile.mkdtemp()) / "lenses"
simulate_lenses(out, 200, seed=3)
coll = workbench.open(out)
coll

# %% [markdown]
# Ground-based-like g, r, i stamps at 0.2"/px, in nanomaggies, bands stored blue first. The
# truth is in the catalog: `truth` (1 = lens), `truth_class` (lens, elliptical, spiral,
# merger, ring), the Einstein radius and the lens and source parameters.

# %%
cat = coll.catalog
print(coll.products["bands"])
cat["truth_class"].value_counts()

# %%
cat.loc[cat["truth"] == 1, ["id", "theta_e_arcsec", "lens_q", "shear_gamma1", "shear_gamma2",
                            "source_mag_r", "magnification", "source_snr"]].head()

# %% [markdown]
# ## Colour composites
# `lupton_rgb` maps i to red, r to green and g to blue with an asinh stretch of the total
# intensity, so the blue lensed arcs stand out against the red lens galaxies. Per-band
# scales balance the colours (g is boosted so the sky noise looks grey), and we show the
# central 12" of each 20" stamp. The ring galaxies (a red core in a blue star-forming ring)
# are the hardest look-alikes.

# %%
images = coll.read(np.arange(len(coll)))["bands"]
order = np.concatenate([np.flatnonzero(cat["truth_class"] == c)[:4]
                        for c in ("lens", "elliptical", "spiral", "merger", "ring")])
fig, axes = plt.subplots(4, 5, figsize=(11, 9))
for ax, k in zip(axes.T.ravel(), order):
    rgb = lupton_rgb(images[k, :, 20:81, 20:81], bands=["g", "r", "i"],
                     scales={"g": 2.0, "r": 1.4, "i": 1.0}, Q=8, stretch=0.05)
    ax.imshow(rgb, origin="lower")
    te = cat["theta_e_arcsec"].iloc[k]
    ax.set_title(cat["truth_class"].iloc[k] + (f"  θE={te:.1f}\"" if np.isfinite(te) else ""),
                 fontsize=9)
    ax.set_axis_off()
fig.tight_layout()

# %% [markdown]
# Single bands use the same stretches as every other view of the workbench
# (`stretch_image`: linear, sqrt, log, asinh with zscale or percentile limits).

# %%
k = order[0]
fig, axes = plt.subplots(1, 4, figsize=(11, 3))
for ax, s in zip(axes, ("linear", "sqrt", "log", "asinh")):
    ax.imshow(stretch_image(images[k, 0], stretch=s, limits="percentile", percentile=99.5),
              origin="lower", cmap="gray")
    ax.set_title(f"g band, {s}")
    ax.set_axis_off()

# %% [markdown]
# ## A baseline ranking: blue light around a red galaxy
# Scale the i band to the colour of the galaxy's core and subtract it from g: what is left
# is light bluer than the galaxy. Sum it in an annulus of 0.8"-3.5" (where Einstein radii
# lie), in units of the sky noise.

# %%
ny, nx = coll.products["bands"].shape
yy, xx = np.mgrid[:ny, :nx]
rr = np.hypot(xx - (nx - 1) / 2, yy - (ny - 1) / 2) * cat["pixscale_arcsec"].iloc[0]
core, annulus, sky = rr < 0.6, (rr > 0.8) & (rr < 3.5), rr > 7


def blue_arc_score(stamp):
    """Blue excess (g minus core-colour-scaled i) in the annulus, in sky-noise units."""
    g, _, i = stamp.astype(np.float64)
    resid = g - g[core].sum() / i[core].sum() * i
    bg = np.median(resid[sky])
    noise = 1.4826 * np.median(np.abs(resid[sky] - bg))
    return (resid[annulus] - bg).sum() / (noise * np.sqrt(annulus.sum()))


score = np.array([blue_arc_score(s) for s in images])
y = cat["truth"].to_numpy()
print(f"AUROC {auroc(y, score):.3f}   TPR0 {tpr0(y, score):.3f}   TPR10 {tpr10(y, score):.3f}")

# %% [markdown]
# The score separates lenses from ellipticals well; spirals, mergers and above all ring
# galaxies also carry blue light at those radii, which is why TPR0 is low: the top of the
# ranking is polluted by ring galaxies. That is what a learned classifier (and the graders)
# must do better.

# %% [markdown]
# The ROC curve with TPR0 and TPR10 marked on it (`workbench.plots.roc`; hover a point for its
# score threshold), beside the score of each class. Pass several rankings as a dict,
# `roc({"baseline": score, "CNN": other}, y)`, to overlay them.

# %%
import holoviews as hv

import workbench.plots as p

by_class = hv.BoxWhisker((cat["truth_class"].to_numpy(), score), "class", "blue-arc score")
p.roc({"blue-arc score": score}, y) + by_class.opts(title="score by class", width=420,
                                                     height=400)

# %% [markdown]
# The same metrics take any classifier's scores: `auroc(y_true, score)`, `tpr0(...)`,
# `tpr10(...)` from `workbench.metrics`; tied scores enter the ranking together.
