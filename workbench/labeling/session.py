"""One annotator labelling items with a scheme: the state machine behind every labeling view.

The notebook :class:`~workbench.widgets.Labeler` and the server's labeling page are views over
a :class:`Session`: they turn key presses and clicks into :meth:`Session.key` and
:meth:`Session.click` and draw :meth:`Session.view`. Everything that matters is in the label
store the moment it is made (see the package docstring for the rules).
"""

from __future__ import annotations

import datetime as _dt
import time

from workbench.core.blind import shown_columns
from workbench.core.errors import SchemeError, StoreError
from workbench.labeling.components import ComponentMaps, pick_component
from workbench.labeling.drawing import DRAW_COLUMNS, blind_panels, load_item
from workbench.labeling.queue import NOTHING_LEFT, ItemQueue
from workbench.labeling.steps import Steps, jsonable

__all__ = ["Session", "NEVER_SHOWN", "DRAW_COLUMNS"]

#: Catalog columns never shown beside the image (file names can carry a class).
NEVER_SHOWN = ("source_file", "source_hdu")

#: Keys that work on every question: (key, what it does), as shown on screen.
COMMON_KEYS = (("s", "skip"), ("u / ⌫", "undo"), ("← →", "move"), ("Enter", "submit / next"))


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


class Session:
    """An annotator's labeling session over a Collection (see :mod:`workbench.labeling`).

    Parameters
    ----------
    coll : Collection
        The items (a view from ``coll.select(...)`` works too).
    store : LabelStore or None
        Defaults to ``workbench.io.labels.open_store(coll)``.
    scheme : str, Scheme or None
        The label scheme; None (or the campaign's scheme name) takes the campaign's scheme,
        at the campaign's version.
    campaign : str or Campaign, optional
        Take items from this campaign (claims handed out by the store); otherwise go
        through ``items`` or every item of ``coll`` in order. A server passes the one
        :class:`~workbench.io.labels.Campaign` object its sessions share (the campaign's
        row, counts and order are then read once, not once per annotator).
    annotator : str
        Who labels (the server passes its authenticated user).
    show : list of str, optional
        Catalog columns to show beside the images. Without a campaign this replaces the
        default rule (:func:`workbench.core.blind.shown_columns`: every column but truths,
        labels, predictions, scores and simulator parameters); in a campaign the campaign's
        ``show_columns`` decide and ``show`` can only narrow them.
    items : list of str, optional
        Ids to label (a selection), when there is no campaign.
    autosave : bool
        Save the draft after every action (default). A view that wants to draw first
        passes False and calls :meth:`save` after drawing.
    loader : callable, optional
        ``loader(item_id)`` -> the item (as :func:`workbench.labeling.drawing.load_item`
        returns it, never modified here; its images may be read only when first used: the
        session reads them for panels and component maps only): a cache shared by a
        server's sessions, so that an item is read from the Collection once for all its
        annotators. Default: read it.
    maps : ComponentMaps, optional
        The Collection's component maps (shared the same way); default: this session's.
    ids : tuple, optional
        ``(list, set)`` of the Collection's item ids (shared the same way); default:
        ``coll.ids``.
    """

    def __init__(self, coll, store=None, scheme=None, *, campaign=None, annotator: str,
                 show=None, items=None, autosave: bool = True, loader=None, maps=None,
                 ids=None):
        from workbench.core.schemes import Scheme, get_scheme

        if store is None:
            from workbench.io.labels import open_store

            store = open_store(coll)
        if annotator is None or not str(annotator).strip():
            raise StoreError("say who labels (annotator=...)")
        self.coll = coll
        self.store = store
        self.annotator = str(annotator)
        if campaign is None or isinstance(campaign, str):
            self._campaign = None if campaign is None else store.campaign(str(campaign))
        else:  # a Campaign object (shared)
            self._campaign = campaign
        self.campaign = None if self._campaign is None else self._campaign.name
        self._loader = loader
        if self._campaign is not None:
            camp_scheme = self._campaign.scheme
            name = scheme.name if isinstance(scheme, Scheme) else scheme
            if name is not None and name != camp_scheme.name:
                raise StoreError(f"campaign {self.campaign!r} uses scheme "
                                 f"{camp_scheme.name!r}, not {name!r}")
            scheme = scheme if isinstance(scheme, Scheme) else camp_scheme
        if scheme is None:
            raise SchemeError("say which label scheme to answer (scheme=...), or give a "
                              "campaign")
        self.scheme = get_scheme(scheme) if isinstance(scheme, str) else scheme
        self.show = None if show is None else [str(c) for c in show]
        self.autosave = bool(autosave)
        self._queue = ItemQueue(coll.ids if ids is None else ids[0], items=items,
                                campaign=self._campaign, annotator=self.annotator,
                                where=coll.path, known=None if ids is None else ids[1])
        self._maps = maps if maps is not None else ComponentMaps(coll)
        # product -> (ny, nx), in the order of the items' images: what a view needs to know
        # of the images without reading their pixels
        self._grids = {str(k): tuple(int(v) for v in spec.shape)
                       for k, spec in coll.products.items()}
        self._comp_q = next((q for q in self.scheme.questions if q.type == "components"), None)
        self._written: list[int] = []  # annotation ids this session wrote (for undo)
        self._ann_item: dict[int, str] = {}  # those ids -> item id
        self._replaced: dict[int, dict | None] = {}  # superseding id -> answers it replaced
        self._unsaved: list[tuple[str, dict | None]] = []  # draft changes not yet stored
        self._load_live()
        self._load_drafts()
        self._item = None
        self._shown: str | None = None  # the item whose step state is live
        self._shown_at = time.monotonic()
        self._started = _now()
        self.message = ""
        self.visit = 0  # counts items shown (a view redraws the images when it changes)
        self._seq = 0
        self._writes = 0  # store writes by this session: progress is re-read after each
        self._progress_at = None  # (item, writes) the cached campaign progress was read at
        self._claimed = None  # the next item, claimed with the last answer (see _write)
        self._steps = self._fresh()
        self._forward()
        self._done()

    # ------------------------------------------------------------------ reading
    @property
    def item_id(self) -> str | None:
        """Id of the item shown (None when there is nothing left)."""
        return self._queue.current

    @property
    def item(self):
        """The item shown (images, axes; ``meta`` is its full catalog row: views show
        :meth:`meta` instead), or None."""
        return self._item if self.item_id is not None else None

    @property
    def has_components(self) -> bool:
        """The scheme asks for components clicked on the image (RGZ)."""
        return self._comp_q is not None

    def meta(self) -> dict:
        """The catalog values of the item shown that the annotator may see, as text."""
        if self.item is None:
            return {}
        row = self._item.meta
        cols = [c for c in self.shown_columns(list(row.index)) if c not in NEVER_SHOWN]
        return {str(c): str(row[c]) for c in cols}

    def shown_columns(self, columns) -> list[str]:
        """Which of ``columns`` the annotator sees (:mod:`workbench.core.blind`)."""
        if self._campaign is not None:
            cols = self._campaign.shown_columns(columns)  # its show_columns, else id, ra, dec
            return cols if self.show is None else [c for c in cols
                                                   if c in set(self.show) | {"id"}]
        return shown_columns(columns, self.show)

    def label_map(self, item_id: str | None = None):
        """The component label map ``(ny, nx)`` of the item shown (or ``item_id``)."""
        if item_id is None or item_id == self.item_id:
            return self._maps.get(self._item)
        return self._maps.get(self._load(item_id))

    def click_shape(self) -> tuple[int, int] | None:
        """``(ny, nx)`` of the first panel: clicks are display pixels of it."""
        if self.item is None:
            return None
        if self.has_components:
            from workbench.labeling.panels import find_radio

            return tuple(int(v) for v in find_radio(self._item)[1].shape)
        return next(iter(self._grids.values()))

    def panels(self, **options) -> list[dict]:
        """The panels of the item shown, as the widgets draw them
        (:func:`workbench.labeling.panels.item_panels`; raw RGBA bytes in ``"rgba"``), from
        the images and only the catalog values the annotator may see (plus the pixel
        scale and beam, drawn as shapes: :func:`workbench.labeling.drawing.blind_panels`)."""
        if self.item is None:
            return []
        shown = self.shown_columns(list(self._item.meta.index))
        return blind_panels(self._item, shown, **options)

    def outlines(self) -> list:
        """Outlines of the item's components, ``[(component_id, (n, 2) display xy)]``
        (empty for schemes without components)."""
        if self.item is None or not self.has_components:
            return []
        from workbench.labeling.render import component_outlines

        return component_outlines(self.label_map())

    def answers(self, item_id: str | None = None) -> tuple[int | None, dict]:
        """``(annotation id, answers)`` of this annotator's live annotation of the item
        shown (or ``item_id``); ``(None, {})`` when there is none."""
        iid = self.item_id if item_id is None else str(item_id)
        live = self._live.get(iid) if iid is not None else None
        return (None, {}) if live is None else live

    def progress(self) -> dict:
        """``{"done", "total", "mine"}``: items finished (retired, in a campaign; labelled by
        this annotator, for a selection), items in all, and this annotator's labels."""
        mine_ids = set(self._live)
        if self._campaign is not None:
            # the campaign's counts are SQL queries: read them when a new item is shown or
            # after a write, not on every key press or click within an item
            at = (self.item_id, self._writes)
            if self._progress_at != at:
                st = self._campaign.progress()  # two counts, not status()'s summary
                self._campaign_counts = (int(st["done"]), int(st["total"]),
                                         self._queue.scope_set())
                self._progress_at = at
            done, total, ids = self._campaign_counts
            return {"done": done, "total": total, "mine": len(mine_ids & ids)}
        ids = self._queue.scope_set()
        done = len(mine_ids & ids)
        return {"done": done, "total": len(ids), "mine": done}

    def keys(self) -> list[list[str]]:
        """``[[key, what it does], ...]`` for the question asked (beside its answer keys)."""
        q = self.scheme.question(self._steps.question)
        qj = q.to_json()
        keys = [list(k) for k in COMMON_KEYS]
        if q.type == "components":
            keys = [[qj.get("none_key", "0"), qj.get("none_label", "no contours")],
                    ["click", "select component"]] + keys
        if q.type == "position":
            keys = [[qj.get("null_key", "n"), qj.get("null_label", "none")],
                    ["click", "place"]] + keys
        return keys

    def view(self) -> dict:
        """Everything a view shows, JSON-safe (see the package docstring for the keys).

        Each call has a new ``seq``. Only the columns the annotator may see are in it."""
        iid = self.item_id
        ann_id, answers = self.answers() if iid else (None, {})
        s = self._steps
        comp = {"sources_done": len(answers.get(self._comp_q.id) or [])} \
            if self._comp_q is not None and iid else {}
        self._seq += 1
        shape = self.click_shape()
        return {
            "seq": self._seq,
            "visit": self.visit,
            "item_id": iid or "",
            "done_all": iid is None,
            "question": self.scheme.question(s.question).to_json(),
            "answers": jsonable(answers),
            "annotation_id": ann_id,
            "selected": list(s.selected),
            "pending": jsonable(s.pending),
            "multi": jsonable(s.multi),
            "path": jsonable(s.path or {}),
            **comp,
            "keys": self.keys(),
            "progress": self.progress(),
            "position": self._queue.position,
            "message": self.message,
            "meta": self.meta(),
            "draw": {} if iid is None else {
                "kind": str(self._item.meta.get("kind", "image")),
                "products": list(self._grids),
                "shape": list(shape), "components": self.has_components},
            "scheme": f"{self.scheme.name} v{self.scheme.version}",
            "annotator": self.annotator,
            "campaign": self.campaign,
        }

    # ------------------------------------------------------------------ actions
    def key(self, key: str) -> None:
        """Act on one key press, named as browsers name them (``"1"``, ``"Enter"``, ``"s"``,
        ``"u"``, ``"Backspace"``, ``"ArrowLeft"``, ``"ArrowRight"``, ...)."""
        self._act(self._on_key, str(key))

    def click(self, x: float, y: float) -> None:
        """A click at display pixel ``(x, y)`` of the first panel (x to the right, y down,
        in image pixels; see :mod:`workbench.labeling.render`)."""
        self._act(self._on_click, float(x), float(y))

    def text(self, text: str) -> None:
        """Answer a ``text`` question."""
        self._act(self._on_text, str(text))

    def skip(self) -> None:
        """Skip the item shown: its unfinished work goes, a campaign claim is released."""
        self._act(self._skip)

    def undo(self) -> None:
        """Undo the last step of the item in progress; else retract the last annotation
        this session wrote (a retraction record) and show that item again."""
        self._act(self._undo)

    def next(self) -> None:
        """The next item (forward in the items shown, else a new one); drafts are kept."""
        self._act(self._forward)

    def prev(self) -> None:
        """The previous item shown; drafts are kept."""
        self._act(self._back)

    def submit(self, answers, *, item_id: str | None = None) -> int:
        """Write a whole answers dict for the item shown (or ``item_id``, an item this
        session could hand out) and return the annotation's id.

        The answers are validated by the scheme (:class:`SchemeError` with its message);
        they supersede this annotator's live annotation of the item. The item's draft is
        deleted; when it is the item shown, the next item is shown."""
        iid = self.item_id if item_id is None else self._queue.check(item_id)
        if iid is None:
            raise StoreError("nothing is shown: there is no item to answer")
        if not isinstance(answers, dict):
            raise SchemeError(f"answers must be an object of question -> answer, not "
                              f"{type(answers).__name__}")
        try:
            ann_id, _ = self.answers(iid)
            new = self._write(iid, dict(answers), supersede=ann_id,
                              advance=iid == self.item_id)
            if iid == self.item_id:
                self._steps = self._fresh()
                self._forward()
            else:
                self._unsaved.append((iid, None))
            return new
        finally:
            self._done()

    @property
    def unsaved(self) -> bool:
        """Draft changes wait for :meth:`save` (``autosave=False``); False when
        :meth:`save` would not touch the store."""
        return any(state != self._drafts.get(iid) for iid, state in self._unsaved)

    def save(self) -> bool:
        """Store the draft changes of the last actions (done by every action unless
        ``autosave=False``). Returns True when one could not be saved (the view's
        ``message`` says so and labelling goes on)."""
        failed = False
        while self._unsaved:
            iid, state = self._unsaved.pop(0)
            failed |= not self._sync_draft(iid, state)
        return failed

    # ------------------------------------------------------------------ internals
    def _act(self, fn, *args) -> None:
        try:
            fn(*args)
        except SchemeError as exc:  # answers the scheme refuses: say so, keep labelling
            self.message = str(exc)
        finally:
            self._done()

    def _done(self) -> None:
        """After each action: the store's draft follows the item in progress."""
        if self._shown is not None:
            self._unsaved.append((self._shown, self._steps.draft(self._started)))
        if self.autosave:
            self.save()

    def _fresh(self) -> Steps:
        return Steps(question=self.scheme.first)

    def _load(self, item_id: str):
        return load_item(self.coll, item_id) if self._loader is None else \
            self._loader(item_id)

    def _load_live(self) -> None:
        """This annotator's live annotations (this scheme; in a campaign, of this campaign
        only: answering an item again in one campaign must not retract its label in
        another) from the store: the only copy kept here, updated with each write this
        session makes."""
        kw = {} if self.campaign is None else {"campaign": self.campaign}
        self._live = self.store.live_answers(annotator=self.annotator, scheme=self.scheme.name,
                                             **kw)

    def _load_drafts(self) -> None:
        """This annotator's drafts (this scheme and campaign), newest first: item -> state."""
        df = self.store.drafts(annotator=self.annotator, scheme=self.scheme,
                               campaign=self.campaign)
        self._drafts = {str(i): dict(s) for i, s in zip(df["item_id"], df["state"])
                        if self._queue.known(str(i))}

    def _forward(self) -> None:
        claimed, self._claimed = self._claimed, None
        self._queue.forward(self._drafts, self._live, claimed=claimed)
        self._show()

    def _back(self) -> None:
        if self._queue.back():
            self._show()

    def _show(self) -> None:
        """Make the queue's current item the shown one, its state from the store."""
        left, left_state = self._shown, (self._steps.draft(self._started, leaving=True)
                                         if self._shown is not None else None)
        self._steps = self._fresh()
        self._shown_at = time.monotonic()
        self._started = _now()
        self.visit += 1
        iid = self.item_id
        if iid is not None:
            self._item = self._load(iid)
            if iid != left and iid in self._drafts:
                self._restore(self._drafts[iid])
        self._shown = iid
        if left is not None:  # stored by save(), after the view has drawn the next item
            self._unsaved.append((left, left_state))

    def _restore(self, state: dict) -> None:
        """Bring back a draft's step state (ignored if it does not fit this scheme)."""
        got = Steps.from_draft(self.scheme, state)
        if got is None:
            return
        self._steps, started = got
        s, cq = self._steps, self._comp_q
        if cq is not None and s.pending:  # killed after writing the source, before its
            _, answers = self.answers()   # draft was updated: the source is done
            written = [src.get("components") for src in answers.get(cq.id, []) or []]
            if s.pending.get("components") in written:
                s.pending, s.question, s.open = None, cq.id, True
        if started is not None:
            self._started = started
        self.message = "unfinished work restored"

    def _sync_draft(self, item_id: str, state: dict | None) -> bool:
        """Make the store's draft of ``item_id`` equal ``state`` (delete it when None)."""
        if state == self._drafts.get(item_id):
            return True
        kw = {"annotator": self.annotator, "scheme": self.scheme, "campaign": self.campaign}
        try:
            if state is None:
                self.store.discard_draft(item_id, **kw)
                self._drafts.pop(item_id, None)
            else:
                self.store.save_draft(item_id, state, **kw)
                self._drafts[item_id] = state
        except Exception as exc:  # noqa: BLE001 - say so on screen, keep labelling
            self.message = f"unfinished work not saved: {exc}"
            return False
        return True

    # ------------------------------------------------------------------ writing
    def _write(self, item_id: str, answers: dict, *, supersede: int | None = None,
               advance: bool = False) -> int:
        """Write ``answers`` to ``item_id``. ``advance``: the caller shows the next item
        right after (``_forward``); when that item is a new campaign claim, it is claimed
        in the same transaction as the answer (one commit per item labelled)."""
        n_comp = None
        if self.has_components:
            lab = self.label_map(item_id)
            n_comp = int(lab.max()) if lab.size else 0
        answers = self.scheme.validate(answers, n_components=n_comp)
        source = None if self._campaign is not None else "selection"
        shown = item_id == self.item_id
        kw = dict(annotator=self.annotator, scheme=self.scheme,
                  started=self._started if shown else None, ended=_now(), source=source,
                  n_components=n_comp, source_detail={"seconds": round(
                      time.monotonic() - self._shown_at, 3)} if shown else None)
        if advance and shown and self._campaign is not None and \
                self._queue.needs_claim(self._drafts):
            ann, nxt = self._campaign.annotate_and_claim(item_id, answers, **kw)
            self._claimed = NOTHING_LEFT if nxt is None else nxt
        else:
            ann = self.store.annotate(item_id, answers, campaign=self.campaign, **kw)
        ann_id = int(getattr(ann, "id", ann))
        previous = self._live.get(item_id)
        if supersede is not None:
            self._retract(supersede, reason="superseded")
            self._replaced[ann_id] = previous[1] if previous else None
            if supersede in self._written:
                self._written.remove(supersede)
            self._ann_item.pop(supersede, None)
        self._live[item_id] = (ann_id, answers)
        self._ann_item[ann_id] = item_id
        self._written.append(ann_id)
        self._writes += 1
        return ann_id

    def _retract(self, ann_id: int, *, reason: str | None = None) -> None:
        self.store.retract(ann_id, annotator=self.annotator, reason=reason)
        self._writes += 1

    # ------------------------------------------------------------------ events
    def _on_key(self, key: str) -> None:
        self.message = ""
        if self.item_id is None:
            if key == "ArrowLeft":
                self._back()
            elif key in ("u", "Backspace"):
                self._undo()
            return
        if key == "ArrowRight":
            return self._forward()
        if key == "ArrowLeft":
            return self._back()
        if key in ("u", "Backspace"):
            return self._undo()
        if key == "s":
            return self._skip()
        q = self.scheme.question(self._steps.question)
        qj = q.to_json()
        s = self._steps
        if q.type == "components":
            if key == str(qj.get("none_key", "0")):
                ann_id, _ = self.answers()
                self._write(self.item_id, {q.none_flag or "no_contours": True, q.id: []},
                            supersede=ann_id, advance=True)
                self._steps = self._fresh()  # the item is finished: no draft is left behind
                return self._forward()
            if key == "Enter":
                if s.selected:
                    s.pending = {"components": sorted(s.selected)}
                    s.selected = []
                    return self._next_per_source(0)
                _, answers = self.answers()
                if answers:
                    return self._forward()
                self.message = ("select components (click), or press "
                                f"{qj.get('none_key', '0')} for no contours")
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
                    if a.value in s.multi:
                        s.multi.remove(a.value)
                    else:
                        s.multi.append(a.value)
                    return None
            if key == "Enter":
                return self._answer(q, list(s.multi))
        return None

    def _on_text(self, text: str) -> None:
        q = self.scheme.question(self._steps.question)
        if self.item_id is not None and q.type == "text":
            self._answer(q, text)

    def _on_click(self, x: float, y: float) -> None:
        if self.item_id is None:
            return
        self.message = ""
        q = self.scheme.question(self._steps.question)
        s = self._steps
        if q.type == "components":
            cid = pick_component(self.label_map(), x, y)
            if cid == 0:
                self.message = "no component there"
                return None
            _, answers = self.answers()
            taken = {c for src in answers.get(q.id, []) or [] for c in src.get("components", [])}
            if cid in taken:
                self.message = f"component {cid} already belongs to a source"
                return None
            if cid in s.selected:
                s.selected.remove(cid)
            else:
                s.selected.append(cid)
            return None
        if q.type == "position":
            ny, _ = self.click_shape()
            return self._answer(q, {"x": round(x - 0.5, 2), "y": round(float(ny) - y - 0.5, 2)})
        return None

    def _skip(self) -> None:
        self._steps = self._fresh()  # the unfinished work on this item goes too
        if self._campaign is not None and self.item_id is not None:
            try:
                self._campaign.release(self.annotator, self.item_id)
            except Exception:  # noqa: BLE001 - nothing held
                pass
        self._forward()

    # ------------------------------------------------------------------ answering
    def _next_per_source(self, k: int) -> None:
        cq, s = self._comp_q, self._steps
        per = list(cq.per_source)
        if k < len(per):
            s.question = per[k]
            return
        # source complete: write the item's cumulative answers
        ann_id, answers = self.answers()
        sources = list(answers.get(cq.id, []) or []) + [s.pending]
        new = {cq.none_flag: False, cq.id: sources} if cq.none_flag else {cq.id: sources}
        s.pending = None
        s.question = cq.id
        self._write(self.item_id, new, supersede=ann_id)
        s.open = True  # more sources may follow until the item is finished

    def _answer(self, q, value) -> None:
        cq, s = self._comp_q, self._steps
        if q.scope == "source" and cq is not None and s.pending is not None:
            s.pending[q.id] = value
            return self._next_per_source(list(cq.per_source).index(q.id) + 1)
        # item-scope question: walk the tree, write when the path is complete
        ann_id, _ = self.answers()
        path = dict(s.path or {})
        path[q.id] = value
        nxt = self.scheme.next_question(q.id, value)
        s.multi = []
        if nxt is None or self.scheme.question(nxt).scope != "item":
            self._write(self.item_id, self._prune(path), supersede=ann_id, advance=True)
            self._steps = self._fresh()  # the item is finished: no draft is left behind
            return self._forward()
        s.path = path
        s.question = nxt
        return None

    def _prune(self, answers: dict) -> dict:
        """The answers on the question path (answers no longer on it are dropped)."""
        out, qid = {}, self.scheme.first
        while qid is not None and qid in answers:
            out[qid] = answers[qid]
            qid = self.scheme.next_question(qid, answers[qid])
        return out

    def _undo(self) -> None:
        s = self._steps
        if s.busy:
            if s.selected:
                s.selected.pop()
            elif s.multi:
                s.multi.pop()
            elif s.pending is None:  # back one question of the item's path
                s.question = list(s.path)[-1]
                s.path.pop(s.question)
            else:
                s.selected = list(s.pending["components"])
                s.pending = None
                s.question = self._comp_q.id
            return
        if not self._written:
            self.message = "nothing to undo"
            return
        ann_id = self._written.pop()
        iid = self._ann_item.pop(ann_id)
        self._retract(ann_id, reason="undo")
        self._live.pop(iid, None)
        restore = self._replaced.pop(ann_id, None)
        if restore:  # undoing a later source of an item: its earlier sources come back
            ann = self.store.annotate(iid, restore, annotator=self.annotator,
                                      scheme=self.scheme, campaign=self.campaign,
                                      source=None if self._campaign is not None
                                      else "selection", source_detail={"restored": ann_id})
            self._live[iid] = (int(ann), restore)
            self._written.append(int(ann))
            self._ann_item[int(ann)] = iid
            self._writes += 1
        self._queue.goto(iid)
        self._show()
        self._steps.open = bool(restore)  # its earlier sources are back: more may follow
