"""segno against qrcode on what the print sheets produce, in the same run.

The codes are the service's own: single-use card and poster links of the real format
(``link_url`` of a 24-character token under a public HTTPS address), upper-cased by
``qr_payload`` so that both libraries make version-3 alphanumeric codes at error level M.
Each library draws them the way the print pages and the share images need them:

* poster and card: inline SVG, border 2, at scale 10 (poster) and 4 (card), as ``qr_svg``;
* share image: PNG at scale 10 with border 4, as ``services.share``.

Measured: generation time per code, per 8-card sheet and per 34-village poster set (+1
township-wide poster); SVG and PNG bytes; and scan reliability: every code of both libraries
is rendered from its SVG by Chromium as the print page renders it, degraded as a phone camera sees a printed card
or poster (downscaled to the pixel size at a 1280 × 720 preview, defocus blur, JPEG, tilt and
perspective, a faded low-contrast print with sensor noise, all at once) with the same random
degradation for the same code of either library, and decoded by two independent decoders
(zxing-cpp and OpenCV's QRCodeDetector). A decode counts only when it returns the exact payload.

Needs the bench extra: ``pip install -e '.[bench]'``.
Run: .venv/bin/python benchmarks/qr_bench.py [--cards 200]  (prints Markdown)
"""

from __future__ import annotations

import argparse
import io
import math
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import qrcode  # noqa: E402
import qrcode.image.svg  # noqa: E402
import segno  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from benchmarks.common import interleaved_medians, machine, table  # noqa: E402
from survey_app.services import share  # noqa: E402
from survey_app.services.distribution import new_token, qr_payload, qr_svg  # noqa: E402

BASE = "https://survey.weixian.gov.cn"  # a county's public address (SURVEY_PUBLIC_URL)
POSTER_SCALE, CARD_SCALE, BORDER = 10, 4, 2  # as the print views call qr_svg
POSTERS = 35  # 34 villages + the township-wide poster
CARD_MM, POSTER_MM = 38, 110  # printed QR width (static/print.css)
FRAME_PX, FOV_DEG = 1280, 65  # a phone camera's preview frame: width in pixels, horizontal field of view


# -- the two libraries, drawing what the print pages and share images draw -------------------------------


def segno_svg(payload: str, scale: int) -> bytes:
    return qr_svg(payload, scale=scale).encode()  # the service's own call


def segno_png(payload: str) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=share.SCALE, border=share.BORDER)
    return out.getvalue()


def segno_matrix(payload: str) -> list[list[bool]]:
    return [[bool(m) for m in row] for row in segno.make(payload, error="m", micro=False).matrix]


def _qrcode(payload: str, scale: int, border: int, factory=None) -> qrcode.QRCode:  # type: ignore[no-untyped-def]
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=scale, border=border,
                         image_factory=factory)
    code.add_data(payload)
    code.make(fit=True)
    return code


def qrcode_svg(payload: str, scale: int) -> bytes:
    # the smallest of qrcode's SVG drawers: one path, sized by its viewBox like segno's
    return _qrcode(payload, scale, BORDER, qrcode.image.svg.SvgPathImage).make_image().to_string()


def qrcode_png(payload: str) -> bytes:
    out = io.BytesIO()
    _qrcode(payload, share.SCALE, share.BORDER).make_image().save(out, format="PNG")
    return out.getvalue()


def qrcode_matrix(payload: str) -> list[list[bool]]:
    return [row[BORDER:-BORDER] for row in _qrcode(payload, 1, BORDER).get_matrix()[BORDER:-BORDER]]


@dataclass
class Library:
    name: str
    svg: Callable[[str, int], bytes]
    png: Callable[[str], bytes]
    matrix: Callable[[str], list[list[bool]]]
    version: Callable[[str], int]


LIBRARIES = [
    Library(f"segno {segno.__version__}", segno_svg, segno_png, segno_matrix,
            lambda p: segno.make(p, error="m", micro=False).version),
    Library(f"qrcode {metadata.version('qrcode')}", qrcode_svg, qrcode_png,
            qrcode_matrix, lambda p: _qrcode(p, 1, BORDER).version),
]


