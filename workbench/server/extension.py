"""Loading the campaign extension into a Jupyter server, and its configuration.

:class:`WorkbenchCampaigns` holds what the handlers share (the campaign registry, the
labeling sessions, the image cache) and is configured like any Jupyter object, e.g. in
``jupyter_server_config.py``::

    c.WorkbenchCampaigns.collections = ["/data/lotss-dr2"]        # served wherever they are
    c.WorkbenchCampaigns.stores = {"/data/lotss-dr2": "postgresql+psycopg://lab@db/labels"}
    c.WorkbenchCampaigns.search_root_dir = True                   # also look under root_dir
    c.WorkbenchCampaigns.max_depth = 2
"""

from __future__ import annotations

from traitlets import Bool, Dict, Int, List, Unicode
from traitlets.config import LoggingConfigurable

__all__ = ["WorkbenchCampaigns", "load"]


class WorkbenchCampaigns(LoggingConfigurable):
    """The campaign extension's configuration and shared state."""

    collections = List(Unicode(), config=True,
                        help="Collection folders whose campaigns are served, wherever they are.")
    stores = Dict(config=True,
                  help="Collection folder -> label store URL, for listed Collections whose "
                       "store is not labels.sqlite beside them.")
    campaigns = List(Unicode(), config=True,
                     help="Serve only campaigns of these names (empty: all found).")
    search_root_dir = Bool(True, config=True,
                           help="Look for Collections with a label store under the server's "
                                "root_dir (never through links or hidden folders).")
    max_depth = Int(2, config=True, help="How many folders deep below root_dir to look.")
    workers = Int(4, config=True, help="Threads that run labeling calls (store and images).")
    image_cache = Int(512, config=True, help="Items whose rendered images are kept in memory.")
    item_cache = Int(256, config=True,
                     help="Items (images and catalog rows) kept in memory, read once for "
                          "all annotators.")
    prefetch = Int(16, config=True,
                   help="Items after the one shown, in the campaign's order, rendered ahead.")
    render_processes = Int(0, config=True,
                           help="Worker processes that draw the items (0: draw in the "
                                "server's own threads). `workbench campaign serve` uses 1.")
    warm_up = Bool(False, config=True,
                   help="At start, load the drawing libraries and find the campaigns in a "
                        "background job (`warm_job`; the first annotator does not wait for "
                        "them).")

    def start(self, root_dir: str) -> None:
        from workbench.server.items import ItemCache
        from workbench.server.payload import ImageCache
        from workbench.server.registry import Registry
        from workbench.server.sessions import SessionPool

        roots = [root_dir] if self.search_root_dir and root_dir else []
        self.registry = Registry(roots, collections=self.collections, stores=self.stores,
                                 campaigns=self.campaigns or None, max_depth=self.max_depth)
        self.items = ItemCache(self.item_cache)
        self.sessions = SessionPool(self.registry, workers=self.workers, items=self.items)
        renderer = None
        if self.render_processes > 0:
            from workbench.server.render_pool import RenderPool

            renderer = RenderPool(self.render_processes)
        self.images = ImageCache(self.image_cache, ahead=self.prefetch, items=self.items,
                                 renderer=renderer)
        #: the warm-up's :class:`~workbench.core.jobs.Job` (None when ``warm_up`` is off)
        self.warm_job = None
        if self.warm_up:
            from workbench.core.jobs import Job

            self.warm_job = Job(lambda progress, cancel: self._warm(),
                                name="workbench-warm-up").start()

    def _warm(self) -> None:
        try:
            import numpy as np

            import workbench.labeling.session  # noqa: F401 - the labeling code and io
            from workbench.labeling import panels, render  # noqa: F401

            render.colormap_lut("inferno")  # matplotlib
            render.contour_lines(np.eye(4), [0.5])  # contourpy
            render.encode_png(np.zeros((2, 2, 4), np.uint8))  # PIL

            for ref in self.registry.scan().values():
                camp = self.registry.campaign(ref)
                coll = self.registry.collection(ref)
                self.items.ids(coll)
                first = camp.item_ids[:1]
                if first:  # the first items drawn (astropy, the drawing code), ahead too
                    self.images.get(ref, coll, camp, first[0])
        except Exception as exc:  # noqa: BLE001 - a warm-up only; requests report errors
            self.log.warning("workbench campaigns: warm-up failed: %s", exc)


def load(serverapp) -> WorkbenchCampaigns:
    """Register the handlers on ``serverapp``'s web application."""
    from workbench.server.handlers import handlers

    wb = WorkbenchCampaigns(parent=serverapp, config=serverapp.config)
    wb.start(serverapp.root_dir)
    web_app = serverapp.web_app
    web_app.settings["workbench_campaigns"] = wb
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    serverapp.log.info("workbench campaigns: REST API under %sworkbench/api/",
                       web_app.settings["base_url"])
    return wb
