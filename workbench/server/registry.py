"""Which Collections and campaigns a server may serve, found under its roots.

A :class:`Registry` knows a list of *roots* (the Jupyter server's ``root_dir``) and/or an
explicit list of Collection folders. Under a root it looks, at most ``max_depth`` folders
deep and never through symbolic links or hidden folders, for Collection folders (a
``collection.json``) that already have a label store (``labels.sqlite``): a folder without
one is not a labeling project, and nothing is created by looking. An explicitly listed
Collection may name its store by URL (a shared PostgreSQL).

Campaigns are addressed by a *key*: the campaign's name, or ``name@folder`` (the Collection
folder relative to its root) when two Collections hold campaigns of the same name. A key is
only ever compared with the keys found here; it is never joined into a path.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import WorkbenchError

__all__ = ["Registry", "CampaignRef", "UnknownCampaign", "shared_store"]

_MANIFEST = "collection.json"
_STORE_FILE = "labels.sqlite"
_SKIP = {"node_modules", "__pycache__", "site-packages"}


_STORES: dict[str, object] = {}
_STORES_LOCK = threading.Lock()


def shared_store(loc: str):
    """The label store at ``loc`` (URL or SQLite file), opened once per process and shared
    by every request (its engine pools connections and is thread-safe)."""
    loc = str(loc)
    with _STORES_LOCK:
        st = _STORES.get(loc)
        if st is None:
            from workbench.io.labels import open_store

            st = open_store(loc)
            _STORES[loc] = st
        return st


class UnknownCampaign(WorkbenchError):
    """No campaign with that key is served here."""


@dataclass(frozen=True)
class CampaignRef:
    """One campaign this server can serve."""

    key: str          # what the URLs use
    name: str         # the campaign's name in its store
    collection: Path  # the Collection folder (resolved)
    label: str        # the folder as shown to people (relative to its root)
    store: str        # the store's URL or SQLite file


class Registry:
    """Collections and their campaigns under ``roots`` (and/or listed explicitly).

    Parameters
    ----------
    roots : list of path
        Folders searched for Collections with a label store.
    collections : list of path, optional
        Collection folders served whether or not they lie under a root.
    stores : dict, optional
        Collection folder -> store URL, for listed Collections whose store is not
        ``labels.sqlite`` beside them.
    campaigns : list of str, optional
        Serve only campaigns of these names.
    max_depth : int
        How deep below a root to look (0: the root itself only).
    rescan_s : float
        Seconds a scan is reused before the folders are looked at again.
    progress_s : float
        Seconds a campaign's progress counts are reused (see :meth:`campaign`).
    """

    def __init__(self, roots=(), *, collections=(), stores=None, campaigns=None,
                 max_depth: int = 2, rescan_s: float = 10.0, progress_s: float = 2.0):
        self.roots = [Path(r).resolve() for r in roots]
        self.listed = [Path(c).resolve() for c in collections]
        self.stores = {Path(k).resolve(): str(v) for k, v in (stores or {}).items()}
        self.only = None if campaigns is None else {str(c) for c in campaigns}
        self.max_depth = int(max_depth)
        self.rescan_s = float(rescan_s)
        self.progress_s = float(progress_s)
        self._lock = threading.Lock()
        self._scanned_at = -1e18
        self._refs: dict[str, CampaignRef] = {}
        self._coll_cache: dict[Path, object] = {}
        self._camp_cache: dict[tuple[str, str], object] = {}

    # ------------------------------------------------------------------ discovery
    def _collections(self) -> list[tuple[Path, str, str]]:
        """``(folder, label, store)`` of every Collection served."""
        found: dict[Path, tuple[str, str]] = {}
        for c in self.listed:
            if (c / _MANIFEST).is_file():
                store = self.stores.get(c, str(c / _STORE_FILE))
                if "://" in store or Path(store).is_file():
                    found[c] = (c.name, store)
        for root in self.roots:
            for folder in _walk(root, self.max_depth):
                if folder in found:
                    continue
                store = folder / _STORE_FILE
                if store.is_file():
                    rel = folder.relative_to(root).as_posix()
                    found[folder] = (rel if rel != "." else folder.name, str(store))
        return [(f, lab, st) for f, (lab, st) in sorted(found.items())]

    def scan(self, *, force: bool = False) -> dict[str, CampaignRef]:
        """Key -> :class:`CampaignRef` of every campaign served (rescanned when stale)."""
        with self._lock:
            if not force and time.monotonic() - self._scanned_at < self.rescan_s:
                return dict(self._refs)
            pairs = []
            for folder, label, store_loc in self._collections():
                try:
                    store = self._store(store_loc)
                    names = [c.name for c in store.campaigns()]
                except WorkbenchError:
                    continue  # not a readable label store: not served
                for n in names:
                    if self.only is None or n in self.only:
                        pairs.append((n, folder, label, store_loc))
            count: dict[str, int] = {}
            for n, *_ in pairs:
                count[n] = count.get(n, 0) + 1
            refs = {}
            for n, folder, label, store_loc in pairs:
                key = n if count[n] == 1 else f"{n}@{label}"
                k = 2
                while key in refs:  # two folders shown under the same name
                    key, k = f"{n}@{label}~{k}", k + 1
                refs[key] = CampaignRef(key=key, name=n, collection=folder, label=label,
                                        store=store_loc)
            self._refs = refs
            self._scanned_at = time.monotonic()
            return dict(refs)

    def get(self, key: str) -> CampaignRef:
        """The campaign served under ``key`` (:class:`UnknownCampaign` if none)."""
        key = str(key)
        ref = self.scan().get(key)
        if ref is None and time.monotonic() - self._scanned_at > 1.0:
            ref = self.scan(force=True).get(key)  # a new campaign; at most once a second
        if ref is None:
            raise UnknownCampaign(f"no campaign {key!r} is served here")
        return ref

    # ------------------------------------------------------------------ opening
    def _store(self, loc: str):
        return shared_store(loc)

    def store(self, ref: CampaignRef):
        """The (shared, thread-safe) label store of ``ref``."""
        return shared_store(ref.store)

    def collection(self, ref: CampaignRef):
        """The Collection of ``ref``, opened read-only once."""
        with self._lock:
            coll = self._coll_cache.get(ref.collection)
            if coll is None:
                from workbench.io.collection import open as open_collection

                coll = open_collection(ref.collection)
                self._coll_cache[ref.collection] = coll
            return coll

    def campaign(self, ref: CampaignRef):
        """The :class:`~workbench.io.labels.Campaign` of ``ref``: read once, and shared by
        every request and labeling session of this server. Its counts of done and total
        items are reused for :attr:`progress_s` (writes through it keep them exact)."""
        key = (ref.store, ref.name)
        camp = self._camp_cache.get(key)
        if camp is None:
            with self._lock:
                camp = self._camp_cache.get(key)
                if camp is None:
                    camp = self.store(ref).campaign(ref.name)
                    camp.progress_ttl = self.progress_s
                    self._camp_cache[key] = camp
        return camp

    def close(self) -> None:
        """Release the connections of every store opened in this process."""
        with _STORES_LOCK:
            for st in _STORES.values():
                st.close()
            _STORES.clear()


def _walk(root: Path, depth: int):
    """Collection folders at most ``depth`` levels below ``root`` (no links, no hidden)."""
    if (root / _MANIFEST).is_file():
        yield root
        return
    if depth <= 0:
        return
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if e.name.startswith(".") or e.name in _SKIP:
            continue
        try:
            if not e.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        yield from _walk(Path(e.path), depth - 1)
