"""Printed output: card sheets and posters fill whole A4 pages, also from the downloaded ZIP."""

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from survey_app.db import get_db
from survey_app.models import LinkKind, Questionnaire
from tests.browser.conftest import DESKTOP, login


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def _printing(app) -> dict:  # type: ignore[no-untyped-def]
    """The office-funds questionnaire, its first village with cards, the unused cards there and all posters."""
    session = get_db(app).session()
    q = next(q for q in session.scalars(select(Questionnaire)) if q.indicator.project.name == "村办公经费")
    village = next(link.village for link in q.links if link.kind == LinkKind.CARD)
    unused = sum(1 for link in q.links if link.kind == LinkKind.CARD and link.village_id == village.id
                 and link.used_at is None and link.voided_at is None)
    posters = sum(1 for link in q.links if link.kind == LinkKind.POSTER and link.voided_at is None)
    found = {"q_id": q.id, "village_id": village.id, "code": village.code, "unused": unused, "posters": posters}
    session.close()
    return found


@pytest.mark.browser
def test_cards_and_posters_print_on_whole_pages_also_from_the_zip(browser, live_server):
    app, base = live_server
    printing = _printing(app)
    q_id, village_id, code, unused, posters = printing.values()
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    login(page, base, "staff")
    sheets = -(-unused // 8)
    page.goto(f"{base}/questionnaires/{q_id}/print/cards?village={village_id}")
    assert _pages(page.pdf(format="A4")) == sheets  # no blank last page
    page.goto(f"{base}/questionnaires/{q_id}/print/posters?village={village_id}")
    assert _pages(page.pdf(format="A4")) == 1
    # the ZIP's pages, opened without the server, print the same
    data = page.request.get(f"{base}/questionnaires/{q_id}/bundle.zip").body()
    archive = zipfile.ZipFile(io.BytesIO(data))
    offline = context.new_page()
    offline.route("**/*", lambda route: route.abort())  # nothing may come from the server
    offline.set_content(archive.read("海报.html").decode("utf-8"))
    assert _pages(offline.pdf(format="A4")) == posters
    card_file = next(n for n in archive.namelist() if n.startswith("卡片-") and code in n)
    offline.set_content(archive.read(card_file).decode("utf-8"))
    assert _pages(offline.pdf(format="A4")) == sheets
    context.close()


@pytest.mark.browser
def test_qr_codes_fill_the_printed_size(browser, live_server):
    """The code is drawn as large as print.css makes its box (38 mm on cards, 110 mm on posters), not smaller."""
    app, base = live_server
    printing = _printing(app)
    q_id, village_id = printing["q_id"], printing["village_id"]
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    login(page, base, "staff")
    for kind, millimetres in (("cards", 38), ("posters", 110)):
        page.goto(f"{base}/questionnaires/{q_id}/print/{kind}?village={village_id}")
        boxes = page.evaluate("""() => [...document.querySelectorAll('.qr svg')].map(svg => {
            const box = svg.getBoundingClientRect(), drawn = svg.querySelector('g').getBoundingClientRect();
            return [box.width, box.height, drawn.width, drawn.height, drawn.left - box.left, drawn.top - box.top]; })""")
        assert boxes, kind
        css_px = millimetres * 96 / 25.4
        for width, height, drawn_w, drawn_h, left, top in boxes:
            assert abs(width - css_px) < 1 and abs(height - css_px) < 1, (kind, width, height)
            assert abs(drawn_w - width) < 1 and abs(drawn_h - height) < 1, f"{kind}: drawn {drawn_w:.0f} px in {width:.0f} px"
            assert abs(left) < 1 and abs(top) < 1, (kind, left, top)
    context.close()
