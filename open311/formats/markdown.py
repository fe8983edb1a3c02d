"""Markdown → HTML that is safe to put in a page.

Two well-kept libraries do the two jobs: markdown-it-py parses CommonMark
(raw HTML in the source is escaped, never passed through, and it refuses
javascript:, vbscript: and file: links), then nh3 (the Rust sanitiser
ammonia) keeps only an allowlist of tags and attributes, links with http,
https, mailto or tel, and drops <script> and <style> with their content. The
second pass means that no change to the parser's options, and no Markdown
trick, can put script, style, an event handler or a javascript: URL in the
output.
"""

from __future__ import annotations

from functools import cache
from typing import Final

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS: Final = frozenset(
    {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre"}
    | {"blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES: Final = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES: Final = frozenset({"http", "https", "mailto", "tel"})


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def to_safe_html(markdown: str) -> str:
    html = _parser().render(markdown)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
