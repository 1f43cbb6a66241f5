"""``workbench ingest filterbank``, ``ingest candidates``, ``export fetch-h5`` and
``workbench simulate transients``."""

from __future__ import annotations

import click

from workbench.cli._common import dask_client, dask_options, print_report

__all__ = ["ingest_filterbank", "ingest_candidates_cmd", "export_fetch_h5_cmd",
           "simulate_transients"]

_CANDS_HELP = """Candidate list. Formats: Heimdall .cand (snr sample time filter dm_trial dm
members begin end; width 2**filter samples), PRESTO .singlepulse (DM Sigma Time Sample
Downfact; width Downfact samples), or CSV/TSV with a header: time (time_s | tcand | time |
stime, s from file start; or sample; or mjd), dm (pc cm^-3), width (width_s s | width_ms |
width_samples | boxcar | downfact samples | log2width | filter, log2 samples | plain width in
--width-unit), snr (snr | sigma); your's cand.csv (file,snr,stime,width,dm,label,...; width
log2 samples) is recognised by its header. Times are arrival times at the top of the band.
A file, folder or quoted glob; repeat for more. Pairing with the filterbanks: a list with a
'file' column (your's cand.csv) goes row by row to the filterbank of that file name; any
other list to the filterbank with the same stem (obs1.cand -> obs1.fil); one filterbank
and one list always pair."""


@click.command("filterbank")
@click.argument("fils", nargs=-1, required=True)
@click.option("--candidates", "-c", required=True, multiple=True, help=_CANDS_HELP)
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--width-unit", type=click.Choice(["samples", "s", "ms", "log2"]),
              default="samples", show_default=True,
              help="Unit of a candidate column named plain 'width'.")
@click.option("--dm-factor", type=float, default=2.0, show_default=True,
              help="DM-time rows span 0 .. dm-factor x DM (pc cm^-3).")
@click.option("--min-dm-span", type=float, default=10.0, show_default=True,
              help="Smallest upper DM of the DM-time image (for DM ~ 0 candidates).")
@click.option("--size", type=int, default=256, show_default=True,
              help="Pixels per side of both images (DMs x time, channels x time); 2 .. 1024.")
@click.option("--mask", "mask", type=click.Choice(["auto", "none"]), default="auto",
              show_default=True, help="Mask constant and outlying-spread channels, or none.")
@click.option("--errors", type=click.Choice(["skip", "raise"]), default="skip", show_default=True,
              help="skip: report every candidate that cannot be ingested (bad row, outside the "
                   "file, implausible DM, window over --max-window-mib) with its reason and "
                   "ingest the rest; raise: stop at the first and write nothing.")
@click.option("--max-window-mib", type=float, default=512.0, show_default=True,
              help="Largest span of data read for one candidate (float32 samples x channels); "
                   "candidates whose window is larger are skipped with their reason.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
@dask_options
def ingest_filterbank(fils, candidates, out, width_unit, dm_factor, min_dm_span, size, mask,
                      errors, max_window_mib, overwrite, as_json, scheduler, workers):
    """Make DM-time and frequency-time images (256 x 256, normalised) of every candidate in
    search data FILS (SIGPROC filterbanks, 1/2/4/8/16/32 bits, or search-mode PSRFITS,
    told apart by content; files, folders or quoted globs such as 'obs/*.fil') and store
    them as one Collection with products dm_time and freq_time; per item the DM
    (pc cm^-3), time (s from the file start) and frequency (MHz) of every row and column
    are kept, and RA/Dec from the file header. Item ids are <file stem>-<row of the list>,
    unique across files. With --workers/--scheduler each filterbank is one Dask task."""
    import math

    from workbench.core.errors import InputError
    from workbench.io.ingest_filterbank import ingest_filterbank as run

    if not (math.isfinite(max_window_mib) and 0 < max_window_mib <= 2**30):
        raise InputError(f"--max-window-mib {max_window_mib:g}: give a number of MiB above 0 "
                         "and at most 2**30")
    from workbench.io.filterbank_pairs import CANDIDATE_SUFFIXES

    # an unquoted --candidates glob expands into several words: click hands all but the
    # first to FILS; a candidate list is never search data, so give them back
    strays = [f for f in fils if f.lower().endswith(CANDIDATE_SUFFIXES)]
    fils = [f for f in fils if f not in strays]
    candidates = list(candidates) + strays
    if not fils:
        raise InputError("no filterbank given (only candidate lists)",
                         hint="give .fil or PSRFITS files before --candidates")
    fils = fils if len(fils) > 1 else fils[0]
    cands = candidates if len(candidates) > 1 else candidates[0]
    with dask_client(scheduler, workers) as client:
        rep = run(fils, cands, out, n_dm=size, n_time=size, n_freq=size, dm_factor=dm_factor,
                  min_dm_span=min_dm_span, width_unit=width_unit,
                  mask=None if mask == "none" else "auto", errors=errors,
                  overwrite=overwrite, progress=not as_json,
                  max_window=max(1, int(max_window_mib * 2**20 / 4)), client=client)
    print_report(rep, as_json, f"ingested {rep.n_items} candidate(s) into {out}",
                 note_unit="candidate(s)")


@click.command("candidates")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--fetch-results", "fetch_results", multiple=True,
              help="FETCH results_<model>.csv (candidate,probability,label) to join as columns "
                   "fetch_<model>_probability / fetch_<model>_label, matched by file name; "
                   "repeat for more. Default: every results_*.csv beside the input files.")
