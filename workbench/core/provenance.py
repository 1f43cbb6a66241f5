"""Records of what made a derived column or array: name, version, parameters, time."""

from __future__ import annotations

import datetime as _dt
import json

from workbench.core.version import __version__

__all__ = ["made_by"]


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_jsonable(v) for v in value]
        return repr(value)


def made_by(name: str, version: str | None = None, **params) -> dict:
    """Describe the tool that made a derived product.

    Parameters
    ----------
    name : str
        The tool or function, e.g. ``"workbench.embed.umap"``.
    version : str, optional
        Its version; defaults to the workbench version.
    **params
        The parameters it ran with (made JSON-safe).
    """
    if version is None:
        version = __version__
    return {
        "name": name,
        "version": str(version),
        "params": _jsonable(params),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
