"""Which item comes next: the items shown so far (arrows move through them) and new ones.

A new item is, in this order: an item with this annotator's unfinished work (a draft: the
kernel or the page died mid-item), then the campaign's next item for the annotator (a claim,
:meth:`workbench.io.labels.campaigns.Campaign.next_item`), or without a campaign the first
item of the selection (``items``, else the whole Collection) that this annotator has not
labelled and that was not shown yet.
"""

from __future__ import annotations

from workbench.core.errors import StoreError

__all__ = ["ItemQueue", "NOTHING_LEFT"]

#: ``ItemQueue.forward(claimed=NOTHING_LEFT)``: the campaign had nothing left to claim.
NOTHING_LEFT = object()


class ItemQueue:
    """The history of items shown and a cursor into it."""

    def __init__(self, ids, *, items=None, campaign=None, annotator: str, where=None,
                 known=None):
        """``ids``: the Collection's ids; ``known``: the same as a set of strings, when the
        caller has it (then ``ids`` must be a list of strings: both are used as given)."""
        self.all_ids = [str(i) for i in ids] if known is None else ids
        self._known = set(self.all_ids) if known is None else known
        if items is not None:
            items = [str(i) for i in items]
            unknown = [i for i in items if i not in self._known]
            if unknown:
                raise KeyError(f"items not in {where}: {unknown[:5]}")
        self.items = items
        self.campaign = campaign
        self.annotator = annotator
        self.history: list[str] = []
        self.cursor = -1
        self._campaign_ids = None
        self._scope_set = None

    @property
    def current(self) -> str | None:
        """The item shown (None when there is nothing left)."""
        return self.history[self.cursor] if 0 <= self.cursor < len(self.history) else None

    @property
    def position(self) -> list[int]:
        """``[k, n]``: the item shown is the k-th of the n shown so far."""
        return [self.cursor + 1, len(self.history)]

    def known(self, item_id: str) -> bool:
        """Whether ``item_id`` is an item of the Collection."""
        return item_id in self._known

    def scope(self) -> list[str]:
        """The items this queue hands out: the campaign's, the selection, or all."""
        if self.campaign is not None:
            if self._campaign_ids is None:
                self._campaign_ids = [i for i in self.campaign.item_ids if i in self._known]
            return self._campaign_ids
        return self.items if self.items is not None else self.all_ids

    def scope_set(self) -> set[str]:
        """:meth:`scope` as a set (made once)."""
        if self._scope_set is None:
            self._scope_set = set(self.scope())
        return self._scope_set

    def check(self, item_id: str) -> str:
        """``item_id`` as a string if this queue could hand it out, else StoreError."""
        iid = str(item_id)
        if iid not in self.history and iid not in self.scope_set():
            what = f"campaign {self.campaign.name!r}" if self.campaign is not None else \
                "this selection"
            raise StoreError(f"item {iid!r} is not in {what}")
        return iid

    def _draft_item(self, drafts) -> str | None:
        """The first item with unfinished work that was not shown yet, or None."""
        seen = set(self.history)
        allowed = None if self.items is None else set(self.items)
        for iid in drafts:
            if iid in self._known and iid not in seen and (allowed is None or iid in allowed):
                return iid
        return None

    def needs_claim(self, drafts) -> bool:
        """Whether :meth:`forward` would ask the campaign for a new item (a view that is
        writing an answer can then claim it in the same transaction)."""
        return (self.campaign is not None and self.cursor + 1 >= len(self.history)
                and self._draft_item(drafts) is None)

    def _new(self, drafts, done, claimed) -> str | None:
        iid = self._draft_item(drafts)  # unfinished work first
        if iid is not None:
            return iid
        if self.campaign is not None:
            nxt = self.campaign.next_item(self.annotator) if claimed is None else claimed
            return None if nxt is None or nxt is NOTHING_LEFT else \
                str(getattr(nxt, "item_id", nxt))
        seen = set(self.history)
        return next((i for i in self.scope() if i not in done and i not in seen), None)

    def forward(self, drafts, done, *, claimed=None) -> None:
        """Move to the next item: forward in the history, else a new one (or past the end
        when nothing is left). ``drafts``: items with unfinished work, newest first;
        ``done``: items this annotator has labelled; ``claimed``: when :meth:`needs_claim`
        said so and the caller claimed the campaign's next item itself, that item (or
        :data:`NOTHING_LEFT`)."""
        if self.cursor + 1 < len(self.history):
            self.cursor += 1
            return
        nxt = self._new(drafts, done, claimed)
        if nxt is None:
            self.cursor = len(self.history)
            return
        self.history.append(nxt)
        self.cursor = len(self.history) - 1

    def back(self) -> bool:
        """Move to the previous item shown; False at the first."""
        if self.cursor > 0:
            self.cursor -= 1
            return True
        return False

    def goto(self, item_id: str) -> None:
        """Show ``item_id`` (where it is in the history, else right after the cursor)."""
        if item_id in self.history:
            self.cursor = self.history.index(item_id)
        else:
            k = min(self.cursor + 1, len(self.history))
            self.history.insert(k, item_id)
            self.cursor = k
