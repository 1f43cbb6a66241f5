"""The browser's side of a widget's comm, for headless tests, through public hooks only.

``comm.create_comm`` is the documented place where a kernel installs its Comm class (the
``comm`` package says it "is intended to be replaced"); :func:`install` puts a recording
Comm there for the test. A widget made afterwards then

- records what the kernel sends the browser (``comm_open`` with the whole state, a
  ``comm_msg`` per state update or custom message): :meth:`Frontend.sent`;
- receives a custom message exactly as from the JavaScript ``model.send(content)``:
  :meth:`Frontend.send` (ipywidgets routes it to the widget's ``on_msg`` handlers).

So the tests drive the widgets through the wire protocol their JavaScript speaks, never
through a widget's private handler.
"""

from __future__ import annotations

import comm
from comm.base_comm import BaseComm

__all__ = ["Frontend", "install"]


class _RecordingComm(BaseComm):
    def __init__(self, *args, log: list, **kwargs):
        self._log = log  # before BaseComm.__init__, which publishes comm_open
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self._log.append((self.comm_id, msg_type, data or {},
                          [bytes(b) for b in buffers or []]))


class Frontend:
    """What the browser sent and received; see the module docstring."""

    def __init__(self):
        self.log: list[tuple[str, str, dict, list[bytes]]] = []

    def create_comm(self, *args, **kwargs) -> BaseComm:
        return _RecordingComm(*args, log=self.log, **kwargs)

    def send(self, widget, content: dict, buffers=()) -> None:
        """Deliver ``content`` to ``widget`` as the browser's ``model.send(content)``."""
        if widget.comm is None:
            raise RuntimeError("the widget is closed: it has no comm to receive messages")
        widget.comm.handle_msg({
            "content": {"comm_id": widget.comm.comm_id,
                        "data": {"method": "custom", "content": dict(content)}},
            "buffers": list(buffers)})

    def sent(self, widget) -> list[tuple[str, dict, list[bytes]]]:
        """``(msg_type, data, buffers)`` of every message the kernel sent ``widget``'s view."""
        cid = widget.comm.comm_id
        return [(kind, data, bufs) for c, kind, data, bufs in self.log if c == cid]


def install(monkeypatch) -> Frontend:
    """Widgets made after this call (until the test ends) talk to the returned Frontend."""
    fe = Frontend()
    monkeypatch.setattr(comm, "create_comm", fe.create_comm)
    return fe