# -- what a phone camera sees ------------------------------------------------------------------------------


def camera_px(printed_mm: float, distance_cm: float) -> int:
    """Width in preview pixels of a printed code ``printed_mm`` wide seen from ``distance_cm``."""
    seen_mm = 2 * distance_cm * 10 * math.tan(math.radians(FOV_DEG / 2))
    return round(FRAME_PX * printed_mm / seen_mm)


class Printer:
    """Chromium renders the SVGs as the print pages do (resvg, tried first, misdraws qrcode's millimetre paths)."""

    def __enter__(self) -> Printer:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                         args=["--no-sandbox", "--disable-gpu"])
        self._page = self._browser.new_page(viewport={"width": 800, "height": 800})
        return self

    def __exit__(self, *exc: object) -> None:
        self._browser.close()
        self._playwright.stop()

    def rasterise(self, svg: bytes, px_per_module: int = 12) -> Image.Image:
        """The SVG filling its box (as print.css sizes it), on white paper."""
        size = (29 + 2 * BORDER) * px_per_module
        box = f'style="display:block;width:{size}px;height:{size}px"'
        self._page.set_content(f'<html><body style="margin:0;background:#fff">{svg.decode().replace("<svg", "<svg " + box, 1)}'
                               "</body></html>")
        shot = self._page.screenshot(clip={"x": 0, "y": 0, "width": size, "height": size})
        return Image.open(io.BytesIO(shot)).convert("L")


