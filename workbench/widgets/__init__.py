"""Widgets: item views, the Gallery, the Labeler, the Explorer (embedding maps) and the
active-learning Dashboard (anywidget; JavaScript beside each class).

>>> from workbench.widgets import Labeler, Gallery, Explorer, view_item   # doctest: +SKIP
"""

from workbench.widgets.dashboard import Dashboard
from workbench.widgets.explorer import Explorer
from workbench.widgets.gallery import Gallery
from workbench.widgets.labeler import Labeler
from workbench.widgets.views import ImageView, LensView, RadioView, TransientView, view_item

__all__ = ["Dashboard", "Explorer", "Gallery", "Labeler", "RadioView", "TransientView", "LensView", "ImageView",
           "view_item"]
