"""The step state of the item being labelled, and its form as a draft in the label store.

An item is answered in steps: the question being asked, the components clicked so far, the
source waiting for its host and per-source answers, the choices toggled on a ``multi``
question, the item-scope answers given before the end of the question path, and whether
sources of this item were already written on this visit (more may follow). :class:`Steps`
holds exactly that; :meth:`Steps.draft` turns it into the JSON the store keeps
(:mod:`workbench.io.labels.drafts`) and :meth:`Steps.from_draft` brings it back.

Draft state (the store treats it as opaque JSON): ``{"question", "selected", "pending",
"multi", "path", "open", "started"}`` (``started``: ISO time the item was first shown).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from workbench.core.errors import SchemeError
from workbench.core.jsonable import jsonable  # the one JSON conversion (re-exported)

__all__ = ["Steps", "jsonable"]


@dataclass
class Steps:
    """Unfinished work on one item (see the module docstring)."""

    question: str
    selected: list = field(default_factory=list)
    pending: dict | None = None
    multi: list = field(default_factory=list)
    path: dict | None = None
    open: bool = False

    @property
    def busy(self) -> bool:
        """Something of this item is answered but not yet written."""
        return bool(self.selected or self.pending is not None or self.multi or self.path)

    def draft(self, started: _dt.datetime, *, leaving: bool = False) -> dict | None:
        """The draft to keep for this state, or None (nothing unfinished).

        ``leaving``: the item is being left; "more sources may follow" alone is then not
        worth keeping (the annotator moved on)."""
        if not self.busy and (leaving or not self.open):
            return None
        return jsonable({"question": self.question, "selected": list(self.selected),
                         "pending": self.pending, "multi": list(self.multi),
                         "path": self.path, "open": bool(self.open),
                         "started": started.isoformat()})

    @classmethod
    def from_draft(cls, scheme, state) -> tuple[Steps, _dt.datetime | None] | None:
        """``(steps, started)`` from a draft; None when it does not fit ``scheme``."""
        try:
            scheme.question(state["question"])
        except (KeyError, TypeError, SchemeError):
            return None
        steps = cls(question=state["question"],
                    selected=[int(c) for c in state.get("selected") or []],
                    pending=state.get("pending"), multi=list(state.get("multi") or []),
                    path=state.get("path"), open=bool(state.get("open")))
        try:
            started = _dt.datetime.fromisoformat(state["started"])
        except (KeyError, TypeError, ValueError):
            started = None
        return steps, started


