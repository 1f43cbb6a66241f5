"""The Labeler: asks a scheme's questions about items, keyboard first, writing to the store.

>>> from workbench.widgets import Labeler
>>> Labeler(coll, scheme="rgz", campaign="rgz-pilot", annotator="ada")   # doctest: +SKIP

Keys (shown on screen): the answer keys of the question (``1``..``9``), ``Enter`` submits
(closes a component selection, finishes an item), ``s`` skips, ``u`` or ``Backspace``
undoes (the last step of the item in progress, else the last annotation: a retraction
record), ``←``/``→`` move between items. For a ``components`` question (RGZ) the components
are clicked on the image; ``0`` says "no contours"; the host is a click or ``n`` ("no host").
Keys typed in the focused widget never reach JupyterLab's own shortcuts.

The widget is a thin view over a :class:`workbench.labeling.Session`, the labeling logic
the server's labeling page uses too (read its docstring for the rules): messages from the
browser become session calls, and the session's view becomes the ``state`` traitlet (the
item's panels and component outlines when a new item is shown). Every completed answer is
an annotation in the label store the moment it is given; unfinished work is a draft in the
store, saved after every step (after the next item is drawn), so a Labeler whose kernel
died leaves its draft behind and the next Labeler of the same annotator (and scheme and
campaign) opens that item first, in the same state.

Blind: beside the images only the columns the annotator may see are sent to the browser.
In a campaign those are the campaign's ``show_columns`` (by default the id and RA/Dec);
otherwise ``show=`` (a list of columns), or without it every column except truths, labels,
predictions, scores and simulator parameters (:mod:`workbench.core.blind`).

Messages from the browser (``{"type": "key", "key": ...}``, ``{"type": "click", "x", "y"}``,
display pixels of the first panel) go to :meth:`Labeler.handle_key` and
:meth:`Labeler.handle_click`, which the tests call directly.
"""

from __future__ import annotations

import anywidget
import traitlets

from workbench.labeling import Session, render
from workbench.widgets._common import esm

__all__ = ["Labeler"]


class Labeler(anywidget.AnyWidget):
    """Label items of a Collection with a scheme, writing every answer to a label store.

    Parameters
    ----------
    coll : Collection
        The items (a view from ``coll.select(...)`` works too).
    scheme : str or Scheme, optional
        A shipped scheme name (``"rgz"``, ``"transient"``, ``"lens-grade"``, ...) or a
        Scheme; with a campaign it defaults to the campaign's.
    store : LabelStore, optional
        Defaults to ``workbench.io.labels.open_store(coll)``.
    campaign : str, optional
        Take items from this campaign (next item for this annotator); otherwise go
        through ``items`` (ids) or every item of ``coll`` in order.
    annotator : str, optional
        Who labels (default: :func:`workbench.core.identity.annotator_name`,
        ``$JUPYTERHUB_USER`` first, as the label store).
    items : list of str or Selection, optional
        Ids to label, when there is no campaign; a shared
        :class:`~workbench.core.selection.Selection` gives the ids selected when the
        Labeler is made.
    show : list of str, optional
        Catalog columns to show beside the image (see the module docstring; in a campaign
        it can only narrow the campaign's ``show_columns``).
    size : int
        Display size of a panel in CSS pixels.
    **view_options
        Drawing options for the panels (``stretch``, ``cmap``, ``contours``, ...).
    """

    _esm = esm("labeler.js")
    panels = traitlets.List([]).tag(sync=True)
    outlines = traitlets.Dict({}).tag(sync=True)
    state = traitlets.Dict({}).tag(sync=True)
    size = traitlets.Int(360).tag(sync=True)

    def __init__(self, coll, *, scheme=None, store=None, campaign=None, annotator=None,
                 items=None, show=None, size: int = 360, **view_options):
        super().__init__(size=size)
        if annotator is None:
            from workbench.core.identity import annotator_name

            annotator = annotator_name()
        from workbench.core.selection import Selection

        if isinstance(items, Selection):
            items = items.ids
        self.session = Session(coll, store, scheme, campaign=campaign, annotator=annotator,
                               show=show, items=items, autosave=False)
        self._view_options = view_options
        self._visit = None
        self.on_msg(self._on_msg)
        self._draw()

    # ------------------------------------------------------------------ the session
    coll = property(lambda self: self.session.coll)
    store = property(lambda self: self.session.store)
    scheme = property(lambda self: self.session.scheme)
    annotator = property(lambda self: self.session.annotator)
    campaign_name = property(lambda self: self.session.campaign)

    @property
    def item_id(self) -> str | None:
        """Id of the item shown (None when there is nothing left)."""
        return self.session.item_id

    def _draw(self) -> None:
        """Send the session's view (and the item's panels when a new item is shown), then
        store the draft changes: the browser draws before the store is written."""
        s = self.session
        with self.hold_sync():
            if s.visit != self._visit:
                self._visit = s.visit
                self.panels = s.panels(**self._view_options)
                self.outlines = render.pack_lines(s.outlines()) if s.has_components \
                    and s.item_id is not None else {}
            self.state = s.view()
        if s.save():  # a draft could not be saved: the message says so
            self._sync_state()

    def _sync_state(self) -> None:
        self.state = self.session.view()

    # ------------------------------------------------------------------ events
    def _on_msg(self, _widget, content, _buffers) -> None:
        if content.get("type") == "key":
            self.handle_key(str(content.get("key", "")))
        elif content.get("type") == "click":
            self.handle_click(float(content["x"]), float(content["y"]))

    def handle_key(self, key: str) -> None:
        """Act on one key press (as the browser names it: ``"1"``, ``"Enter"``, ...)."""
        try:
            self.session.key(key)
        finally:
            self._draw()

    def handle_click(self, x: float, y: float) -> None:
        """A click at display pixel ``(x, y)`` of the first panel."""
        try:
            self.session.click(x, y)
        finally:
            self._draw()

    def handle_text(self, text: str) -> None:
        """Answer a ``text`` question."""
        try:
            self.session.text(text)
        finally:
            self._draw()
