"""Which candidate list belongs to which filterbank, when many are ingested at once.

``workbench ingest filterbank 'obs/*.fil' --candidates 'obs/*.cand'``: both sides are
files, folders (their search-data or candidate files) or glob patterns. The pairing rule:

1. A candidate list with a column naming files (``file`` or ``filename``, as in ``your``'s
   ``cand.csv``): each of its rows goes to the filterbank whose file name (the last part of
   the path in the column; folders in it are ignored, never opened) is the same. Names
   that match none, or several, of the filterbanks given are reported, not guessed.
2. Any other list goes to the filterbank with the same stem: ``obs1.cand`` and
   ``obs1.singlepulse`` to ``obs1.fil`` (or ``obs1.fits``); where several filterbanks
   share the stem, the one in the list's folder.
3. One filterbank and one list without a file column always pair, whatever their names.

Filterbanks without a list and lists without a filterbank are reported. Item ids are
``<stem>-<row>`` (row: the line of the list, 0-based, six digits); filterbanks sharing a stem
are told apart by their folder name (then ``~2``, ``~3``, ...), and a filterbank paired
with several lists gets the list's stem in its ids too, so ids stay unique across files.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.core.errors import FilterbankError

__all__ = ["Pair", "SEARCH_SUFFIXES", "CANDIDATE_SUFFIXES", "expand", "pair_inputs",
           "file_column"]

SEARCH_SUFFIXES = (".fil", ".fits", ".sf")
CANDIDATE_SUFFIXES = (".cand", ".cands", ".singlepulse", ".csv", ".tsv", ".tab")
_FILE_COLUMNS = ("file", "filename")


@dataclass(frozen=True)
class Pair:
    """One filterbank and its candidate list: the unit of work of an ingest.

    ``file_name``: when the list names files, only its rows naming this file belong here.
    ``id_stem``: the prefix of the items' ids.
    """

    fil: Path
    candidates: object  # a path or a DataFrame
    file_name: str | None
    id_stem: str


def expand(inputs, suffixes) -> list[Path]:
    """Files, folders (their files ending in ``suffixes``) and glob patterns, sorted within
    each input, without duplicates."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out: list[Path] = []
    for p in inputs:
        s = str(p)
        if os.path.isdir(s):
            out += sorted(Path(s, f) for f in os.listdir(s) if f.lower().endswith(suffixes)
                          and os.path.isfile(os.path.join(s, f)))
        elif any(ch in s for ch in "*?[") and not os.path.exists(s):
            found = sorted(Path(f) for f in glob.glob(s, recursive=True) if os.path.isfile(f))
            if not found:
                raise FilterbankError("no file matches this pattern", path=s)
            out += found
        else:
            out.append(Path(s))
    seen, uniq = set(), []
    for p in out:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq


def file_column(cands) -> list[str] | None:
    """The file names (last path part) in a list's ``file``/``filename`` column, per row;
    None when it has no such column (or is not a table with a header)."""
    if isinstance(cands, pd.DataFrame):
        df = cands
    else:
        name = str(cands).lower()
        if not name.endswith((".csv", ".tsv", ".tab")):
            return None
        try:
            head = pd.read_csv(cands, sep=None, engine="python", dtype=str, nrows=0,
                               skipinitialspace=True, comment="#")
        except Exception:  # noqa: BLE001 -- unreadable: read_candidates says why, later
            return None
        cols = {str(c).strip().lower(): c for c in head.columns}
        col = next((cols[c] for c in _FILE_COLUMNS if c in cols), None)
        if col is None:
            return None
        try:
            df = pd.read_csv(cands, sep=None, engine="python", dtype=str, usecols=[col],
                             skipinitialspace=True, comment="#")
        except Exception:  # noqa: BLE001 -- as above
            return None
    cols = {str(c).strip().lower(): c for c in df.columns}
    col = next((cols[c] for c in _FILE_COLUMNS if c in cols), None)
    if col is None:
        return None
    return [os.path.basename(str(v).strip().replace("\\", "/")) for v in df[col]]


