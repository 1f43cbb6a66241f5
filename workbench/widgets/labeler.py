"""The Labeler: asks a scheme's questions about items, keyboard first, writing to the store.

>>> from workbench.widgets import Labeler
>>> Labeler(coll, scheme="rgz", campaign="rgz-pilot", annotator="ada")   # doctest: +SKIP

Keys (shown on screen): the answer keys of the question (``1``..``9``), ``Enter`` submits
(closes a component selection, finishes an item), ``s`` skips, ``u`` or ``Backspace``
undoes (the last step of the item in progress, else the last annotation: a retraction
record), ``←``/``→`` move between items. For a ``components`` question (RGZ) the components
are clicked on the image; ``0`` says "no contours"; the host is a click or ``n`` ("no host").
Keys typed in the focused widget never reach JupyterLab's own shortcuts.

The widget holds no state that matters: every completed answer is an annotation in the
label store the moment it is given; what is shown for an item is rebuilt from the store
(this annotator's live annotation of it). A ``components`` question is written after each
completed source (components + host + per-source answers) as the item's cumulative answers;
the annotation it replaces is retracted with reason ``"superseded"``.

Unfinished work is a *draft* in the store (:mod:`workbench.io.labels.drafts`), saved after
every step: components clicked so far, the source waiting for its host and morphology,
answers before the end of the question path, and "this item still has sources to add"
after a source was written. Drafts are not annotations (consensus, export and campaign
retirement ignore them). A Labeler whose kernel died leaves its draft behind; the next
Labeler of the same annotator (and scheme and campaign) opens that item first, in the same
state. Finishing the item, skipping it or undoing the work deletes the draft; moving away
with the arrows keeps it (and it comes back when the item is shown again).

Messages from the browser (``{"type": "key", "key": ...}``, ``{"type": "click", "x", "y"}``,
display pixels of the first panel) go to :meth:`Labeler.handle_key` and
:meth:`Labeler.handle_click`, which the tests call directly.
"""

from __future__ import annotations

import datetime as _dt
import time

import anywidget
import numpy as np
import traitlets

from workbench.core.errors import SchemeError
from workbench.widgets import _panels, render
from workbench.widgets._common import esm, load_item

__all__ = ["Labeler"]


def _now():
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


