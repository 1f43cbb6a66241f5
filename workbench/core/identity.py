"""Who is labelling: the one rule for the annotator's name.

:func:`annotator_name` is used by the label store (:func:`workbench.io.labels.default_annotator`,
the default of every ``annotator=``), the Labeler widget and the server's fallback when no
identity comes from jupyter_server's auth, so one person is recorded under one name.
"""

from __future__ import annotations

import getpass
import os

__all__ = ["annotator_name", "ENV_VARS"]

#: Environment variables read in order; the first non-empty one names the annotator.
#: JupyterHub sets ``JUPYTERHUB_USER`` in each user's server, where ``USER`` is often the
#: shared system account (``jovyan``) of every user.
ENV_VARS = ("JUPYTERHUB_USER", "USER")


def annotator_name() -> str:
    """``$JUPYTERHUB_USER``, else ``$USER``, else the login name (:func:`getpass.getuser`),
    else ``"anonymous"``."""
    for var in ENV_VARS:
        v = os.environ.get(var)
        if v:
            return v
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name at all (no LOGNAME, no passwd entry)
        return "anonymous"
