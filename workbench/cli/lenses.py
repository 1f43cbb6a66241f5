"""``workbench ingest stamps``, ``workbench simulate lenses`` and ``workbench export
lens-challenge``: strong-lens candidates (multi-band stamps)."""

from __future__ import annotations

import sys

import click

from workbench.cli._common import dask_client, dask_options, parse_shape, print_report

__all__ = ["ingest_stamps_cmd", "simulate_lenses_cmd", "export_lens_challenge_cmd"]


def _parse_bands(text):
    if not text:
        return None
    return [b.strip() for b in text.split(",") if b.strip()]


@click.command("stamps")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--bands", help="Comma-separated bands every object must have, e.g. g,r,i "
              "(default: every band found). Stored in wavelength order.")
@click.option("--product", default="bands", show_default=True, help="Name of the image product.")
@click.option("--size", help="Common shape N or NYxNX, at most 4096 per side (default: the "
              "first object's shape).")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="Stop at the first bad object, or skip it and report why.")
@click.option("--resample", is_flag=True,
              help="Put bands of different pixel scales on the finest band's pixel grid "
                   "(bilinear, flux-conserving; scales from the WCS, CDELT1/CD1_1, or the lens "
                   "challenge's known ones: VIS 0.1\", NISP 0.3\", KiDS 0.2\").")
@click.option("--labels", "labels", type=click.Path(), default=None,
              help="Table with an ID column joined to the objects as catalog columns (default: "
                   "the classifications.csv of a folder given, if any).")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
@dask_options
def ingest_stamps_cmd(paths, out, bands, product, size, errors, resample, labels, overwrite,
                      as_json, scheduler, workers):
    """Ingest multi-band stamps (files, folders or globs) into a new Collection of lens
    candidates.

    Three layouts are understood, and may be mixed: one FITS file per band per object, the
    band named in the file name (obj12_g.fits, obj12-r.fits, obj12/i.fits) or in the header
    (FILTER/BAND; the object then from OBJECT or the file name); a multi-extension FITS file
    with one band per image HDU (band from EXTNAME or FILTER); a 3-D cube with a band axis
    (names from BAND1..BANDn, FILTER1..n or a comma-separated BANDS key); the Bologna
    lens-finding challenge's imageSDSS_<BAND>-<ID>.fits / imageEUC_<BAND>-<ID>.fits (in
    Band1/ ... subfolders of a folder given; its classifications.csv is joined by ID).
    """
    from workbench.io.ingest_stamps import ingest_stamps

    with dask_client(scheduler, workers) as client:
        rep = ingest_stamps(paths, out, bands=_parse_bands(bands), product=product,
                            size=parse_shape(size), errors=errors, overwrite=overwrite,
                            progress=not as_json and sys.stderr.isatty(), resample=resample,
                            labels=labels, client=client)
    print_report(rep, as_json, f"ingested {rep.n_items} object(s) with bands "
                               f"{','.join(rep.bands)} of shape {rep.shape} into {out}")


@click.command("lenses")
@click.option("--n", "n", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of stamps.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--space", is_flag=True,
              help="Space-like single VIS band at 0.1\"/px instead of ground-like g,r,i at 0.2\"/px.")
@click.option("--lens-fraction", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Fraction of stamps that are lenses (the rest: ellipticals, spirals, "
                   "mergers, ring galaxies).")
@click.option("--size", type=click.IntRange(min=16), default=101, show_default=True,
              help="Stamp width in pixels (at most 4096).")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
def simulate_lenses_cmd(n, seed, out, space, lens_fraction, size, overwrite):
    """Simulate strong-lens candidates (with truth) as a Collection.

    SIE + external-shear lenses deflecting blue Sersic sources into arcs and rings behind
    red ellipticals, and non-lenses (ellipticals, spirals, mergers, ring galaxies), with a
    Moffat PSF and sky noise. Truth is in the catalog: truth (1 lens / 0 not), truth_class,
    theta_e_arcsec, lens_*, source_* and galaxy_* columns.
    """
    from workbench.io.fits_open import check_stamp_shape, rows_per_batch
    from workbench.sims.lenses import simulate_lenses

    check_stamp_shape((size, size), "--size")  # one-line error, exit 2, before anything
    coll = simulate_lenses(out, n, seed=seed, space=space, lens_fraction=lens_fraction,
                           size=size, overwrite=overwrite,
                           batch_size=rows_per_batch(200, 4 * 3 * size * size))
    cat = coll.catalog
    spec = coll.products["bands"]
    click.echo(f"simulated {len(cat)} stamp(s) ({int(cat['truth'].sum())} lenses) with bands "
               f"{','.join(spec.channels)} of shape {spec.shape} into {out}")


@click.command("lens-challenge")
@click.argument("collection", type=click.Path())
@click.option("-o", "--out", required=True, type=click.Path(), help="Submission CSV to write.")
@click.option("--score", default=None,
              help="Numeric column holding each item's lens score (default: pred_lens, or the "
                   "only pred_* column).")
@click.option("--query", default=None, help="Only items whose catalog rows match this query.")
@click.option("--no-header", is_flag=True, help="Leave out the ID,score header line.")
def export_lens_challenge_cmd(collection, out, score, query, no_header):
    """Write the lens-finding challenge's two-column submission file: ID,score per item."""
    from workbench.io.collection import open as open_collection
    from workbench.io.lens_challenge import write_submission

    res = write_submission(open_collection(collection), out, score=score, query=query,
                           header=not no_header)
    click.echo(f"wrote {res['rows']} score(s) from column {res['score']!r} to {res['path']}")
