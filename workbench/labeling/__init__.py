"""The labeling logic, free of any user interface: one state machine for every labeling view.

The notebook :class:`~workbench.widgets.Labeler` and the server's labeling page
(``workbench/server/``) are thin views over a :class:`Session`: a view turns key presses
and clicks into session calls and draws :meth:`Session.view`, so the two cannot drift.
This package imports the core and io layers (and imaging's pure functions when it draws);
never a widget library, traitlets or torch.

>>> from workbench.labeling import Session
>>> s = Session(coll, store, "rgz", campaign="rgz-pilot", annotator="ada")  # doctest: +SKIP
>>> s.view()["item_id"], s.view()["question"]["id"]                        # doctest: +SKIP
('sim-s2-000007', 'sources')
>>> s.click(120.5, 80.5); s.key("Enter"); s.key("n"); s.key("3")          # doctest: +SKIP

The Session
-----------
``Session(coll, store, scheme, *, campaign=None, annotator, show=None, items=None,
autosave=True)``: ``store`` None opens ``COLLECTION/labels.sqlite``; ``scheme`` None (with a
campaign) takes the campaign's scheme at its version; ``items`` is a selection of ids
when there is no campaign. An unknown campaign is a ``StoreError``; an empty annotator too.

Actions (each returns None; call :meth:`Session.view` afterwards):

* ``key(k)``: a key as browsers name it. The question's answer keys (``"1"``..``"9"``);
  ``"Enter"`` closes a component selection / finishes an RGZ item / submits a ``multi``
  question; ``"s"`` skip; ``"u"`` or ``"Backspace"`` undo; ``"ArrowLeft"``/``"ArrowRight"``
  move; for a ``components`` question its ``none_key`` (``"0"``, no contours); for a
  ``position`` question its ``null_key`` (``"n"``, no host). Other keys do nothing.
* ``click(x, y)``: display pixels of the first panel (``x`` right, ``y`` down from the top
  left corner, in image pixels: array element ``[row, col]`` of an ``ny``-row image is at
  ``(col + 0.5, ny - row - 0.5)``; ``view()["draw"]["shape"]`` is ``[ny, nx]``). Selects a
  component (the one under the click, else the nearest within 3 px) or places a position.
* ``text(s)``: answers a ``text`` question.
* ``skip()``, ``undo()``, ``next()``, ``prev()``: as the keys ``s``, ``u``, arrows.
* ``submit(answers, item_id=None) -> annotation id``: a whole answers dict for the item
  shown (or another item this session could hand out), validated by the scheme
  (``SchemeError`` with the scheme's message; an item outside the campaign or selection is a
  ``StoreError``); it supersedes this annotator's live annotation of the item, deletes the
  item's draft and, for the item shown, moves on to the next item.

Answers the scheme refuses during ``key``/``click`` do not raise: ``view()["message"]``
says why. Every completed answer is an annotation in the store at once; a ``components``
question (RGZ) is written after each completed source (components, host, per-source
answers) as the item's cumulative answers, superseding (retracting, reason
``"superseded"``) the annotation it replaces. Undo first takes back the last step of the
item in progress, else retracts (reason ``"undo"``) the last annotation this session wrote
and shows that item again (undoing a later source restores the earlier ones).

Drafts: after every action the unfinished work of the item shown (components clicked, the
source waiting for its host and morphology, item answers before the end of the question
path, "more sources may follow") is saved in the store as a draft
(:mod:`workbench.io.labels.drafts`, state format in :mod:`workbench.labeling.steps`);
finishing, skipping or undoing the item deletes it, moving away keeps it. A new Session of
the same annotator, scheme and campaign opens items with drafts first, in the same state
(``message`` "unfinished work restored"). ``autosave=False`` defers those writes to
:meth:`Session.save`, so a view can draw the next item before the store is written.

Items come from the drafts, then the campaign (``Campaign.next_item``: a claim; skip
releases it), else the selection in order, skipping items this annotator has labelled.

Blind: ``view()["meta"]`` holds only the columns the annotator may see
(:func:`workbench.core.blind.shown_columns`): in a campaign its ``show_columns`` (default:
``id``, ``ra``, ``dec``; ``show=`` can only narrow them), otherwise everything but truths,
labels, predictions, scores and simulator parameters, or exactly ``show=``. ``source_file``
and ``source_hdu`` are never shown. :meth:`Session.panels` draws from the same columns
(plus the pixel scale and beam, drawn as shapes).

``view()`` keys: ``seq`` (new on every call), ``visit`` (changes when an item is shown:
redraw the images), ``item_id`` (``""`` when nothing is left), ``done_all``, ``question``
(the scheme question's JSON: ``id``, ``text``, ``type``, ``answers`` with ``value``,
``label``, ``key``; ``none_key``/``null_key`` ...), ``answers`` (this annotator's live
answers of the item), ``annotation_id``, ``selected`` (components of the source in
progress), ``pending`` (the source waiting for its host/morphology: ``components``,
``host``), ``multi`` (choices toggled), ``path`` (item answers given so far),
``sources_done`` (components schemes), ``keys`` (``[[key, what], ...]``), ``progress``
(``done``, ``total``, ``mine``), ``position`` (``[k, n]`` items shown), ``message``,
``meta``, ``draw`` (``kind``, ``products``, ``shape`` of the first panel, ``components``:
whether to draw :meth:`Session.outlines`), ``scheme``, ``annotator``, ``campaign``.

Drawing: :meth:`Session.panels` (``**options`` as the views: ``stretch``, ``cmap``, ...)
returns the panel specs the widgets draw (``_draw.js``), RGBA bytes in ``"rgba"``
(:func:`workbench.labeling.render.encode_png` makes a PNG); :meth:`Session.outlines`
the component outlines ``[(id, xy)]`` (:func:`workbench.labeling.render.pack_lines` packs
them as the widget sends them); :meth:`Session.label_map` the component map. To draw an
item that is not the one shown (a server's cache rendering ahead), use the same cut:
:func:`workbench.labeling.drawing.blind_panels` (``load_item(coll, id)``, the shown columns:
``Campaign.shown_columns(columns)``) and :class:`workbench.labeling.components.ComponentMaps`
(one per Collection; thread-safe loading).

Modules: ``session`` (the Session), ``queue`` (which item next), ``steps`` (step state and
its draft form), ``components`` (label maps, click -> component), ``drawing`` (the blind
cut of an item for drawing), ``panels`` and ``render`` (items -> panel specs; pure
functions, re-exported as ``workbench.widgets._panels`` and ``workbench.widgets.render``).
A Session is not thread-safe: one caller at a time.
"""

from workbench.labeling.session import Session

__all__ = ["Session"]
