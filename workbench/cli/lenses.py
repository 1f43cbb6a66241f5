"""``workbench ingest stamps`` and ``workbench simulate lenses``: strong-lens candidates."""

from __future__ import annotations

import sys

import click

from workbench.cli._common import parse_shape, print_report

__all__ = ["ingest_stamps_cmd", "simulate_lenses_cmd"]


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
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingest report as JSON.")
def ingest_stamps_cmd(paths, out, bands, product, size, errors, overwrite, as_json):
    """Ingest multi-band stamps (files, folders or globs) into a new Collection of lens
    candidates.

    Three layouts are understood, and may be mixed: one FITS file per band per object, the
    band named in the file name (obj12_g.fits, obj12-r.fits, obj12/i.fits) or in the header
    (FILTER/BAND; the object then from OBJECT or the file name); a multi-extension FITS file
    with one band per image HDU (band from EXTNAME or FILTER); a 3-D cube with a band axis
    (names from BAND1..BANDn, FILTER1..n or a comma-separated BANDS key).
    """
    from workbench.io.ingest_stamps import ingest_stamps

    rep = ingest_stamps(paths, out, bands=_parse_bands(bands), product=product,
                        size=parse_shape(size), errors=errors, overwrite=overwrite,
                        progress=not as_json and sys.stderr.isatty())
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
