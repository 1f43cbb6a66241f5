"""workbench: look at, label and learn from radio and time-domain survey data.

>>> import workbench
>>> coll = workbench.open("survey/")          # doctest: +SKIP
>>> coll[0].images["radio"].shape             # doctest: +SKIP

``import workbench`` loads neither torch nor any widget library; those load when used.
"""

from workbench.io.collection import Collection, Item, ProductSpec, create, open

__version__ = "0.1.0"
__all__ = ["Collection", "Item", "ProductSpec", "open", "create", "__version__"]
