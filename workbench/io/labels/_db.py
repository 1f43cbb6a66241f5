"""Small helpers shared by the label store's modules (times, JSON, who is labelling).

The bottom of the label store's import graph: :mod:`~workbench.io.labels.store` imports
:mod:`~workbench.io.labels.campaigns`, :mod:`~workbench.io.labels.drafts` and
:mod:`~workbench.io.labels.invites`, and all of them import this module and
:mod:`~workbench.io.labels.schema`; nothing here imports them back.
"""

from __future__ import annotations

import datetime as _dt
import json

import pandas as pd

from workbench.core.errors import StoreError
from workbench.core.identity import annotator_name
from workbench.core.jsonable import jsonable as _jsonable

__all__ = ["utcnow", "as_time", "jsonable", "loads", "default_annotator", "chunks",
           "check_annotator"]


def default_annotator() -> str:
    """Who is labelling: :func:`workbench.core.identity.annotator_name` (``$JUPYTERHUB_USER``,
    else ``$USER``, else the login name), the one rule the Labeler uses too."""
    return annotator_name()


def check_annotator(name) -> str:
    """An annotator name as stored: a non-empty string of at most 255 printable characters."""
    text = str(name)
    if not text.strip() or len(text) > 255 or not text.isprintable():
        raise StoreError(f"annotator name {text[:40]!r} is not usable",
                         hint="use 1 to 255 printable characters")
    return text


def utcnow() -> _dt.datetime:
    """Naive UTC now (the store keeps UTC times without tzinfo)."""
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def as_time(t) -> _dt.datetime | None:
    """datetime / ISO string / POSIX seconds -> naive UTC datetime."""
    if t is None:
        return None
    if isinstance(t, (int, float)):
        return _dt.datetime.fromtimestamp(float(t), _dt.UTC).replace(tzinfo=None)
    if isinstance(t, str):
        t = _dt.datetime.fromisoformat(t)
    if isinstance(t, pd.Timestamp):
        t = t.to_pydatetime()
    if isinstance(t, _dt.datetime):
        if t.tzinfo is not None:
            t = t.astimezone(_dt.UTC).replace(tzinfo=None)
        return t
    raise StoreError(f"cannot read a time from {t!r}; give a datetime, ISO string or POSIX seconds")


def jsonable(d):
    """``d`` as plain JSON types by :func:`workbench.core.jsonable.jsonable` (numpy values,
    paths, times converted); StoreError naming the part that has no JSON form."""
    try:
        return _jsonable(d)
    except TypeError as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from exc


def loads(v):
    """A JSON column's value: drivers that hand back text are decoded, others passed on."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def chunks(seq, n=500):
    """``seq`` in slices of at most ``n`` (keeps IN lists and bulk inserts bounded)."""
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
