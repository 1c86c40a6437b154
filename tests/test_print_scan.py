"""The QR codes on a printed card sheet and poster page scan back to the exact links.

Each inline SVG of the print page is rendered as printed (resvg) and read by an independent
decoder (zxing-cpp), sharp and at a phone camera's pixel size (about 3 pixels per module: a
card at 40 cm in a 1280 × 720 preview). Both are wheels from PyPI in the test extra.
"""

from __future__ import annotations

import html
import io
import re
from urllib.parse import urlsplit

import numpy as np
import pytest
import resvg_py
import zxingcpp
from PIL import Image

from survey_app.models import LinkKind
from survey_app.services.distribution import link_url, qr_payload

MODULES = 29 + 2 * 2  # version 3 with a border of 2


def scan(svg: str, px_per_module: float) -> list[str]:
    png = resvg_py.svg_to_bytes(svg_string=svg, width=MODULES * 12, background="#ffffff")
    image = Image.open(io.BytesIO(png)).convert("L")
    size = round(MODULES * px_per_module)
    pixels = np.asarray(image.resize((size, size), Image.Resampling.BOX))
    return [r.text for r in zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)]


def printed(page: str, url_tag: str) -> list[tuple[str, str]]:
    """(svg, url printed beside it) for every code on a print page."""
    svgs = re.findall(r'<div class="qr">(<svg.*?</svg>)</div>', page, re.S)
    urls = [html.unescape(u) for u in re.findall(rf'<{url_tag} class="url">([^<]*)</{url_tag}>', page)]
    assert len(svgs) == len(urls) > 0
    return list(zip(svgs, urls, strict=True))


def assert_scans_to(svg: str, link) -> None:  # type: ignore[no-untyped-def]
    url = link_url("http://survey.test", link)
    for px_per_module in (8, 3):
        decoded = scan(svg, px_per_module)
        assert decoded == [qr_payload(url)], (px_per_module, decoded, url)
        # what the phone opens: scheme and host are case-insensitive, the path is the link's, to the letter
        opened = urlsplit(decoded[0])
        assert (opened.scheme.lower(), opened.netloc.lower(), opened.path) == ("http", "survey.test", f"/R/{link.token}")


@pytest.mark.parametrize("kind", ["cards", "posters"])
def test_printed_codes_scan_back_to_the_exact_links(client, auth, published, kind):
    auth.login("staff")
    q = published["村办公经费"]
    village = next(link.village for link in q.links if link.kind == LinkKind.CARD)
    page = client.get(f"/questionnaires/{q.id}/print/{kind}?village={village.id}").get_data(as_text=True)
    if kind == "cards":
        expected = sorted((link for link in q.links if link.kind == LinkKind.CARD and link.village_id == village.id),
                          key=lambda link: link.card_no)
        codes = printed(page, "span")
        assert len(codes) >= 8  # at least one whole sheet
    else:
        expected = [link for link in q.links if link.kind == LinkKind.POSTER and link.village_id == village.id]
        codes = printed(page, "p")
    assert [url for _, url in codes] == [link_url("http://survey.test", link) for link in expected]
    for (svg, _), link in zip(codes, expected, strict=True):
        assert_scans_to(svg, link)


def test_a_code_for_another_link_does_not_pass():
    """The check can fail: a code that carries another token is refused."""
    from survey_app.models import Link
    from survey_app.services.distribution import qr_svg

    svg = qr_svg("http://survey.test/R/" + "A" * 24, scale=4)
    with pytest.raises(AssertionError):
        assert_scans_to(svg, Link(token="B" * 24))