def _stem(p) -> str:
    return Path(str(p)).name.rsplit(".", 1)[0] if "." in Path(str(p)).name else Path(str(p)).name


def _id_stems(fils: list[Path]) -> dict[Path, str]:
    stems = {f: _stem(f) for f in fils}
    counts = pd.Series(list(stems.values())).value_counts()
    out, used = {}, set()
    for f in fils:
        s = stems[f]
        if counts[s] > 1:
            s = f"{f.parent.name}_{s}" if f.parent.name else s
        base, k = s, 2
        while s in used:
            s, k = f"{base}~{k}", k + 1
        used.add(s)
        out[f] = s
    return out


def pair_inputs(fils, candidates) -> tuple[list[Pair], list[tuple[str, str]]]:
    """Pair filterbanks with candidate lists by the rule in the module docstring.

    Returns ``(pairs, unpaired)``; ``unpaired`` lists ``(input, reason)``.
    """
    fil_list = expand(fils, SEARCH_SUFFIXES)
    if isinstance(candidates, pd.DataFrame):
        cand_list: list = [candidates]
    else:
        cand_list = expand(candidates, CANDIDATE_SUFFIXES)
    if not fil_list:
        raise FilterbankError("no filterbank file given", path=str(fils))
    if not cand_list:
        raise FilterbankError("no candidate list given", path=str(candidates))
    stems = _id_stems(fil_list)
    by_name: dict[str, list[Path]] = {}
    by_stem: dict[str, list[Path]] = {}
    for f in fil_list:
        by_name.setdefault(f.name, []).append(f)
        by_stem.setdefault(_stem(f), []).append(f)
    raw: list[tuple[Path, object, str | None]] = []
    unpaired: list[tuple[str, str]] = []
    for c in cand_list:
        label = "<table>" if isinstance(c, pd.DataFrame) else str(c)
        names = file_column(c)
        if names is not None:
            given = sorted(set(names))
            if not any(n in by_name for n in given) and len(fil_list) == 1:
                raise FilterbankError(
                    f"the candidate list's file column names {given[:3]}, not "
                    f"{fil_list[0].name!r}", path=label,
                    hint="give the filterbank its rows name, or drop the file column")
            for n in given:
                hits = by_name.get(n, [])
                if len(hits) == 1:
                    raw.append((hits[0], c, n))
                elif hits:
                    unpaired.append((label, f"rows name file {n!r}, which matches "
                                            f"{len(hits)} of the filterbanks given "
                                            f"({', '.join(str(h) for h in hits[:3])}); "
                                            "give only one of them"))
                else:
                    unpaired.append((label, f"rows name file {n!r}, which is not among the "
                                            "filterbanks given"))
        elif len(fil_list) == 1 and len(cand_list) == 1:
            raw.append((fil_list[0], c, None))
        elif not isinstance(c, pd.DataFrame) and _stem(c) in by_stem:
            hits = by_stem[_stem(c)]
            near = [f for f in hits if os.path.abspath(f.parent) == os.path.abspath(Path(c).parent)]
            if len(hits) == 1 or len(near) == 1:
                raw.append(((near or hits)[0], c, None))
            else:
                unpaired.append((label, f"{len(hits)} filterbanks have its stem and none (or "
                                        "several) lies in its folder"))
        else:
            unpaired.append((label, "no filterbank has the same stem and the list has no "
                                    "file column"))
    per_fil: dict[Path, int] = {}
    for f, _, _ in raw:
        per_fil[f] = per_fil.get(f, 0) + 1
    pairs = []
    for f, c, n in raw:
        stem = stems[f]
        if per_fil[f] > 1 and not isinstance(c, pd.DataFrame):
            stem = f"{stem}-{_stem(c)}"
        pairs.append(Pair(f, c, n, stem))
    paired = {f for f, _, _ in raw}
    unpaired += [(str(f), "no candidate list pairs with it") for f in fil_list
                 if f not in paired]
    return pairs, unpaired
