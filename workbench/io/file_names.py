"""File names made from item ids for exports (one file per item in a folder)."""

from __future__ import annotations


def item_file_name(item_id, used: set, *, max_len: int = 120) -> str:
    """A file name for ``item_id`` that stays inside its folder and is unique in ``used``.

    Characters other than letters, digits and ``-_.+`` become ``_``, leading dots are
    dropped (no hidden files, no ``..``), the name is cut to ``max_len`` characters, and a
    name already in ``used`` gets ``_2``, ``_3``, ...; the result is added to ``used``.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in str(item_id))[:max_len]
    safe = safe.lstrip(".") or "item"
    name, k = safe, 2
    while name in used:
        name, k = f"{safe}_{k}", k + 1
    used.add(name)
    return name
