"""Share images for WeChat groups: a poster link's QR code with the village and project printed under it.

SVG needs nothing but segno (the text is SVG text, drawn by the viewer's fonts).
PNG is drawn with Pillow and a CJK font found on the machine (Noto Sans CJK,
WenQuanYi, Droid Sans Fallback, or SURVEY_CJK_FONT); without one the PNG carries
the QR code only and :data:`PNG_TEXT` says so to the page.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from xml.sax.saxutils import escape

import segno

from survey_app.models import Link
from survey_app.services.distribution import qr_payload

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
SCALE = 10
BORDER = 4


def caption(link: Link) -> tuple[str, str]:
    """(first line, second line) under the QR code: village (or 全镇) and project."""
    questionnaire = link.questionnaire
    place = link.village.name if link.village is not None else "全镇通用（答题时选择村）"
    if link.card_no:
        place += f" · 卡片 {link.card_no} 号"
    return place, f"{questionnaire.indicator.project.name} · {questionnaire.indicator.name}调查"


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    for path in (os.environ.get("SURVEY_CJK_FONT", ""), *FONT_CANDIDATES):
        if path and os.path.isfile(path):
            return path
    return None


def share_svg(link: Link, url: str) -> str:
    code = segno.make(qr_payload(url), error="m", micro=False)
    size = code.symbol_size(scale=SCALE, border=BORDER)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=SCALE, border=BORDER, xmldecl=False, svgns=True, nl=False)
    inner = buffer.getvalue().decode("utf-8")
    lines = caption(link)
    height = size + 90
    # CJK glyphs are about one em wide: make room for the longer caption line
    width = max(size, *(len(line) * (22 if i == 0 else 18) + 40 for i, line in enumerate(lines)))
    texts = "".join(
        f'<text x="{width / 2}" y="{size + 30 + 32 * i}" font-size="{22 if i == 0 else 18}" text-anchor="middle" '
        f'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">{escape(line)}</text>'
        for i, line in enumerate(lines))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<rect width="100%" height="100%" fill="#fff"/><g transform="translate({(width - size) / 2} 0)">{inner}</g>'
            f'{texts}</svg>')


def share_png(link: Link, url: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    code = segno.make(qr_payload(url), error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=SCALE, border=BORDER)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    font_path = cjk_font_path()
    if font_path is None:
        out = io.BytesIO()
        qr.save(out, "PNG")
        return out.getvalue()
    first, second = caption(link)
    big, small = ImageFont.truetype(font_path, 24), ImageFont.truetype(font_path, 19)
    width = max(qr.width, int(max(big.getlength(first), small.getlength(second))) + 40)
    image = Image.new("RGB", (width, qr.height + 90), "white")
    image.paste(qr, ((width - qr.width) // 2, 0))
    draw = ImageDraw.Draw(image)
    draw.text((width / 2, qr.height + 22), first, font=big, fill="black", anchor="mt")
    draw.text((width / 2, qr.height + 56), second, font=small, fill="#333333", anchor="mt")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
