"""Turn filterbanks and candidate lists into a Collection of DM-time and frequency-time images.

The search data is a SIGPROC filterbank or a search-mode PSRFITS file, chosen by content
(:func:`workbench.io.filterbank.open_filterbank`). Several files at once are paired with
their candidate lists by the rule of :mod:`workbench.io.filterbank_pairs`; each pair is
one unit of work (:func:`filterbank_items`; one Dask task each with ``client=``), all
stored in one transaction. Items get
``ra``/``dec`` from the file header (SIGPROC ``src_raj``/``src_dej``, PSRFITS ``RA``/``DEC``;
NaN when absent).

For each candidate (arrival time ``t`` at the top of the band, DM, width ``w``):

1. time decimation ``D = max(1, w_samples // 2)`` (the FETCH / ``your`` rule); the images
   have ``n_time`` columns of ``D`` samples, centred on ``t``;
2. only the needed span of the file is read (memory-mapped), each channel normalised with
   the file's channel statistics (median, standard deviation), bad channels zeroed;
   channels are shifted by their delays rounded to native samples and averaged over the
   ``D`` samples of each column (a running mean sampled every ``D``: the same as shifting
   at full resolution and then decimating, so a pulse lands in the same column in every
   channel);
3. ``dm_time``: the band-summed series dedispersed at ``n_dm`` trial DMs from 0 to
   ``dm_factor x DM`` (at least ``min_dm_span``), shape ``(n_dm, n_time)``, summed over
   sub-bands where that is cheaper (every channel's delay within one sample of exact);
   ``freq_time``: the data dedispersed at the candidate DM, frequency resized to ``n_freq``
   rows (lowest frequency in row 0), shape ``(n_freq, n_time)``;
4. each image normalised (median subtracted, divided by its standard deviation).

Windows running past the file's ends are padded with the channel median (0 after
normalisation) and flagged in the ``padded`` column. Per item the axes are stored, so
``item.axes["dm_time"]`` holds ``dm`` (pc cm^-3 of each row) and ``time`` (s from the file
start of each column; the start of the column's ``D`` samples) and ``item.axes["freq_time"]``
holds ``freq`` (MHz of each row) and ``time``.

Limits (checked before anything is allocated; a candidate over them is skipped with its
reason, or stops the ingest with ``errors="raise"``):

- :data:`MAX_WINDOW`: the span read for one candidate, ``(n_time x D + the sweep at the top
  trial DM) samples x channels x IFs``, is at most ``2**27`` values (512 MiB as float32);
  a 100 s wide pulse or a DM whose sweep spans most of an hour-long file exceeds it
  (``max_window=`` raises it for a machine with the memory);
- :data:`MAX_IMAGE_SIDE`: ``n_dm``, ``n_time`` and ``n_freq`` are 2 .. 1024;
- channel statistics are measured on at most ``2**25`` values (8192 samples of 4096
  channels), fewer samples for files with more channels.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import FilterbankError, InputError, WorkbenchError
from workbench.core.kinds import BASE_COLUMNS, TRANSIENT
from workbench.io._atomic import new_folder
from workbench.io.batching import BatchBuffer
from workbench.io.candidates import read_candidates
from workbench.io.collection import Collection
from workbench.io.filterbank import open_filterbank
from workbench.io.filterbank_pairs import Pair, pair_inputs
from workbench.io.ingest_fits import IngestReport
from workbench.io.progress import progress_bar
from workbench.io.transient_images import (
    MAX_IMAGE_SIDE,
    MAX_WINDOW,
    ChannelStats,
    candidate_images,
    channel_stats,
    check_candidate,
    transient_products,
)

__all__ = ["ChannelStats", "channel_stats", "check_candidate", "candidate_images",
           "ingest_filterbank", "filterbank_items", "ImageParams", "transient_products",
           "MAX_WINDOW", "MAX_IMAGE_SIDE"]


@dataclass(frozen=True)
class ImageParams:
    """How candidates are imaged (see :func:`candidate_images`) and read."""

    n_dm: int = 256
    n_time: int = 256
    n_freq: int = 256
    dm_factor: float = 2.0
    min_dm_span: float = 10.0
    width_unit: str = "samples"
    mask: object = "auto"
    max_window: int = MAX_WINDOW


def filterbank_items(pair: Pair, params: ImageParams = ImageParams(), *, errors: str = "skip",
                     skipped: list | None = None, notes: dict | None = None,
                     check_table: Callable | None = None) -> Iterator[tuple[dict, dict, dict]]:
    """The items of one filterbank and its candidate list, one at a time.

    The unit of work of an ingest (a task of its own when run in parallel): opens
    ``pair.fil`` (SIGPROC or PSRFITS), reads ``pair.candidates`` (only the rows naming
    ``pair.file_name`` when set), checks every candidate, then yields ``(catalog row,
    images, axes)`` per candidate. Candidates that cannot be used are appended to
    ``skipped`` as ``(input, reason)`` (``errors="skip"``) or raise (``errors="raise"``);
    counted remarks go to ``notes``. ``check_table(table, catalog_names, src)``, if given,
    sees the usable candidates before any is imaged (and may raise).
    """
    skipped = [] if skipped is None else skipped
    notes = {} if notes is None else notes
    fb = open_filterbank(pair.fil)
    if fb.nchans * fb.header.nifs * params.n_time > params.max_window:
        raise FilterbankError(f"has {fb.nchans} channels x {fb.header.nifs} IF(s): a window of "
                              f"{params.n_time} samples would exceed the limit of "
                              f"{params.max_window} values", path=fb.path,
                              hint="raise the window limit, or use smaller images")
    cl = read_candidates(pair.candidates, tsamp=fb.tsamp, tstart=fb.header.tstart,
                         width_unit=params.width_unit)
    src = cl.path
    table = cl.table
    rejected = cl.rejected
    if pair.file_name is not None:
        col = next(c for c in table.columns if str(c).strip().lower() in ("file", "filename"))
        names = table[col].astype(str).map(lambda v: os.path.basename(v.strip().replace("\\", "/")))
        table = table[names == pair.file_name].reset_index(drop=True)
        rejected = [(r, why) for r, why in rejected if _names(pair, r)]
    for r, why in rejected:
        if errors == "raise":
            raise FilterbankError(why, path=src)
        skipped.append((f"{src} row {r}", why))
    stats = channel_stats(fb, mask=params.mask)
    if stats.mask.any():
        note = f"{int(stats.mask.sum())} of {fb.nchans} channels masked"
        notes[note] = notes.get(note, 0) + 1
    work = []  # check every candidate first, so errors="raise" stops before any imaging
    for k in range(len(table)):
        row = table.iloc[k]
        try:
            check_candidate(fb, float(row.time_s), float(row.dm), float(row.width_s),
                            n_time=params.n_time, dm_factor=params.dm_factor,
                            min_dm_span=params.min_dm_span, max_window=params.max_window)
        except Exception as exc:  # noqa: BLE001 -- errors="skip" skips any per-candidate failure
            if errors == "raise":
                raise _candidate_error(exc, fb, src, row) from exc
            skipped.append((f"{src} row {int(row.row)}", _reason(exc)))
            continue
        work.append(k)
    rename = _catalog_names(table.columns)
    if check_table is not None and work:
        check_table(table.iloc[work], rename, src)
    ra, dec = float(fb.header.ra_deg), float(fb.header.dec_deg)
    for k in work:
        row = table.iloc[k]
        try:
            img = candidate_images(
                fb, float(row.time_s), float(row.dm), float(row.width_s), stats=stats,
                n_dm=params.n_dm, n_time=params.n_time, n_freq=params.n_freq,
                dm_factor=params.dm_factor, min_dm_span=params.min_dm_span,
                max_window=params.max_window)
        except Exception as exc:  # noqa: BLE001 -- as above
            if errors == "raise":
                raise _candidate_error(exc, fb, src, row) from exc
            skipped.append((f"{src} row {int(row.row)}", _reason(exc)))
            continue
        meta = {rename.get(c, c): row[c] for c in table.columns}
        meta.update(id=f"{pair.id_stem}-{int(row.row):06d}", source_file=str(pair.fil),
                    ra=ra, dec=dec, padded=img["padded"], decimation=img["decimation"],
                    time_s=float(row.time_s), dm=float(row.dm), width_s=float(row.width_s),
                    snr=float(row.snr))
        if img["padded"]:
            note = "window ran past the file's end: padded"
            notes[note] = notes.get(note, 0) + 1
        yield meta, {"dm_time": img["dm_time"], "freq_time": img["freq_time"]}, img["axes"]


def _names(pair: Pair, row: int) -> bool:
    """Whether rejected line ``row`` of the list names ``pair.file_name`` (read again,
    as text: a rejected row is not in the parsed table)."""
    from workbench.io.filterbank_pairs import file_column

    names = file_column(pair.candidates)
    return names is not None and 0 <= row < len(names) and names[row] == pair.file_name


def ingest_filterbank(fil, candidates, out, *, n_dm: int = 256, n_time: int = 256,
                      n_freq: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                      width_unit: str = "samples", mask="auto", errors: str = "skip",
                      batch_size: int = 64, overwrite: bool = False,
                      progress: bool | Callable = False,
                      max_window: int = MAX_WINDOW, client=None) -> IngestReport:
    """Ingest the candidates of one or many filterbank files into a Collection.

    Parameters
    ----------
    fil : path-like, glob pattern, folder, or a list of them
        SIGPROC filterbank or search-mode PSRFITS file(s), told apart by content.
    candidates : path-like, glob pattern, folder, list of them, or DataFrame
        Candidate list(s) (formats: :mod:`workbench.io.candidates`); paired with the
        filterbanks by the rule of :mod:`workbench.io.filterbank_pairs` (same stem, or a
        ``file`` column naming the filterbank; one and one always pair).
    out : path-like or Collection
        Folder of a new Collection, or an open (r+) Collection with the transient products
        to append to.
    n_dm, n_time, n_freq, dm_factor, min_dm_span :
        See :func:`candidate_images`; image sides are 2 .. :data:`MAX_IMAGE_SIDE`,
        ``dm_factor`` finite and positive, ``min_dm_span`` finite and not negative.
    width_unit : {"samples", "s", "ms", "log2"}
        Unit of a candidate column named plain ``width`` (``your``'s cand.csv: always log2).
    mask : "auto", None or bool array of shape (nchans,)
        Bad channels (see :func:`channel_stats`).
    errors : {"skip", "raise"}
        ``"skip"``: every candidate that cannot be ingested, for any reason (a rejected row of
        the list, a time outside the file, an implausible DM, a window over ``max_window``,
        a failure while imaging it), and every file that cannot be paired, is reported in
        ``skipped`` with its reason and the rest are ingested. ``"raise"``: the first such
        candidate or file stops the ingest with a
        :class:`~workbench.core.errors.FilterbankError` and nothing is written.
    max_window : int
        Most values (samples x channels x IFs) read for one candidate (:data:`MAX_WINDOW`,
        512 MiB as float32).
    client : distributed.Client, optional
        Run on this Dask cluster: one task per filterbank and its list stages a segment
        (beside ``out``, or in an existing Collection's ``.staging``), all committed together
        at the end in one transaction; ids, pixels and catalog are the serial ingest's, and a
        rerun after an interruption skips the files already staged (see
        :mod:`workbench.io._filterbank_tasks`). Default: this process, no staging.

    Returns
    -------
    IngestReport
        ``skipped`` lists ``(candidate or file, reason)``.

    Raises
    ------
    FilterbankError
        A filterbank or candidate list cannot be used, a candidate cannot be ingested
        with ``errors="raise"``, or no candidate at all could be ingested.
    InputError
        A parameter is out of range.
    """
    _check_params(errors, n_dm, n_time, n_freq, dm_factor, min_dm_span, batch_size, max_window)
    params = ImageParams(n_dm, n_time, n_freq, dm_factor, min_dm_span, width_unit, mask,
                         max_window)
    pairs, unpaired = pair_inputs(fil, candidates)
    report = IngestReport(path=str(getattr(out, "path", out)), shape=(n_dm, n_time))
    for inp, why in unpaired:
        if errors == "raise":
            raise FilterbankError(why, path=inp)
        report.skipped.append((inp, why))
    if not pairs:
        raise FilterbankError(f"no filterbank could be paired with a candidate list: "
                              f"{report.skipped[:3]}", path=str(fil))
    src = str(pairs[0].candidates) if len(pairs) == 1 else f"{len(pairs)} candidate lists"
    given = isinstance(out, Collection)
    inputs = [p.fil for p in pairs] + [p.candidates for p in pairs]
    check = (lambda t, names, s: _check_columns_fit(out, t, names, s)) if given else None
    if client is not None:
        from workbench.io._filterbank_tasks import ingest_filterbank_tasks

        ingest_filterbank_tasks(pairs, out, params=params, errors=errors, overwrite=overwrite,
                                progress=progress, client=client, report=report,
                                describe=_describe(pairs), inputs=inputs, src=src)
        return report
    bars: list = []  # started with the first item, so an early error prints one line only
    n_cands = 0
    try:
        with contextlib.nullcontext() if given else new_folder(out, inputs=inputs):
            coll = out if given else Collection.create(
                out, transient_products(n_dm, n_time, n_freq), overwrite=overwrite,
                description=f"transient candidates from {_describe(pairs)}")
            with coll.appender() as app:
                buf = BatchBuffer(app, kind=TRANSIENT, size=batch_size)
                for pair in pairs:
                    n_before, n_rows = len(report.skipped), 0
                    for meta, images, axes in filterbank_items(
                            pair, params, errors=errors, skipped=report.skipped,
                            notes=report.notes, check_table=check):
                        if not bars:
                            bars.extend(progress_bar(progress, len(pairs), unit="file",
                                                     desc="filterbanks"))
                        n_rows += 1
                        buf.add(meta, images, axes)
                    n_cands += n_rows + len(report.skipped) - n_before
                    if bars:
                        bars[0](1)
                buf.flush()
                if app.n_added == 0:  # nothing could be ingested: write nothing
                    raise FilterbankError(f"none of the {n_cands} candidate(s) could be "
                                          f"ingested: {report.skipped[:3]}", path=src)
    except WorkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 -- e.g. a column of text where the catalog has numbers
        raise FilterbankError(f"the candidates could not be stored in {report.path} "
                              f"({_reason(exc)})", path=src,
                              hint="nothing was written; check the candidate list's columns"
                              ) from exc
    finally:
        if bars:
            bars[1]()
    report.n_items = app.n_added
    return report


def _describe(pairs: list[Pair]) -> str:
    names = sorted({Path(p.fil).name for p in pairs})
    return names[0] if len(names) == 1 else f"{len(names)} files ({names[0]}, ...)"


def _check_params(errors, n_dm, n_time, n_freq, dm_factor, min_dm_span, batch_size,
                  max_window) -> None:
    if errors not in ("raise", "skip"):
        raise InputError(f"errors must be 'raise' or 'skip', not {errors!r}")
    for name, v in (("n_dm", n_dm), ("n_time", n_time), ("n_freq", n_freq)):
        if not 2 <= int(v) <= MAX_IMAGE_SIDE:
            raise InputError(f"{name}={v}: image sides must be 2 .. {MAX_IMAGE_SIDE} pixels")
    if not (np.isfinite(dm_factor) and dm_factor > 0):
        raise InputError(f"dm_factor={dm_factor}: it must be a finite positive number")
    if not (np.isfinite(min_dm_span) and min_dm_span >= 0):
        raise InputError(f"min_dm_span={min_dm_span}: it must be a finite number >= 0")
    if int(batch_size) < 1:
        raise InputError(f"batch_size={batch_size}: it must be at least 1")
    if int(max_window) < 1:
        raise InputError(f"max_window={max_window}: it must be at least 1")


def _reason(exc: Exception) -> str:
    """One line saying why a candidate failed."""
    if isinstance(exc, WorkbenchError):
        return exc.reason if exc.hint is None else f"{exc.reason} ({exc.hint})"
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _candidate_error(exc: Exception, fb, src: str, row) -> WorkbenchError:
    """``exc`` as the error that stops an ``errors="raise"`` ingest."""
    if isinstance(exc, WorkbenchError):
        return exc
    return FilterbankError(f"candidate in row {int(row.row)} of {src} could not be imaged "
                           f"({_reason(exc)})", path=fb.path)


_OURS = ("time_s", "dm", "width_s", "snr")  # columns read_candidates makes, stored as they are


def _catalog_names(columns) -> dict:
    """Catalog name of every candidate column: our own as they are; a column of the list
    whose name the catalog uses (``id``, ``ra``, ``padded``, ...; ``row``, the line number)
    gets a ``cand_`` prefix, repeated until it clashes with nothing."""
    reserved = set(BASE_COLUMNS) | {"padded", "decimation", "row"}
    taken = set(_OURS) | reserved
    names = {}
    for c in columns:
        if c in _OURS:
            names[c] = c
            continue
        name = str(c)
        while name in taken:
            name = f"cand_{name}"
        taken.add(name)
        names[c] = name
    return names


def _check_columns_fit(coll: Collection, table, names: dict, src) -> None:
    """Refuse, before anything is written, a list column that holds text where the
    Collection's catalog column of the same name holds numbers, or the other way round."""
    cat = coll.catalog
    for c, name in names.items():
        if name not in cat.columns or c in _OURS:
            continue
        ours = pd.api.types.is_numeric_dtype(cat[name]) or pd.api.types.is_bool_dtype(cat[name])
        new = table[c].dropna()
        theirs = pd.api.types.is_numeric_dtype(new) or pd.api.types.is_bool_dtype(new)
        if len(new) and len(cat[name].dropna()) and ours != theirs:
            kinds = ("numbers", "text") if ours else ("text", "numbers")
            raise FilterbankError(f"column {c!r} holds {kinds[1]}, but the Collection's column "
                                  f"{name!r} holds {kinds[0]}", path=src,
                                  hint="rename the column, or append to another Collection")
