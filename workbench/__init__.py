"""workbench: look at, label and learn from radio and time-domain survey data.

>>> import workbench
>>> coll = workbench.open("survey/")          # doctest: +SKIP
>>> coll[0].images["radio"].shape             # doctest: +SKIP
>>> from workbench import Gallery, Labeler, Explorer, open_store   # doctest: +SKIP

What a notebook needs is here at the top level: the Collection (:func:`open`,
:func:`create`, :class:`Collection`, :class:`Item`, :class:`ProductSpec`), the label store
(:func:`open_store`, :class:`LabelStore`), the widgets (:class:`Gallery`, :class:`Labeler`,
:class:`Explorer`, :class:`Dashboard`, :func:`view_item`), the UI-free labeling
:class:`Session`, the shared :class:`Selection`, and the :mod:`plots` and :mod:`errors`
modules.

``import workbench`` loads neither torch, nor any widget or plot library, nor SQLAlchemy:
every name except the Collection's is imported the first time it is used (PEP 562
module ``__getattr__``), so ``from workbench import Labeler`` costs what importing the
widgets costs, and ``import workbench`` stays cheap.
"""

import importlib as _importlib

from workbench.core.version import __version__
from workbench.io.collection import Collection, Item, ProductSpec, create, open

#: public name -> the module it lives in (imported on first use)
_LAZY = {
    "Gallery": "workbench.widgets.gallery",
    "Labeler": "workbench.widgets.labeler",
    "Explorer": "workbench.widgets.explorer",
    "Dashboard": "workbench.widgets.dashboard",
    "view_item": "workbench.widgets.views",
    "open_store": "workbench.io.labels.store",
    "LabelStore": "workbench.io.labels.store",
    "Session": "workbench.labeling.session",
    "Selection": "workbench.core.selection",
}
#: submodules reachable as attributes of ``workbench`` without importing them first
_SUBMODULES = ("plots", "errors")

__all__ = ["Collection", "Item", "ProductSpec", "open", "create", "__version__",
           *_LAZY, *_SUBMODULES]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"workbench.{name}")
    else:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
