"""The campaign server's request log: a successful request's line is not built while debug
messages are off; anything else is logged by jupyter_server's own function (token scrubbed)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from tornado.httputil import HTTPHeaders, HTTPServerRequest

from workbench.server.app import log_request


def _handler(status: int, logger):
    req = HTTPServerRequest(method="GET", uri="/workbench/api/campaigns/c/next?token=abc123tok",
                            headers=HTTPHeaders({"Referer": "http://x/?token=abc123tok"}))
    req.remote_ip = "127.0.0.1"
    return SimpleNamespace(get_status=lambda: status, request=req, log=logger, settings={},
                           current_user=None)


def test_success_lines_only_with_debug_and_failures_always(caplog):
    logger = logging.getLogger("wb-test-request-log")
    logger.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger=logger.name):
        log_request(_handler(200, logger))
        assert caplog.records == []
        log_request(_handler(403, logger))
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.WARNING
    text = caplog.records[0].getMessage()
    assert "403 GET /workbench/api/campaigns/c/next" in text and "abc123tok" not in text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        log_request(_handler(200, logger))
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "200 GET" in caplog.records[0].getMessage()
