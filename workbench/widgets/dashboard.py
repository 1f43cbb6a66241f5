"""The active-learning dashboard: learning curve over rounds, confusion matrix and per-class
metrics (drawn by :mod:`workbench.plots`, interactive Bokeh charts), the current queue with
thumbnails and why each item is there, and the model's held-out mistakes.

It holds no state that matters: everything is read from the :class:`ActiveLoop`'s recorded
rounds (the Collection's derived data), so the widget can be rebuilt at any time. Retraining runs
in a background thread (:meth:`ActiveLoop.start_round`) with a progress bar and a cancel
button; the kernel stays responsive.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd

__all__ = ["Dashboard", "dashboard_state", "dashboard_figure"]


def dashboard_state(loop, *, max_queue: int = 12, max_mistakes: int = 12) -> dict:
    """Everything the dashboard shows, as plain data (the testable part).

    Returns dict with ``curve`` (DataFrame: round, n_train, accuracy, ...), ``per_class``
    (DataFrame: class, precision, recall, f1, support), ``queue`` (DataFrame: id, score,
    rank, reason, pred_label, pred_confidence), ``mistakes`` (list of dicts), ``round``.
    """
    curve = loop.history()
    rec = loop.record()
    per_class = pd.DataFrame(columns=["class", "precision", "recall", "f1", "support"])
    mistakes = []
    if rec is not None:
        pc = rec["metrics"].get("per_class", {})
        per_class = pd.DataFrame([{"class": c, **{k: v[k] for k in
                                                  ("precision", "recall", "f1", "support")}}
                                  for c, v in pc.items()])
        mistakes = rec.get("mistakes", [])[:max_mistakes]
    return {"round": loop.current_round(), "curve": curve, "per_class": per_class,
            "queue": loop.queue().head(max_queue), "mistakes": mistakes}


def _thumb(coll, item_id, product=None, size=64) -> str:
    """A data URL of the item's thumbnail, drawn as the Gallery draws it (per kind)."""
    from workbench.widgets._panels import thumbnail
    from workbench.widgets.render import encode_png

    item = coll[str(item_id)]
    prod = product or next(iter(item.images))
    img = np.asarray(item.images[prod], np.float32)
    png = encode_png(thumbnail(img if img.ndim == 3 else img[None], str(item.meta["kind"]), size))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def dashboard_figure(loop):
    """The dashboard's charts, drawn by :mod:`workbench.plots` (the functions a notebook
    calls too): the learning curve over rounds, and the current round's confusion matrix
    and per-class precision/recall/F1. A HoloViews Layout."""
    from workbench.plots import bokeh_backend, confusion, learning_curve, per_class

    hv = bokeh_backend()
    k = loop.current_round()
    parts = [learning_curve(loop, width=420, height=280)]
    if k is not None:
        parts += [confusion(loop, round=k, width=340, height=280),
                  per_class(loop, round=k, width=420, height=280)]
    return hv.Layout(parts).opts(shared_axes=False)


