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
# # Label radio sources, Radio Galaxy Zoo style
#
# The Labeler shows each radio cutout as radio astronomers look at it: the radio contours
# (3σ × 2^k) over the infrared image, the restoring beam (lower left), a scale bar and
# RA/Dec under the pointer. For each source you **click its components** (the contour
# islands), press **Enter**, **click its host galaxy** (or **n** for no host) and give its
# morphology (**1**–**5**). Press **Enter** again when the image is done, **0** if it shows
# no contours at all. **s** skips, **u**/Backspace undoes, ←/→ move between items.
#
# Every completed source is written to the label store at once; close the widget and
# build it again and it shows the same state.
#
# Labeling is blind: beside the images the Labeler shows only the columns the campaign
# lists (`show_columns`; by default the id and RA/Dec), never the simulator's `truth` or
# its host position. Here the campaign opts in the S/N.

# %%
import pathlib
import tempfile

from workbench import Gallery, Labeler, open_store
from workbench.io.components import component_table, compute_components
from workbench.sims.radio import simulate_radio
from workbench.widgets import RadioView, render

work = pathlib.Path(tempfile.mkdtemp(prefix="wb-06a-"))
coll = simulate_radio(work / "radio", n=24, seed=6, size=96)
compute_components(coll)  # the component ids every annotator refers to
store = open_store(coll)
store.create_campaign("rgz-demo", "rgz", coll.ids, retire=1, show_columns=["snr"])
coll

# %% [markdown]
# One item on its own: change the stretch, limits, colour map, or hide the infrared image.

# %%
RadioView(coll, 0)

# %% [markdown]
# The whole survey as thumbnails, brightest first (click one to open it, shift-click to
# select; `gallery.selected` holds the ids).

# %%
gallery = Gallery(coll, store=store, sort_by="snr", ascending=False, page_size=24, thumb=64,
                  n_cols=8)
gallery

# %% [markdown]
# The Labeler takes its items from the campaign (the next item for this annotator).
# Click on it and use the keys shown under the image.

# %%
labeler = Labeler(coll, scheme="rgz", store=store, campaign="rgz-demo", annotator="you")
labeler

# %% [markdown]
# What the annotator is shown besides the image (the truth stays in the catalog):

# %%
labeler.state["meta"]

# %% [markdown]
# What a person's clicks and keys do, scripted here so the notebook runs on its own: for
# the item shown, select every component, press Enter, click the simulator's true host
# position and call it an FR II, then finish the item.

# %%
item_id = labeler.item_id
comps = component_table(coll, item_id)
shape = coll.products["radio"].shape
for row in comps.itertuples():
    labeler.handle_click(*render.array_to_display(row.y_peak, row.x_peak, shape))
labeler.handle_key("Enter")
meta = coll[item_id].meta
if meta["has_ir_host"]:
    labeler.handle_click(*render.array_to_display(meta["host_y"], meta["host_x"], shape))
else:
    labeler.handle_key("n")
labeler.handle_key("3")
labeler.handle_key("Enter")
store.annotations(campaign="rgz-demo")[["id", "item_id", "annotator", "answers"]]

# %% [markdown]
# The next image has no source worth marking: **0** says "no contours". Then **u** undoes
# it, which is a retraction record (nothing is deleted).

# %%
labeler.handle_key("0")
labeler.handle_key("u")
store.annotations(campaign="rgz-demo", include_retracted=True)[
    ["id", "item_id", "answers", "retracted"]]

# %% [markdown]
# A new Labeler (after a kernel restart, say) starts where the store says you are.

# %%
again = Labeler(coll, scheme="rgz", store=open_store(coll), campaign="rgz-demo",
                annotator="you")
print(again.state["progress"], again.item_id)

# %% [markdown]
# The widget is a thin view over `workbench.labeling.Session`, the labeling logic that the
# campaign server's labeling page uses too: the same keys, clicks, drafts and undo, no
# widget needed. A colleague's session gets the next item of the campaign:

# %%
from workbench import Session

colleague = Session(coll, store, campaign="rgz-demo", annotator="colleague")
view = colleague.view()
view["item_id"], view["question"]["id"], view["meta"], view["progress"]
