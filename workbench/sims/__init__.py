"""Simulators: realistic sample surveys with ground truth (io layer: numpy/scipy/astropy only).

- :mod:`workbench.sims.radio`: radio continuum cutouts (compact, FRI, FRII, bent, ring,
  multi-island, artefact) with a Gaussian restoring beam, correlated noise and an optional
  infrared host channel, and a mosaic mode (one large FITS map plus its catalogue).

Simulators may import ``workbench.core``, ``workbench.io`` and ``workbench.imaging``, never
torch nor any widget library.
"""

__all__: list[str] = []
