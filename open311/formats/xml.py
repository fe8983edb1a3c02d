"""Open311 XML: the Spark convention run backwards (lists get an item tag)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

# The element that repeats inside each container.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "service_request_updates": "request_update",
}

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# XML 1.0 forbids most control characters; phones paste them in.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def to_xml(root_tag: str, payload: Any) -> bytes:
    root = etree.Element(root_tag)
    _fill(root, payload)
    # Written by hand so it uses double quotes, the form clients match on.
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8")


def _fill(element: etree._Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(etree.SubElement(element, key), child)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        item_tag = ITEM_TAGS.get(element.tag, "item")
        for child in value:
            _fill(etree.SubElement(element, item_tag), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, float):
        element.text = repr(value)
    elif value is not None:
        element.text = _ILLEGAL_XML.sub("", str(value))
