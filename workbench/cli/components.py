"""``workbench components``: find and store the radio components of every item.
"""

from __future__ import annotations

import click

__all__ = ["components"]


@click.command()
@click.argument("collection", type=click.Path())
@click.option("--product", default="radio", show_default=True, help="Image product to use.")
@click.option("--nsigma", type=float, default=3.0, show_default=True,
              help="Lowest contour in units of the robust noise.")
@click.option("--min-npix", type=int, default=1, show_default=True,
              help="Drop islands with fewer pixels.")
def components(collection, product, nsigma, min_npix):
    """Find the radio components (islands above the lowest contour) of every item and store
    them with COLLECTION (derived array 'components', column n_components)."""
    from workbench.io.collection import open as open_collection
    from workbench.io.components import compute_components

    coll = open_collection(collection, "r+")
    out = compute_components(coll, product, nsigma=nsigma, min_npix=min_npix)
    click.echo(f"{out['n_items']} items, {out['n_components']} components stored in "
               f"{coll.path}")
