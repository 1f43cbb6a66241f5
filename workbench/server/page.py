"""The labeling page: one HTML document with its script inline, data only in attributes.

The script is the widgets' drawing code (``workbench/widgets/_draw.js``, read as text: no
widget library is imported) followed by ``static/label.js``. Campaign names, the annotator
and every other value reach the page HTML-escaped in ``data-`` attributes, and the
Content-Security-Policy (:func:`page_csp`) lets the page run nothing but that script (by a
fresh nonce per response) and talk only to its own server.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

__all__ = ["page_html", "page_csp", "script"]

_HERE = Path(__file__).parent

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{name}} · workbench labeling</title>
</head>
<body data-api="{{api}}" data-campaign="{{campaign}}" data-collection="{{collection}}"
      data-annotator="{{annotator}}">
<noscript>This labeling page needs JavaScript.</noscript>
<div id="wb-app"></div>
<script nonce="{{nonce}}">{{code}}</script>
</body>
</html>
"""

_SLOT = re.compile(r"\{\{(\w+)\}\}")


@cache
def script() -> str:
    """The page's script: ``_draw.js`` then ``label.js``."""
    draw = _HERE.parent / "widgets" / "_draw.js"
    code = draw.read_text() + "\n" + (_HERE / "static" / "label.js").read_text()
    if "</script" in code.lower():
        raise RuntimeError("the page script must not contain '</script'")
    return code


def page_html(values: dict, nonce: str) -> str:
    """The page with ``values`` (``campaign``, ``name``, ``collection``, ``api``,
    ``annotator``) HTML-escaped into their slots and the script inline under ``nonce``.
    Filled in one pass: a value can never open another slot."""
    def fill(m):
        k = m.group(1)
        if k == "code":
            return script()
        if k == "nonce":
            return nonce
        return html.escape(str(values[k]), quote=True)

    return _SLOT.sub(fill, _TEMPLATE)


def page_csp(nonce: str) -> str:
    """The page's Content-Security-Policy: its own inline script only (by ``nonce``), data:
    and blob: images, requests to its own server only, no forms, no other framing."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "img-src data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'self'")
