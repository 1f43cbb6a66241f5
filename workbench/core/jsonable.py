"""JSON-safe values: the one conversion for annotation answers, drafts, source details and
provenance records.

:func:`jsonable` turns a value into plain JSON types (``dict`` with ``str`` keys, ``list``,
``str``, ``int``, ``float``, ``bool``, ``None``) by these rules, and nothing else:

=================================================  ========================================
``None``, ``bool``, ``int``, ``float``, ``str``    kept (``float`` NaN/inf too, as Python's
                                                   :mod:`json` writes them)
mappings                                           ``dict``; keys: ``str`` kept; ``None``,
                                                   bools and numbers as JSON writes them
                                                   (``1`` -> ``"1"``, ``True`` -> ``"true"``)
``list``, ``tuple``                                ``list``
``set``, ``frozenset``                             ``list``, sorted
numpy scalars (``np.generic``)                     the Python scalar (``.item()``);
                                                   ``datetime64`` as ISO text
numpy arrays                                       nested lists (``.tolist()``)
paths (:class:`pathlib.PurePath`)                  ``str``
``datetime``, ``date``, ``time``                   ISO 8601 text (``.isoformat()``; pandas
                                                   Timestamps are datetimes)
dataclass instances                                ``dict`` of their fields
:class:`enum.Enum` members                         their ``value``
anything else                                      :class:`TypeError` naming the type and
                                                   where it was (``params['model']``): never
                                                   ``str()`` or ``repr()`` of an unknown
                                                   object, which would be stored as a
                                                   misleading string
=================================================  ========================================
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
from collections.abc import Mapping
from pathlib import PurePath

import numpy as np

__all__ = ["jsonable"]


def jsonable(value, *, where: str = "value"):
    """``value`` as plain JSON types (rules in :mod:`workbench.core.jsonable`).

    Parameters
    ----------
    value : object
    where : str
        How error messages name ``value`` (e.g. ``"params"``).

    Raises
    ------
    TypeError
        A value (or a mapping key) of a type with no JSON form, e.g.
        ``params['model']: objects of type Model have no JSON form``.
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value, where=where)
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(np.datetime_as_string(value))
    if isinstance(value, np.generic):
        return jsonable(value.item(), where=where)
    for t in (bool, int, float, str):   # subclasses of the plain types
        if isinstance(value, t):
            return t(value)
    if isinstance(value, Mapping):
        return {_key(k, where): jsonable(v, where=f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v, where=f"{where} item") for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufU":
            return value.tolist()
        return jsonable(value.tolist(), where=where)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), where=f"{where}.{f.name}")
                for f in dataclasses.fields(value)}
    raise TypeError(f"{where}: objects of type {type(value).__name__} have no JSON form "
                    f"(give numbers, text, lists, dicts, numpy values, paths or times)")


def _key(k, where: str) -> str:
    if isinstance(k, str):
        return str(k)
    if isinstance(k, np.generic):
        k = k.item()
    if k is None or isinstance(k, (bool, int, float)):
        return json.dumps(k)
    raise TypeError(f"{where}: a key of type {type(k).__name__} ({k!r}) has no JSON form "
                    f"(keys must be text or numbers)")