@click.option("--errors", type=click.Choice(["skip", "raise"]), default="skip", show_default=True,
              help="skip: report unreadable files with their reason and ingest the rest; "
                   "raise: stop at the first and write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
@dask_options
def ingest_candidates_cmd(paths, out, fetch_results, errors, overwrite, as_json, scheduler,
                          workers):
    """Ingest your/FETCH candidate HDF5 files (PATHS: files, folders of .h5, quoted globs):
    data_dm_time becomes dm_time (DM rows dm + linspace(-dm, dm, 256), lowest first),
    data_freq_time (time x frequency) becomes freq_time transposed with the lowest
    frequency in row 0; columns are tsamp x max(1, width // 2) s, the burst at tcand (s from
    the observation start) in the middle column."""
    from workbench.io.ingest_candidates import ingest_candidates as run

    with dask_client(scheduler, workers) as client:
        rep = run(list(paths), out, errors=errors, overwrite=overwrite,
                  fetch_results=list(fetch_results) or None, progress=not as_json,
                  client=client)
    print_report(rep, as_json, f"ingested {rep.n_items} candidate(s) into {out}")


@click.command("fetch-h5")
@click.argument("collection", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(), help="Folder to create.")
@click.option("--query", default=None, help="Only the items matching this catalog query.")
@click.option("--compression", type=click.Choice(["gzip", "lzf"]), default="gzip",
              show_default=True, help="HDF5 compression of the datasets.")
@click.option("--overwrite", is_flag=True, help="Replace an existing folder of .h5 files.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def export_fetch_h5_cmd(collection, out, query, compression, overwrite, as_json):
    """Write the transient items of COLLECTION as your/FETCH candidate files, one
    <cand_id>.h5 per item (data_dm_time, data_freq_time and your's attributes), for FETCH's
    predict.py or your's tools; `workbench ingest candidates` reads them back."""
    from workbench.io.export_fetch import export_fetch_h5 as run

    rep = run(collection, out, query=query, overwrite=overwrite, compression=compression,
              progress=not as_json)
    print_report(rep, as_json, f"wrote {rep.n_items} candidate file(s) to {out}",
                 note_unit="file(s)")


@click.command("transients")
@click.option("--n", "n", type=int, default=50, show_default=True, help="Number of events.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
def simulate_transients(n, seed, out, overwrite):
    """Simulate a filterbank with FRBs, a pulsar, broadband and narrow-band RFI and noise
    candidates; write OUT/sources/transients.fil, OUT/sources/candidates.csv (with the
    ground truth) and the Collection of their images at OUT (class in catalog column
    'truth')."""
    from workbench.sims.transients import simulate_transients as run

    rep = run(out, n, seed=seed, overwrite=overwrite, progress=True)
    click.echo(f"simulated {rep.n_items} candidate(s) into {out} "
               f"(sources in {out}/sources)")
