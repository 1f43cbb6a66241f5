"""``workbench campaign serve``: a Jupyter server with only the campaign extension.

:func:`make_app` builds a :class:`CampaignServerApp` (a jupyter_server ``ServerApp``) that
loads no other server extension and no Jupyter configuration file, authenticates only
invited annotators (:class:`~workbench.server.identity.InviteIdentityProvider`), refuses
every resource of Jupyter's own API (:class:`~workbench.server.identity.CampaignOnlyAuthorizer`:
no files, kernels or terminals for anybody) and serves one campaign of one Collection.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.serverapp import ServerApp
from traitlets.config import Config

__all__ = ["CampaignServerApp", "make_app", "label_url", "log_request"]


#: Seconds a Python thread may hold the interpreter before another may take it, in the
#: campaign server's process (CPython's default is 0.005). The labeling threads spend most
#: of a request waiting on the label store, several round trips per transaction, holding
#: row locks that other annotators wait for; after each round trip a thread waits for the
#: interpreter, up to this long per thread busy with Python (the event loop, other
#: requests). At 5 ms those waits, not the work, set the throughput under load (a
#: transaction took tens of ms instead of a few); a shorter slice costs a little more
#: switching.
SWITCH_INTERVAL = 0.00025


def log_request(handler) -> None:
    """jupyter_server's request log (:func:`jupyter_server.log.log_request`, without its
    Prometheus histogram), except that a successful request's line, a debug message, is
    not built at all when debug messages are not shown (building it cost each request)."""
    import logging

    status = handler.get_status()
    if (status < 300 or status == 304) and not handler.log.isEnabledFor(logging.DEBUG):
        return
    from jupyter_server.log import log_request as jupyter_log_request

    jupyter_log_request(handler, record_prometheus_metrics=False)


class CampaignServerApp(ServerApp):
    """A ServerApp that runs the workbench campaign extension and nothing else.

    :meth:`start` sets the process's thread switch interval to :data:`SWITCH_INTERVAL`
    (this server's process is its own; inside a JupyterLab the extension leaves it alone).
    """

    name = "workbench-campaign-serve"
    description = "Serve one workbench labeling campaign to invited annotators."

    def start(self) -> None:
        import sys

        sys.setswitchinterval(SWITCH_INTERVAL)
        super().start()

    def load_config_file(self, *args, **kwargs):  # the command line says everything
        return None

    def find_server_extensions(self) -> None:
        self.jpserver_extensions = {"workbench.server": True}

    def init_server_extensions(self) -> None:
        self.jpserver_extensions = {"workbench.server": True}
        super().init_server_extensions()


def label_url(base: str, key: str, token: str | None = None) -> str:
    """The labeling page of campaign ``key`` under ``base`` (``http://host:port``)."""
    from urllib.parse import quote

    url = f"{base.rstrip('/')}/workbench/campaigns/{quote(key, safe='')}/label"
    return url if token is None else f"{url}?token={quote(token, safe='')}"


def make_app(collection, campaign: str, *, store_url: str | None = None, port: int = 8891,
             ip: str = "127.0.0.1", log_level: str = "WARN") -> CampaignServerApp:
    """An initialised :class:`CampaignServerApp` for ``campaign`` of ``collection``.

    ``store_url``: the label store (default ``COLLECTION/labels.sqlite``). Call ``.start()``
    to serve (blocks until interrupted).
    """
    folder = Path(collection).resolve()
    store = str(store_url) if store_url else str(folder / "labels.sqlite")
    c = Config()
    c.ServerApp.ip = ip
    c.ServerApp.port = int(port)
    c.ServerApp.port_retries = 0
    c.ServerApp.open_browser = False
    c.ServerApp.root_dir = str(folder)
    c.ServerApp.terminals_enabled = False
    # Jupyter refuses root because kernels would run as root; this server runs no kernels,
    # terminals or file access for anybody (CampaignOnlyAuthorizer)
    c.ServerApp.allow_root = True
    c.ServerApp.identity_provider_class = \
        "workbench.server.identity.InviteIdentityProvider"
    c.ServerApp.authorizer_class = "workbench.server.identity.CampaignOnlyAuthorizer"
    c.ServerApp.log_level = log_level
    # no Prometheus histogram per request (nobody scrapes this server; it costs each request)
    c.ServerApp.record_http_request_metrics = False
    c.ServerApp.tornado_settings = {"log_function": log_request}
    c.InviteIdentityProvider.store_url = store
    c.InviteIdentityProvider.campaign = str(campaign)
    c.WorkbenchCampaigns.collections = [str(folder)]
    c.WorkbenchCampaigns.stores = {str(folder): store}
    c.WorkbenchCampaigns.campaigns = [str(campaign)]
    c.WorkbenchCampaigns.search_root_dir = False
    c.WorkbenchCampaigns.warm_up = True
    c.WorkbenchCampaigns.render_processes = 1  # items drawn beside the server's interpreter
    app = CampaignServerApp(config=c)
    app.initialize(argv=[], find_extensions=False)
    return app
