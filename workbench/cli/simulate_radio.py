"""``workbench simulate radio`` and ``workbench simulate radio-mosaic``."""

from __future__ import annotations

import click

__all__ = ["radio", "radio_mosaic"]


def _sky_options(command):
    """The pixel scale, beam and noise options both radio simulators take."""
    for opt in reversed([
        click.option("--pixscale", default=1.8, show_default=True, type=float,
                     help="Pixel size (arcsec)."),
        click.option("--beam", default=5.0, show_default=True, type=float,
                     help="Restoring beam FWHM (arcsec)."),
        click.option("--rms", default=1e-4, show_default=True, type=float,
                     help="Noise rms (Jy/beam)."),
    ]):
        command = opt(command)
    return command


@click.command("radio")
@click.option("--n", "n", required=True, type=click.IntRange(min=0), help="Number of cutouts.")
@click.option("--seed", required=True, type=click.IntRange(min=0), help="Seed (same seed, same pixels).")
@click.option("-o", "--out", required=True, type=click.Path(), help="Collection folder to create.")
@click.option("--size", default=128, show_default=True, type=click.IntRange(min=16),
              help="Cutout side in pixels.")
@_sky_options
@click.option("--infrared/--no-infrared", default=True, show_default=True,
              help="Also make an infrared host-galaxy product.")
@click.option("--overwrite", is_flag=True, help="Replace an existing Collection at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def radio(n, seed, out, size, pixscale, beam, rms, infrared, overwrite, quiet):
    """Simulate radio cutouts with ground truth as a new Collection.

    Classes (catalog column `truth`): compact, FRI, FRII, bent, ring, multi, artefact.
    Component masks are stored as the derived array `truth_components`.
    """
    from workbench.sims.radio import simulate_radio

    coll = simulate_radio(out, n=n, seed=seed, size=size, pixscale_arcsec=pixscale,
                          beam_fwhm_arcsec=beam, rms=rms, infrared=infrared,
                          overwrite=overwrite, progress=not quiet)
    counts = coll.catalog["truth"].value_counts().sort_index() if len(coll) else {}
    per = ", ".join(f"{k} {v}" for k, v in dict(counts).items())
    click.echo(f"simulated {len(coll)} item(s) of {size}x{size} into {out} ({per})")


@click.command("radio-mosaic")
@click.option("--n", "n", required=True, type=click.IntRange(min=0), help="Number of sources.")
@click.option("--seed", required=True, type=click.IntRange(min=0), help="Seed.")
@click.option("-o", "--out", required=True, type=click.Path(),
              help="Folder to write mosaic.fits and catalog.csv into.")
@click.option("--size", default=4096, show_default=True, type=click.IntRange(min=16),
              help="Map side in pixels.")
@_sky_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
def radio_mosaic(n, seed, out, size, pixscale, beam, rms, quiet):
    """Simulate one large radio map (FITS) and its source catalogue (CSV).

    Use it to try `workbench ingest mosaic OUT/mosaic.fits --catalog OUT/catalog.csv`.
    """
    from workbench.sims.radio import simulate_radio_mosaic

    res = simulate_radio_mosaic(out, n_sources=n, seed=seed, size=size, pixscale_arcsec=pixscale,
                                beam_fwhm_arcsec=beam, rms=rms, progress=not quiet)
    click.echo(f"wrote {res.image} ({size}x{size}) and {res.catalog} ({res.n_sources} sources)")
