"""The workbench's version, in the core layer so that every layer can record it.

``workbench.__version__`` re-exports it; keep it equal to ``version`` in pyproject.toml
(a test compares them).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
