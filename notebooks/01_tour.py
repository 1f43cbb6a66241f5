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
# # A tour of a Collection
#
# A **Collection** is one survey on disk: a catalog (one row per item, Parquet) and image
# products (chunked Zarr, float32, items x channels x ny x nx). This notebook opens the
# sample radio survey that the set-up generated (`data/sample/radio`, made by
# `workbench simulate radio`), browses its catalog and shows a few items.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import workbench
from workbench.sample_data import make_samples

sample = Path("../data/sample")
make_samples(sample, only=["radio"])  # does nothing when the set-up already made it
coll = workbench.open(sample / "radio")
coll

# %% [markdown]
# ## Brush the catalogue
# Two catalogue columns against each other with their marginal histograms, beside the items
# on the sky (`workbench.plots`, interactive Bokeh charts). Box-select (the default drag) or
# lasso a group of sources in either plot: both plots ring them, the histograms show their
# share in dark blue, and the Gallery below shows exactly those items. All through one
# `Selection`, a small observable of item ids that every view is given.

# %%
import workbench.plots as p
from workbench import Gallery

sel = p.Selection()
p.catalog(coll, "flux_jy", "size_arcsec", by="truth", selection=sel, logx=True) + \
    p.sky(coll, color_by="truth", selection=sel)

# %%
gallery = Gallery(coll, selection=sel, sort_by="flux_jy", ascending=False, page_size=20,
                  n_cols=10)
sel.set(coll.select("truth == 'FRII' and flux_jy > flux_jy.median()").ids)  # or brush above
gallery

# %% [markdown]
# ## The catalog
# Every item has an `id`, a `kind`, its sky position (`ra`, `dec`, degrees) and pixel scale,
# where it came from, and any other columns: here the simulator's ground truth.

# %%
cat = coll.catalog
print(len(coll), "items;", "products:", {k: v.full_shape for k, v in coll.products.items()})
cat.head()

# %%
cat["truth"].value_counts()

# %% [markdown]
# ## Items
# `coll[i]` (or `coll["some-id"]`) gives an item: `.images` (product -> array), `.meta`
# (its catalog row) and `.axes` (the physical coordinates of each pixel grid: here the
# sky, from each item's WCS).

# %%
item = coll[0]
print(item)
print("centre RA/Dec:", item.axes["radio"]["ra"][64, 64], item.axes["radio"]["dec"][64, 64])
print("pixel scale:", item.axes["radio"]["pixscale_arcsec"], "arcsec")

# %% [markdown]
# ## One example of each class
# Radio maps are shown with an asinh stretch between the 1st and 99.5th percentiles;
# the contours are at 3, 6, 12, ... times the noise rms.

# %%
classes = sorted(cat["truth"].unique())
fig, axes = plt.subplots(1, len(classes), figsize=(2.6 * len(classes), 2.8))
for ax, cls in zip(axes, classes):
    it = coll.select(f"truth == '{cls}'")[0]
    img = it.images["radio"]
    lo, hi = np.nanpercentile(img, [1, 99.5])
    ax.imshow(np.arcsinh((img - lo) / (hi - lo) * 10), origin="lower", cmap="inferno")
    rms = 1.4826 * np.nanmedian(np.abs(img - np.nanmedian(img)))
    ax.contour(img, levels=rms * 3 * 2.0 ** np.arange(6), colors="cyan", linewidths=0.5)
    ax.set_title(cls)
    ax.set_axis_off()
plt.tight_layout()

# %% [markdown]
# ## Selections and batches
# `select` takes a query on the catalog (the small language in the README) and gives a view
# with the same interface.
# `batches` reads blocks of items for fast processing.

# %%
bright = coll.select("flux_jy > flux_jy.median()")
print(len(bright), "bright items of", len(coll))
peaks = np.concatenate([np.nanmax(b.images["radio"], axis=(1, 2, 3)) for b in coll.batches(64)])
print("peak brightness (Jy/beam): median", np.median(peaks), "max", peaks.max())

# %% [markdown]
# `workbench info data/sample/radio --json` prints the same summary as `coll.info()`:

# %%
info = coll.info()
{k: info[k] for k in ("n_items", "kinds", "products", "derived")}
