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
# # Grade lens candidates
#
# Each candidate is shown as a colour composite (Lupton et al. 2004) beside its single
# bands. Grades: **1** A (definite), **2** B (probable), **3** C (possible), **4** not a
# lens. **s** skips, **u** undoes, ←/→ move. In a campaign the grader sees only the id and
# RA/Dec beside the images (the campaign's `show_columns`), never `truth`, `truth_class`,
# the Einstein radius or the magnification.

# %%
import pathlib
import tempfile

from workbench import Gallery, Labeler, open_store
from workbench.sims.lenses import simulate_lenses
from workbench.widgets import LensView

work = pathlib.Path(tempfile.mkdtemp(prefix="wb-06c-"))
coll = simulate_lenses(work / "lenses", n=16, seed=3, size=64)
store = open_store(coll)
store.create_campaign("grading", "lens-grade", coll.ids, retire=2)

# %%
LensView(coll, 0)

# %%
Gallery(coll, store=store, page_size=16, n_cols=8)

# %%
labeler = Labeler(coll, scheme="lens-grade", store=store, campaign="grading", annotator="you")
labeler

# %% [markdown]
# Scripted grades (what the keys do): "A" for simulated lenses, "not a lens" otherwise; one
# skip, and an undo of the last grade.

# %%
truth = coll.catalog.set_index("id")["truth"]
for _ in range(5):
    labeler.handle_key("1" if bool(truth[labeler.item_id]) else "4")
labeler.handle_key("s")
labeler.handle_key("u")
store.annotations(campaign="grading", include_retracted=True)[
    ["item_id", "answers", "retracted"]]

# %%
store.campaign("grading").status()