class Labeler(anywidget.AnyWidget):
    """Label items of a Collection with a scheme, writing every answer to a label store.

    Parameters
    ----------
    coll : Collection
        The items (a view from ``coll.select(...)`` works too).
    scheme : str or Scheme
        A shipped scheme name (``"rgz"``, ``"transient"``, ``"lens-grade"``, ...) or a Scheme.
    store : LabelStore, optional
        Defaults to ``workbench.io.labels.open_store(coll)``.
    campaign : str, optional
        Take items from this campaign (next item for this annotator); otherwise go
        through ``items`` (ids) or every item of ``coll`` in order.
    annotator : str, optional
        Who labels (defaults to the login name).
    items : list of str, optional
        Ids to label (a selection), when there is no campaign.
    """

    _esm = esm("labeler.js")
    panels = traitlets.List([]).tag(sync=True)
    outlines = traitlets.Dict({}).tag(sync=True)
    state = traitlets.Dict({}).tag(sync=True)
    size = traitlets.Int(360).tag(sync=True)

    def __init__(self, coll, *, scheme, store=None, campaign=None, annotator=None, items=None,
                 size: int = 360, **view_options):
        super().__init__(size=size)
        from workbench.core.schemes import get_scheme

        self.coll = coll
        self.scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
        if store is None:
            from workbench.io.labels import open_store

            store = open_store(coll)
        self.store = store
        if annotator is None:
            import getpass

            annotator = getpass.getuser()
        self.annotator = str(annotator)
        self.campaign_name = campaign
        self._campaign = store.campaign(campaign) if campaign is not None else None
        self._view_options = view_options
        self._all_ids = list(coll.ids)
        self._pos_of = {i: k for k, i in enumerate(self._all_ids)}
        if items is not None:
            items = [str(i) for i in items]
            unknown = [i for i in items if i not in self._pos_of]
            if unknown:
                raise KeyError(f"items not in {coll.path}: {unknown[:5]}")
        self._items = items
        self._history: list[str] = []  # items shown, in order (arrows move through it)
        self._cursor = -1
        self._components = None  # label maps, loaded on first use
        self._written: list[int] = []  # annotation ids this Labeler wrote (for undo)
        self._ann_item: dict[int, str] = {}  # those ids -> item id
        self._replaced: dict[int, dict | None] = {}  # superseding id -> answers it replaced
        self._load_live()
        self._load_drafts()
        self._shown: str | None = None  # the item whose step state is live
        self._shown_at = time.monotonic()
        self._started = _now()
        self._message = ""
        self._seq = 0
        self._writes = 0  # store writes by this Labeler: progress is re-read after each
        self._progress_at = None  # (item, writes) the cached campaign progress was read at
        self._reset_step()
        self.on_msg(self._on_msg)
        self._advance()

    # ------------------------------------------------------------------ items
    @property
    def item_id(self) -> str | None:
        """Id of the item shown (None when there is nothing left)."""
        return self._history[self._cursor] if 0 <= self._cursor < len(self._history) else None

    def _load_live(self) -> None:
        """Read this annotator's live annotations (this scheme) from the store: the only
        copy kept here, refreshed from the store on every rebuild and updated with each
        write this Labeler makes."""
        df = self.store.annotations(annotator=self.annotator, scheme=self.scheme.name)
        self._live = {str(iid): (int(ann_id), dict(answers))  # rows by id: latest wins
                      for ann_id, iid, answers in zip(df["id"], df["item_id"], df["answers"])}

    def _load_drafts(self) -> None:
        """This annotator's drafts (this scheme and campaign), newest first: item -> state."""
        df = self.store.drafts(annotator=self.annotator, scheme=self.scheme,
                               campaign=self.campaign_name)
        self._drafts = {str(i): dict(s) for i, s in zip(df["item_id"], df["state"])
                        if str(i) in self._pos_of}

    def _live_annotation(self, item_id):
        """This annotator's latest live annotation of ``item_id`` as (id, answers) or None."""
        return self._live.get(item_id)

    def _next_new_item(self) -> str | None:
        seen = set(self._history)
        allowed = None if self._items is None else set(self._items)
        for iid in self._drafts:  # unfinished work first (a kernel that died mid-item)
            if iid not in seen and (allowed is None or iid in allowed):
                return iid
        if self._campaign is not None:
            nxt = self._campaign.next_item(self.annotator)
            return None if nxt is None else str(getattr(nxt, "item_id", nxt))
        ids = self._items if self._items is not None else self._all_ids
        done = set(self._live)
        return next((i for i in ids if i not in done and i not in seen), None)

    def _advance(self) -> None:
        """Show the next item: forward in history, or a new one."""
        if self._cursor + 1 < len(self._history):
            self._cursor += 1
        else:
            nxt = self._next_new_item()
            if nxt is None:
                self._cursor = len(self._history)
                self._show()
                return
            self._history.append(nxt)
            self._cursor = len(self._history) - 1
        self._show()

    def _back(self) -> None:
        if self._cursor > 0:
            self._cursor -= 1
            self._show()

    def _show(self) -> None:
        """Render the current item and its state from the store (its draft included)."""
        left, left_state = self._shown, self._step_state(leaving=True)
        self._reset_step()
        self._shown_at = time.monotonic()
        self._started = _now()
        iid = self.item_id
        with self.hold_sync():
            if iid is None:
                self.panels = []
                self.outlines = {}
            else:
                item = load_item(self.coll, iid)
                self._item = item
                self.panels = _panels.item_panels(item, **self._view_options)
                self.outlines = self._outlines(iid) if self._has_components() else {}
                if iid != left and iid in self._drafts:
                    self._restore(self._drafts[iid])
            self._shown = iid
            self._sync_state()
        if left is not None:  # after drawing: the next item does not wait for this write
            self._sync_draft(left, left_state)

    # ------------------------------------------------------------------ components
    def _has_components(self) -> bool:
        return any(q.type == "components" for q in self.scheme.questions)

    def _label_map(self, item_id) -> np.ndarray:
        """Integer component map (ny, nx) of ``item_id`` (0 = background)."""
        if self._components is None:
            try:
                arr = self.coll.derived_array("components")
            except KeyError:
                arr = None
            if arr is None:
                try:
                    from workbench.io.components import compute_components

                    compute_components(self.coll)
                    arr = self.coll.derived_array("components")
                except Exception:  # noqa: BLE001 - read-only view: the same maps, per item
                    arr = None
            self._components = arr if arr is not None else {}
        if isinstance(self._components, dict):
            if item_id not in self._components:
                from workbench.imaging.islands import find_components

                self._components[item_id] = find_components(
                    _panels.find_radio(self._item)[1])[0]
            return self._components[item_id]
        a = self._components[self._pos_of[item_id]]
        a = a[0] if a.ndim == 3 else a
        return np.nan_to_num(a, nan=0).astype(np.int32)

    def _outlines(self, item_id) -> dict:
        lab = self._label_map(item_id)
        return render.pack_lines(render.component_outlines(lab))

    # ------------------------------------------------------------------ step state
    def _reset_step(self) -> None:
        self._qid = self.scheme.first
        self._selected: list[int] = []  # components of the source in progress
        self._pending: dict | None = None  # source in progress after its components
        self._multi: list = []
        self._path: dict | None = None  # item-scope answers before the path is complete
        self._open = False  # a source of this item was written on this visit

    def _current_answers(self) -> tuple[int | None, dict]:
        iid = self.item_id
        live = self._live_annotation(iid) if iid is not None else None
        return (None, {}) if live is None else live

    def _question(self):
        return self.scheme.question(self._qid)

    def _sync_state(self) -> None:
        iid = self.item_id
        ann_id, answers = self._current_answers() if iid else (None, {})
        q = self._question()
        qj = q.to_json()
        keys = [["s", "skip"], ["u / ⌫", "undo"], ["← →", "move"], ["Enter", "submit / next"]]
        if q.type == "components":
            keys = [[qj.get("none_key", "0"), qj.get("none_label", "no contours")],
                    ["click", "select component"]] + keys
        if q.type == "position":
            keys = [[qj.get("null_key", "n"), qj.get("null_label", "none")],
                    ["click", "place"]] + keys
        meta = {}
        if iid is not None:
            row = self._item.meta
            meta = {str(k): str(row[k]) for k in row.index
                    if k not in ("source_file", "source_hdu")}
        self._seq += 1
        self.state = {
            "seq": self._seq,
            "item_id": iid or "",
            "done_all": iid is None,
            "question": qj,
            "answers": _jsonable(answers),
            "annotation_id": ann_id,
            "selected": list(self._selected),
            "pending": _jsonable(self._pending),
            "multi": _jsonable(self._multi),
            "keys": keys,
            "progress": self._progress(),
            "position": [self._cursor + 1, len(self._history)],
            "message": self._message,
            "meta": meta,
            "scheme": f"{self.scheme.name} v{self.scheme.version}",
            "annotator": self.annotator,
        }

    def _progress(self) -> dict:
        """``{"done", "total", "mine"}``: items finished (retired, in a campaign; labelled by
        this annotator, for a selection), items in all, and this annotator's labels."""
        mine_ids = set(self._live)
        if self._campaign is not None:
            # the campaign's counts are SQL queries: read them when a new item is shown or
            # after a write, not on every key press or click within an item
            at = (self.item_id, self._writes)
            if self._progress_at != at:
                st = self._campaign.status()
                self._campaign_counts = (int(st["n_retired"]), int(st["n_items"]),
                                         set(self._campaign.item_ids))
                self._progress_at = at
            done, total, ids = self._campaign_counts
            return {"done": done, "total": total, "mine": len(mine_ids & ids)}
        ids = self._items if self._items is not None else self._all_ids
        done = len(mine_ids & set(ids))
        return {"done": done, "total": len(ids), "mine": done}

    # ------------------------------------------------------------------ drafts
    def _step_state(self, *, leaving: bool = False) -> dict | None:
        """The unfinished work on the item shown, as a JSON-safe draft (None: nothing).

        ``leaving``: the item is being left; "more sources may follow" alone is then not
        worth keeping (the annotator moved on)."""
        if self._shown is None:
            return None
        busy = bool(self._selected or self._pending is not None or self._multi or self._path)
        if not busy and (leaving or not self._open):
            return None
        return _jsonable({"question": self._qid, "selected": list(self._selected),
                          "pending": self._pending, "multi": list(self._multi),
                          "path": self._path, "open": bool(self._open),
                          "started": self._started.isoformat()})

    def _restore(self, state: dict) -> None:
        """Bring back a draft's step state (ignored if it does not fit this scheme)."""
        try:
            self.scheme.question(state["question"])
        except (KeyError, SchemeError):
            return
        self._qid = state["question"]
        self._selected = [int(c) for c in state.get("selected") or []]
        self._pending = state.get("pending")
        self._multi = list(state.get("multi") or [])
        self._path = state.get("path")
        self._open = bool(state.get("open"))
        cq = self._comp_question()
        if cq is not None and self._pending:  # killed after writing the source, before
            _, answers = self._current_answers()  # its draft was updated: it is done
            written = [s.get("components") for s in answers.get(cq.id, []) or []]
            if self._pending.get("components") in written:
                self._pending, self._qid, self._open = None, cq.id, True
        try:
            self._started = _dt.datetime.fromisoformat(state["started"])
        except (KeyError, TypeError, ValueError):
            pass
        self._message = "unfinished work restored"

    def _sync_draft(self, item_id: str, state: dict | None) -> None:
        """Make the store's draft of ``item_id`` equal ``state`` (delete it when None)."""
        if state == self._drafts.get(item_id):
            return
        kw = {"annotator": self.annotator, "scheme": self.scheme,
              "campaign": self.campaign_name}
        try:
            if state is None:
                self.store.discard_draft(item_id, **kw)
                self._drafts.pop(item_id, None)
            else:
                self.store.save_draft(item_id, state, **kw)
                self._drafts[item_id] = state
        except Exception as exc:  # noqa: BLE001 - say so on screen, keep labelling
            self._message = f"unfinished work not saved: {exc}"
            self._sync_state()

    def _persist(self) -> None:
        """After each event: the store's draft follows the item in progress."""
        if self._shown is not None:
            self._sync_draft(self._shown, self._step_state())

    # ------------------------------------------------------------------ writing
    def _write(self, answers: dict, *, supersede: int | None = None) -> int:
        iid = self.item_id
        lab = self._label_map(iid) if self._has_components() else None
        n_comp = int(lab.max()) if lab is not None and lab.size else None
        answers = self.scheme.validate(answers, n_components=n_comp)
        source = None if self._campaign is not None else "selection"
        ann = self.store.annotate(iid, answers, annotator=self.annotator, scheme=self.scheme,
                                  campaign=self.campaign_name, started=self._started,
                                  ended=_now(), source=source, n_components=n_comp,
                                  source_detail={"seconds": round(time.monotonic()
                                                                  - self._shown_at, 3)})
        ann_id = int(getattr(ann, "id", ann))
        previous = self._live.get(iid)
        if supersede is not None:
            self._retract(supersede, reason="superseded")
            self._replaced[ann_id] = previous[1] if previous else None
            if supersede in self._written:
                self._written.remove(supersede)
            self._ann_item.pop(supersede, None)
        self._live[iid] = (ann_id, answers)
        self._ann_item[ann_id] = iid
        self._written.append(ann_id)
        self._writes += 1
        return ann_id

    def _retract(self, ann_id: int, *, reason: str | None = None) -> None:
        self.store.retract(ann_id, annotator=self.annotator, reason=reason)
        self._writes += 1

    # ------------------------------------------------------------------ events
    def _on_msg(self, _widget, content, _buffers) -> None:
        try:
            if content.get("type") == "key":
                self.handle_key(str(content.get("key", "")))
            elif content.get("type") == "click":
                self.handle_click(float(content["x"]), float(content["y"]))
        except SchemeError as exc:
            self._message = str(exc)
            self._sync_state()

    def handle_key(self, key: str) -> None:
        """Act on one key press (as the browser names it: ``"1"``, ``"Enter"``, ...)."""
        try:
            self._on_key(key)
        finally:
            self._persist()

    def _on_key(self, key: str) -> None:
        self._message = ""
        if self.item_id is None:
            if key in ("ArrowLeft", "u", "Backspace"):
                self._undo() if key != "ArrowLeft" else self._back()
            return
        q = self._question()
        qj = q.to_json()
        if key == "ArrowRight":
            return self._advance()
        if key == "ArrowLeft":
            return self._back()
        if key in ("u", "Backspace"):
            return self._undo()
        if key == "s":  # skip: the unfinished work on this item goes too
            self._reset_step()
            if self._campaign is not None:
                try:
                    self._campaign.release(self.annotator, self.item_id)
                except Exception:  # noqa: BLE001 - nothing held
                    pass
            return self._advance()
        if q.type == "components":
            if key == str(qj.get("none_key", "0")):
                ann_id, _ = self._current_answers()
                self._write({q.none_flag or "no_contours": True, q.id: []}, supersede=ann_id)
                self._reset_step()  # the item is finished: no draft is left behind
                return self._advance()
            if key == "Enter":
                if self._selected:
                    self._pending = {"components": sorted(self._selected)}
                    self._selected = []
                    return self._next_per_source(q, 0)
                _, answers = self._current_answers()
                if answers:
                    return self._advance()
                self._message = "select components (click), or press " \
                    f"{qj.get('none_key', '0')} for no contours"
                return self._sync_state()
            return None
        if q.type == "position":
            if key == str(qj.get("null_key", "n")) and q.nullable:
                return self._answer(q, None)
            return None
        if q.type == "choice":
            for a in q.answers:
                if a.key is not None and key == a.key:
                    return self._answer(q, a.value)
            return None
        if q.type == "multi":
            for a in q.answers:
                if a.key is not None and key == a.key:
                    if a.value in self._multi:
                        self._multi.remove(a.value)
                    else:
                        self._multi.append(a.value)
                    return self._sync_state()
            if key == "Enter":
                return self._answer(q, list(self._multi))
        return None

    def handle_text(self, text: str) -> None:
        """Answer a ``text`` question."""
        q = self._question()
        if q.type == "text":
            try:
                self._answer(q, str(text))
            finally:
                self._persist()

    def handle_click(self, x: float, y: float) -> None:
        """A click at display pixel ``(x, y)`` of the first panel."""
        try:
            self._on_click(x, y)
        finally:
            self._persist()

    def _on_click(self, x: float, y: float) -> None:
        if self.item_id is None:
            return
        self._message = ""
        q = self._question()
        shape = _panels.find_radio(self._item)[1].shape if self._has_components() else \
            next(iter(self._item.images.values())).shape[-2:]
        if q.type == "components":
            lab = self._label_map(self.item_id)
            row, col = render.display_to_array(x, y, lab.shape)
            cid = int(lab[row, col])
            if cid == 0:  # nearest component within 3 px
                yy, xx = np.nonzero(lab)
                if len(yy):
                    d = (yy - row) ** 2 + (xx - col) ** 2
                    k = int(np.argmin(d))
                    if d[k] <= 9:
                        cid = int(lab[yy[k], xx[k]])
            if cid == 0:
                self._message = "no component there"
                return self._sync_state()
            _, answers = self._current_answers()
            taken = {c for s in answers.get(q.id, []) or [] for c in s.get("components", [])}
            if cid in taken:
                self._message = f"component {cid} already belongs to a source"
                return self._sync_state()
            if cid in self._selected:
                self._selected.remove(cid)
            else:
                self._selected.append(cid)
            return self._sync_state()
        if q.type == "position":
            ny, nx = shape
            return self._answer(q, {"x": round(float(x) - 0.5, 2),
                                    "y": round(float(ny) - float(y) - 0.5, 2)})
        return None

    # ------------------------------------------------------------------ answering
    def _comp_question(self):
        return next((q for q in self.scheme.questions if q.type == "components"), None)

    def _next_per_source(self, cq, k: int) -> None:
        per = list(cq.per_source)
        if k < len(per):
            self._qid = per[k]
            return self._sync_state()
        # source complete: write the item's cumulative answers
        ann_id, answers = self._current_answers()
        sources = list(answers.get(cq.id, []) or []) + [self._pending]
        new = {cq.none_flag or "no_contours": False, cq.id: sources} if cq.none_flag else \
            {cq.id: sources}
        self._pending = None
        self._qid = cq.id
        self._write(new, supersede=ann_id)
        self._open = True  # more sources may follow until the item is finished
        return self._sync_state()

    def _answer(self, q, value) -> None:
        cq = self._comp_question()
        if q.scope == "source" and cq is not None and self._pending is not None:
            self._pending[q.id] = value
            per = list(cq.per_source)
            return self._next_per_source(cq, per.index(q.id) + 1)
        # item-scope question: walk the tree, write when the path is complete
        ann_id, _ = self._current_answers()
        path = dict(self._path or {})
        path[q.id] = value
        nxt = self.scheme.next_question(q.id, value)
        # drop answers no longer on the path
        self._multi = []
        if nxt is None or self.scheme.question(nxt).scope != "item":
            self._write(self._prune(path), supersede=ann_id)
            self._reset_step()  # the item is finished: no draft is left behind
            return self._advance()
        self._path = path
        self._qid = nxt
        return self._sync_state()

    def _prune(self, answers: dict) -> dict:
        out, qid = {}, self.scheme.first
        while qid is not None and qid in answers:
            out[qid] = answers[qid]
            qid = self.scheme.next_question(qid, answers[qid])
        return out

    def _undo(self) -> None:
        """Undo the last step of the item in progress; else retract the last annotation
        this Labeler wrote (a retraction record) and show that item again."""
        if self._pending is not None or self._selected or self._multi or self._path:
            if self._selected:
                self._selected.pop()
            elif self._multi:
                self._multi.pop()
            elif self._pending is None:  # back one question of the item's path
                self._qid = list(self._path)[-1]
                self._path.pop(self._qid)
            else:
                self._selected = list(self._pending["components"])
                self._pending = None
                self._qid = self._comp_question().id
            return self._sync_state()
        if not self._written:
            self._message = "nothing to undo"
            return self._sync_state()
        ann_id = self._written.pop()
        iid = self._ann_item.pop(ann_id)
        self._retract(ann_id, reason="undo")
        self._live.pop(iid, None)
        restore = self._replaced.pop(ann_id, None)
        if restore:  # undoing a later source of an item: its earlier sources come back
            ann = self.store.annotate(iid, restore, annotator=self.annotator,
                                      scheme=self.scheme, campaign=self.campaign_name,
                                      source=None if self._campaign is not None
                                      else "selection", source_detail={"restored": ann_id})
            self._live[iid] = (int(ann), restore)
            self._written.append(int(ann))
            self._ann_item[int(ann)] = iid
        if iid in self._history:
            self._cursor = self._history.index(iid)
        else:
            self._history.insert(self._cursor + 1, iid)
            self._cursor += 1
        self._show()
        self._open = bool(restore)  # its earlier sources are back: more may follow


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
