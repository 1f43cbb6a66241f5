"""One small hierarchy of errors that speak the user's language.

Every error names the file (or item) it is about and says what to do. Catch
:class:`WorkbenchError` to catch them all.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InputError",
    "FITSError",
    "CatalogError",
    "FilterbankError",
    "CollectionError",
    "ReadOnlyError",
    "OutputError",
    "SchemeError",
    "StoreError",
    "ModelError",
    "BatchError",
    "QueryError",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong, in the user's terms.
    path : str or path-like, optional
        The file or folder the problem is about; it is put in front of the message.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, message: str, *, path=None, hint: str | None = None):
        self.path = None if path is None else str(path)
        self.reason = message
        self.hint = hint
        text = message if self.path is None else f"{self.path}: {message}"
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)


class InputError(WorkbenchError, ValueError):
    """An input file or value cannot be used as it is."""


class FITSError(InputError):
    """A FITS file is unreadable, has no usable image, or has an ambiguous shape."""


class CatalogError(InputError):
    """A catalogue table is missing columns or has values that cannot be used."""


class FilterbankError(InputError):
    """A SIGPROC filterbank file or a candidate list cannot be used."""


class CollectionError(WorkbenchError):
    """A Collection folder is missing, not ours, or inconsistent."""


class ReadOnlyError(CollectionError, PermissionError):
    """A write was asked of a Collection opened read-only."""


class OutputError(WorkbenchError, OSError):
    """An output folder or file cannot be written."""


class SchemeError(InputError):
    """A label scheme is malformed, or an answer is not allowed by the scheme."""


class StoreError(WorkbenchError):
    """The label store is not ours, is corrupt, or refused a write."""


class ModelError(WorkbenchError):
    """A model checkpoint or training request cannot be used."""


class BatchError(WorkbenchError):
    """A batch job failed on some inputs; ``failures`` lists (input, reason) pairs."""

    def __init__(self, message: str, failures, *, path=None, hint=None):
        self.failures = list(failures)
        super().__init__(message, path=path, hint=hint)


class QueryError(InputError):
    """A catalog query uses a construct outside the query language, or cannot be evaluated.

    Queries (``Collection.select``, every ``--query``) are parsed, never executed as Python;
    ``construct`` names what was refused (e.g. ``'@'``, ``'attribute .system'``).
    """

    def __init__(self, message: str, *, query: str | None = None, construct: str | None = None,
                 path=None, hint: str | None = None):
        self.query = query
        self.construct = construct
        super().__init__(message, path=path, hint=hint)
