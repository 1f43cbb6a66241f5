"""Sky coordinates of simple images: the one tangent-plane (TAN) WCS builder."""

from __future__ import annotations

__all__ = ["tan_wcs"]


def tan_wcs(shape, ra: float, dec: float, pixscale_arcsec: float):
    """A gnomonic (TAN) astropy WCS, north up and east left, centred on ``(ra, dec)``.

    Parameters
    ----------
    shape : (ny, nx)
        Image shape; the image centre (0-based pixel ``((nx - 1) / 2, (ny - 1) / 2)``,
        FITS ``CRPIX = ((nx + 1) / 2, (ny + 1) / 2)``) is at ``(ra, dec)``.
    ra, dec : float
        ICRS degrees.
    pixscale_arcsec : float
        Pixel size in arcsec (``CDELT = (-s, s) / 3600`` degrees: RA grows to the left).

    Returns
    -------
    astropy.wcs.WCS
        Two axes ``RA---TAN``, ``DEC--TAN`` in degrees, ``RADESYS = 'ICRS'``.
    """
    from astropy.wcs import WCS

    ny, nx = (int(n) for n in shape)
    if not pixscale_arcsec > 0:
        raise ValueError(f"pixscale_arcsec must be positive, not {pixscale_arcsec!r}")
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    w.wcs.crval = [float(ra), float(dec)]
    w.wcs.cdelt = [-pixscale_arcsec / 3600.0, pixscale_arcsec / 3600.0]
    w.wcs.radesys = "ICRS"
    w.wcs.equinox = 2000.0
    return w
