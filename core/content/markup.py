"""The small Markdown subset lesson authors may use, rendered to HTML safely: everything is
escaped first, then **bold** becomes <b>…</b>. Nothing else is interpreted. The result is valid
both in the HTML subset chat apps accept and on a web page."""
from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def to_html(text: str) -> str:
    escaped = html.escape(text.strip(), quote=False)
    return _BOLD.sub(r"<b>\1</b>", escaped)
