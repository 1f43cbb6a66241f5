"""Widgets: item views, the Gallery and the Labeler (anywidget; JavaScript beside each class).

>>> from workbench.widgets import Labeler, Gallery, view_item   # doctest: +SKIP
"""

from workbench.widgets.gallery import Gallery
from workbench.widgets.labeler import Labeler
from workbench.widgets.views import ImageView, LensView, RadioView, TransientView, view_item

__all__ = ["Gallery", "Labeler", "RadioView", "TransientView", "LensView", "ImageView",
           "view_item"]
