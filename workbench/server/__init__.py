"""The workbench's Jupyter server extension: labeling campaigns served to browsers.

Installed with the package and enabled automatically (the ``jupyter_server_config.d``
file ``workbench.json``), in JupyterLab, Jupyter Server and JupyterHub's single-user servers:

* a REST API under ``/workbench/api/`` (:mod:`workbench.server.handlers`): the campaigns
  this server can see, the next item for the authenticated user, annotations, skip, undo,
  drafts, keys and clicks, all over one :class:`workbench.labeling.Session` per user;
* a labeling page, ``/workbench/campaigns/<campaign>/label``, drawn by the same code as the
  notebook widgets (``_draw.js``), with the same keys;
* ``workbench campaign serve`` (:mod:`workbench.server.app`): a Jupyter server with only this
  extension, for annotators without notebooks, who reach it through personal invite links
  (:mod:`workbench.server.identity`).

Collections are found under the server's ``root_dir`` (or listed in the configuration,
:class:`workbench.server.extension.WorkbenchCampaigns`); the annotator is always the
server's authenticated user.
"""

from __future__ import annotations

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points():
    return [{"module": "workbench.server"}]


def _load_jupyter_server_extension(serverapp):
    from workbench.server.extension import load

    load(serverapp)