def _perspective_coefficients(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return list(np.linalg.solve(np.array(rows, float), np.array([c for p in source for c in p], float)))


@dataclass(frozen=True)
class Degradation:
    """One way a phone sees the print; every parameter drawn per code from ``rng``."""

    name: str
    width_px: int | None = None  # the code's width in the camera frame (None: keep the rendering)
    blur: float = 0.0  # Gaussian sigma in camera pixels (defocus)
    jpeg: int | None = None  # JPEG quality
    tilt: float = 0.0  # the largest rotation in degrees and keystone as a fraction of the width
    faded: bool = False  # dark ink printed grey on greyish paper, with sensor noise

    def apply(self, image: Image.Image, rng: random.Random) -> Image.Image:
        if self.tilt:
            margin = image.width // 2
            paper = Image.new("L", (image.width + 2 * margin, image.height + 2 * margin), 255)
            paper.paste(image, (margin, margin))
            w, h = paper.size
            angle = rng.uniform(-self.tilt, self.tilt)
            paper = paper.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
            k = rng.uniform(-self.tilt, self.tilt) / 100 * w
            corners = [(0, 0), (w, 0), (w, h), (0, h)]
            moved = [(k, 0), (w - k, 0), (w, h), (0, h)] if k > 0 else [(0, 0), (w, 0), (w + k, h), (-k, h)]
            image = paper.transform(paper.size, Image.Transform.PERSPECTIVE,
                                    _perspective_coefficients(corners, moved), Image.Resampling.BICUBIC, fillcolor=255)
            image = image.crop((margin // 2, margin // 2, w - margin // 2, h - margin // 2))
            scale_to = None if self.width_px is None else round(self.width_px * image.width / (w - 2 * margin))
        else:
            scale_to = self.width_px
        if scale_to is not None:
            image = image.resize((scale_to, round(scale_to * image.height / image.width)), Image.Resampling.BOX)
        if self.blur:
            image = image.filter(ImageFilter.GaussianBlur(self.blur * rng.uniform(0.8, 1.2)))
        if self.faded:
            dark, light = rng.uniform(110, 150), rng.uniform(200, 225)
            pixels = np.asarray(image, float) / 255 * (light - dark) + dark
            pixels += np.random.default_rng(rng.getrandbits(32)).normal(0, 7, pixels.shape)
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        if self.jpeg is not None:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=self.jpeg)
            image = Image.open(io.BytesIO(out.getvalue())).convert("L")
        return image


CARD_40, CARD_60 = camera_px(CARD_MM, 40), camera_px(CARD_MM, 60)
POSTER_150, POSTER_250 = camera_px(POSTER_MM, 150), camera_px(POSTER_MM, 250)
DEGRADATIONS = [
    Degradation("as printed (12 px per module)"),
    Degradation(f"card at 40 cm ({CARD_40} px wide)", CARD_40),
    Degradation(f"card at 60 cm ({CARD_60} px)", CARD_60),
    Degradation(f"poster at 1.5 m ({POSTER_150} px)", POSTER_150),
    Degradation(f"poster at 2.5 m ({POSTER_250} px)", POSTER_250),
    Degradation("card at 40 cm, defocus blur σ ≈ 1.2 px", CARD_40, blur=1.2),
    Degradation("card at 40 cm, JPEG quality 20", CARD_40, jpeg=20),
    Degradation("card at 40 cm, tilted up to ±12° with keystone up to ±12%", CARD_40, tilt=12),
    Degradation("card at 40 cm, faded print (grey on grey) with sensor noise", CARD_40, faded=True),
    Degradation("card at 40 cm, all at once (blur σ ≈ 0.8, JPEG 40, tilt ±8°, faded)", CARD_40, blur=0.8, jpeg=40,
                tilt=8, faded=True),
    Degradation("poster at 1.5 m, all at once", POSTER_150, blur=0.8, jpeg=40, tilt=8, faded=True),
]

_OPENCV = cv2.QRCodeDetector()


def decoders() -> dict[str, Callable[[np.ndarray], list[str]]]:
    return {
        "zxing-cpp": lambda pixels: [r.text for r in zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)],
        "OpenCV": lambda pixels: [_OPENCV.detectAndDecode(pixels)[0]],
    }


# -- the run ----------------------------------------------------------------------------------------------------


def job(lib: Library, task: str, cards: list[str], posters: list[str]) -> Callable[[], object]:
    """What one timed run of ``task`` draws with ``lib``."""
    return {
        "code": lambda: [lib.svg(p, CARD_SCALE) for p in cards],
        "sheet": lambda: [lib.svg(p, CARD_SCALE) for p in cards[:8]],
        "posters": lambda: [lib.svg(p, POSTER_SCALE) for p in posters],
        "png": lambda: [lib.png(p) for p in posters],
    }[task]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=165, help="card codes (8 to a sheet) besides the 35 posters")
    args = parser.parse_args()
    posters = [qr_payload(f"{BASE}/R/{new_token()}") for _ in range(POSTERS)]
    cards = [qr_payload(f"{BASE}/R/{new_token()}") for _ in range(args.cards)]
    every = [(p, POSTER_SCALE) for p in posters] + [(c, CARD_SCALE) for c in cards]

    timing, sizes, made = {}, {}, {}
    for lib in LIBRARIES:
        assert {lib.version(p) for p, _ in every} == {3}, lib.name  # version 3 as the README promises
        made[lib.name] = [lib.svg(p, scale) for p, scale in every]
        card_svgs = [lib.svg(c, CARD_SCALE) for c in cards]
        poster_svgs = made[lib.name][:POSTERS]
        sizes[lib.name] = {"card": np.mean([len(s) for s in card_svgs]), "poster": np.mean([len(s) for s in poster_svgs]),
                           "png": np.mean([len(lib.png(p)) for p in posters])}
    for task, per in (("code", len(cards)), ("sheet", 1), ("posters", 1), ("png", len(posters))):
        medians = interleaved_medians({lib.name: job(lib, task, cards, posters) for lib in LIBRARIES}, repeat=9)
        for name, seconds in medians.items():
            timing.setdefault(name, {})[task] = seconds / per
    same = sum(LIBRARIES[0].matrix(p) == LIBRARIES[1].matrix(p) for p, _ in every)

    # scan reliability: the same degradation (same random draw) for the same code of either library
    found: dict[tuple[str, str, str], int] = {}
    with Printer() as printer:
        rasters = {lib.name: [printer.rasterise(svg) for svg in made[lib.name]] for lib in LIBRARIES}
    pngs = {lib.name: [Image.open(io.BytesIO(lib.png(p))).convert("L") for p in posters] for lib in LIBRARIES}
    for degradation in DEGRADATIONS:
        for lib in LIBRARIES:
            rng = random.Random(degradation.name)
            for image, (payload, _) in zip(rasters[lib.name], every, strict=True):
                pixels = np.asarray(degradation.apply(image, random.Random(rng.getrandbits(64))))
                for decoder, decode in decoders().items():
                    key = (degradation.name, lib.name, decoder)
                    found[key] = found.get(key, 0) + (payload in decode(pixels))
    for lib in LIBRARIES:
        for decoder, decode in decoders().items():
            key = ("share PNG as downloaded (scale 10)", lib.name, decoder)
            found[key] = sum(payload in decode(np.asarray(image)) for image, payload in zip(pngs[lib.name], posters,
                                                                                             strict=True))

    s, q = (lib.name for lib in LIBRARIES)
    print("## segno or qrcode: the print sheets' QR codes, same run\n")
    print(machine(**{name: metadata.version(name) for name in ("segno", "qrcode", "zxing-cpp", "playwright",
                                                                 "opencv-python-headless")}) + "\n")
    print(f"{len(every)} codes of the real link format (`{BASE}/R/` + 24-character token, upper-cased for QR "
          f"alphanumeric mode): {POSTERS} posters (34 villages + township-wide) and {len(cards)} cards; every one is "
          f"version 3, error level M, with both libraries. The two libraries draw the same module matrix for "
          f"{same} of {len(every)} codes; for the rest they pick a different mask pattern.\n")
    ms = 1e3
    print(table(["generation (inline SVG as the print pages embed it)", s, q, "qrcode ÷ segno"], [
        ["one card code (scale 4)", f"{timing[s]['code'] * ms:.2f} ms", f"{timing[q]['code'] * ms:.2f} ms",
         f"{timing[q]['code'] / timing[s]['code']:.2f}"],
        ["one 8-card sheet", f"{timing[s]['sheet'] * ms:.1f} ms", f"{timing[q]['sheet'] * ms:.1f} ms",
         f"{timing[q]['sheet'] / timing[s]['sheet']:.2f}"],
        [f"the {POSTERS} posters of 34 villages (scale 10)", f"{timing[s]['posters'] * ms:.1f} ms",
         f"{timing[q]['posters'] * ms:.1f} ms", f"{timing[q]['posters'] / timing[s]['posters']:.2f}"],
        ["one share PNG (scale 10, border 4)", f"{timing[s]['png'] * ms:.2f} ms", f"{timing[q]['png'] * ms:.2f} ms",
         f"{timing[q]['png'] / timing[s]['png']:.2f}"],
    ]))
    print()
    print(table(["size (mean per code)", s, q, "qrcode ÷ segno"], [
        [label, f"{sizes[s][k]:,.0f} B", f"{sizes[q][k]:,.0f} B", f"{sizes[q][k] / sizes[s][k]:.2f}"]
        for label, k in (("card SVG (scale 4)", "card"), ("poster SVG (scale 10)", "poster"),
                         ("share PNG (scale 10, border 4)", "png"))
    ]))
    print()
    rows = []
    for name in ["share PNG as downloaded (scale 10)"] + [d.name for d in DEGRADATIONS]:
        count = POSTERS if name.startswith("share") else len(every)
        rows.append([name] + [f"{found[(name, lib.name, decoder)] / count:.1%}" for decoder in decoders()
                              for lib in LIBRARIES])
    print(table(["decoded to the exact link"] + [f"{lib.name.split()[0]}, {decoder}" for decoder in decoders()
                                                  for lib in LIBRARIES], rows))
    print(f"\nPixel sizes: a {FRAME_PX}-pixel-wide preview frame with a {FOV_DEG}° field of view; the card code is "
          f"printed {CARD_MM} mm wide, the poster code {POSTER_MM} mm (`static/print.css`). Degraded codes: "
          f"{len(every)} per row and library (share PNG: the {POSTERS} posters).")


if __name__ == "__main__":
    main()
