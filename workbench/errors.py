"""Public home of the workbench's exceptions (see :mod:`workbench.core.errors`)."""

from workbench.core.errors import *  # noqa: F401,F403
from workbench.core.errors import __all__  # noqa: F401
