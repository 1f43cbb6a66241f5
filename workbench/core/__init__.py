"""Core layer: item kinds, errors, provenance records. Depends on numpy/astropy only."""
