"""Records of what made a derived column or array: name, version, parameters, time."""

from __future__ import annotations

import datetime as _dt

from workbench.core.jsonable import jsonable
from workbench.core.version import __version__

__all__ = ["made_by"]


def made_by(name: str, version: str | None = None, **params) -> dict:
    """Describe the tool that made a derived product.

    Parameters
    ----------
    name : str
        The tool or function, e.g. ``"workbench.embed.umap"``.
    version : str, optional
        Its version; defaults to the workbench version.
    **params
        The parameters it ran with, made JSON-safe by
        :func:`workbench.core.jsonable.jsonable` (TypeError for a value with no JSON form).
    """
    if version is None:
        version = __version__
    return {
        "name": name,
        "version": str(version),
        "params": jsonable(params, where=f"parameters of {name}"),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
