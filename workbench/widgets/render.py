"""Re-export of :mod:`workbench.labeling.render` (pure rendering, shared with the server's
labeling page; it lives below the widgets so that importing it loads no widget library)."""

from workbench.labeling.render import *  # noqa: F403
from workbench.labeling.render import __all__  # noqa: F401
