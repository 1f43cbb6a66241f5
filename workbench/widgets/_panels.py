"""Re-export of :mod:`workbench.labeling.panels` (items -> drawable panels, shared with the
server's labeling page; it lives below the widgets so that importing it loads no widget
library)."""

from workbench.labeling.panels import *  # noqa: F403
from workbench.labeling.panels import __all__  # noqa: F401
