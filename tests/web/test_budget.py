"""The first visit's CSS and JavaScript, compressed, stay within 120 KB (map tiles aside)."""

from __future__ import annotations

import gzip
import re

import pytest

from open311.config import PACKAGE_DIR

BUDGET_BYTES = 120 * 1024
_ASSET = re.compile(r'(?:<link rel="stylesheet" href|<script src)="/static/([^"]+)"')


@pytest.mark.parametrize("path", ["/", "/services/PHF", "/requests/SR00-00000000"])
def test_css_and_js_of_a_page_fit_the_budget(client, path):
    page = client.get(path).text
    assets = _ASSET.findall(page)
    assert any(a.endswith(".css") for a in assets)
    sizes = {
        asset: len(gzip.compress((PACKAGE_DIR / "static" / asset).read_bytes(), compresslevel=9))
        for asset in assets
    }
    total = sum(sizes.values())
    print(f"{path}: {total / 1024:.1f} KB gzip of CSS and JS, budget 120 KB: {sizes}")
    assert total <= BUDGET_BYTES, sizes
