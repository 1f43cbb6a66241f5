"""``workbench ingest filterbank`` and ``workbench simulate transients``."""

from __future__ import annotations

import click

from workbench.cli._common import print_report

__all__ = ["ingest_filterbank", "simulate_transients"]

_CANDS_HELP = """Candidate list. Formats: Heimdall .cand (snr sample time filter dm_trial dm
members begin end; width 2**filter samples), PRESTO .singlepulse (DM Sigma Time Sample
Downfact; width Downfact samples), or CSV/TSV with a header: time (time_s | tcand | time |
stime, s from file start; or sample; or mjd), dm (pc cm^-3), width (width_s s | width_ms |
width_samples | boxcar | downfact samples | log2width | filter, log2 samples | plain width in
--width-unit), snr (snr | sigma). Times are arrival times at the top of the band."""


@click.command("filterbank")
@click.argument("fil", type=click.Path(dir_okay=False))
@click.option("--candidates", "-c", required=True, type=click.Path(dir_okay=False),
              help=_CANDS_HELP)
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
def ingest_filterbank(fil, candidates, out, width_unit, dm_factor, min_dm_span, size, mask,
                      errors, max_window_mib, overwrite, as_json):
    """Make DM-time and frequency-time images (256 x 256, normalised) of every candidate in
    a SIGPROC filterbank FIL (1/2/4/8/16/32 bits) and store them as a Collection with
    products dm_time and freq_time; per item the DM (pc cm^-3), time (s from the file
    start) and frequency (MHz) of every row and column are kept."""
    import math

    from workbench.core.errors import InputError
    from workbench.io.ingest_filterbank import ingest_filterbank as run

    if not (math.isfinite(max_window_mib) and 0 < max_window_mib <= 2**30):
        raise InputError(f"--max-window-mib {max_window_mib:g}: give a number of MiB above 0 "
                         "and at most 2**30")
    rep = run(fil, candidates, out, n_dm=size, n_time=size, n_freq=size, dm_factor=dm_factor,
              min_dm_span=min_dm_span, width_unit=width_unit,
              mask=None if mask == "none" else "auto", errors=errors, overwrite=overwrite,
              progress=not as_json, max_window=max(1, int(max_window_mib * 2**20 / 4)))
    print_report(rep, as_json, f"ingested {rep.n_items} candidate(s) into {out}",
                 note_unit="candidate(s)")


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