class Dashboard:
    """ipywidgets view of an :class:`~workbench.active.loop.ActiveLoop`.

    Parameters
    ----------
    loop : ActiveLoop
    product : str, optional
        Image product for the thumbnails (default: the first).
    """

    def __init__(self, loop, *, product: str | None = None):
        import ipywidgets as w

        self.state: dict = {}
        self.loop = loop
        self.product = product
        self.job = None
        self.charts = w.Output()
        self.figure = None
        self.metrics = w.HTML()
        self.queue_html = w.HTML()
        self.mistakes_html = w.HTML()
        self.status = w.HTML()
        self.progress = w.FloatProgress(min=0, max=1, description="retrain")
        self.strategy = w.Dropdown(options=self._strategies(), value=loop.strategy,
                                   description="strategy")
        self.retrain_button = w.Button(description="Retrain now", icon="refresh")
        self.cancel_button = w.Button(description="Cancel", disabled=True)
        self.retrain_button.on_click(lambda _: self.retrain())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.widget = w.VBox([
            w.HBox([self.strategy, self.retrain_button, self.cancel_button, self.progress]),
            self.status,
            self.charts, self.metrics,
            w.HTML("<b>Queue (what to label next, and why)</b>"), self.queue_html,
            w.HTML("<b>Held-out mistakes</b>"), self.mistakes_html])
        self.refresh()

    @staticmethod
    def _strategies():
        from workbench.active.acquisition import available

        return available()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def refresh(self) -> dict:
        """Re-read the rounds and redraw; returns :func:`dashboard_state`."""
        st = dashboard_state(self.loop)
        self._draw(dashboard_figure(self.loop))
        pc = st["per_class"]
        self.metrics.value = ("<i>no round yet</i>" if pc.empty else
                              f"<b>round {st['round']}</b>" + pc.round(3).to_html(index=False))
        # strategy advisor (issue 17): saved by ActiveLoop.advice(), claims only what its
        # interval supports
        st["advice"] = getattr(self.loop, "latest_advice", lambda: None)()
        if st["advice"]:
            self.metrics.value += (f"<p><b>Strategy advisor</b>: "
                                   f"{html.escape(st['advice']['message'])}</p>")
        rows = []
        for _, r in st["queue"].iterrows():
            rows.append(f"<tr><td><img src='{_thumb(self.loop.coll, r['id'], self.product)}' "
                        f"width=64></td><td>{html.escape(str(r['id']))}</td>"
                        f"<td>{html.escape(r['reason'])}</td><td>{r['score']:.3g}</td>"
                        f"<td>{html.escape(str(r['pred_label']))} "
                        f"({r['pred_confidence']:.2f})</td></tr>")
        self.queue_html.value = ("<table><tr><th></th><th>id</th><th>why</th><th>score</th>"
                                 "<th>model says</th></tr>" + "".join(rows) + "</table>")
        mrows = [f"<tr><td><img src='{_thumb(self.loop.coll, m['id'], self.product)}' width=64>"
                 f"</td><td>{html.escape(m['id'])}</td><td>{html.escape(m['label'])}</td>"
                 f"<td>{html.escape(m['pred'])} ({m['confidence']:.2f})</td></tr>"
                 for m in st["mistakes"]]
        self.mistakes_html.value = ("<table><tr><th></th><th>id</th><th>label</th>"
                                    "<th>predicted</th></tr>" + "".join(mrows) + "</table>")
        self.state = st  # last, so a reader sees a finished redraw
        return st

    def _draw(self, figure) -> None:
        """Put ``figure`` in the charts area: its rich output (Bokeh over the kernel's
        comm) as the Output widget's one output; set directly, so that the background
        thread finishing a round can redraw too. Without IPython (scripts, tests) only
        :attr:`figure` is kept."""
        self.figure = figure
        try:
            from IPython import get_ipython

            ip = get_ipython()
        except ImportError:
            ip = None
        if ip is None:
            return
        data, meta = ip.display_formatter.format(figure)
        self.charts.outputs = ({"output_type": "display_data", "data": data,
                                "metadata": meta},)

    def retrain(self):
        """Start a round in the background (the widget stays responsive)."""
        if self.job is not None and not self.job.done:
            return self.job
        self.loop.strategy = self.strategy.value
        self.progress.value = 0
        self.cancel_button.disabled = False
        self.retrain_button.disabled = True
        self.status.value = "retraining..."
        self.job = self.loop.start_round()

        def on_progress(rec):
            self.progress.value = rec["epoch"] / rec["epochs"]

        self.job.on_progress(on_progress)

        def finish(job):
            try:
                rec = job.result()
                self.status.value = (f"round {rec.round} done: accuracy "
                                     f"{rec.metrics.get('accuracy')}")
            except Exception as exc:  # noqa: BLE001 - shown to the user
                self.status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            self.cancel_button.disabled = True
            self.retrain_button.disabled = False
            self.refresh()

        self.job.on_done(finish)  # from the round's own thread: no second thread waits on it
        return self.job

    def cancel(self):
        """Cancel the running round (the previous model stays in use)."""
        if self.job is not None:
            self.job.cancel()
