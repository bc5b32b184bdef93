"""Product photos for the demo, drawn locally with Pillow: a garment shape in its colour."""

from __future__ import annotations

import functools
import io
import textwrap
import unicodedata
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from extramile.demo.assortment import COLOURS

WIDTH, HEIGHT = 480, 600
SCALE = 2  # drawn twice as large, then reduced, for smooth edges
BACKGROUND = (245, 242, 237)
INK = (43, 43, 46)
MUTED = (128, 122, 114)
SHIRT_WHITE = (250, 250, 247)

Point = tuple[float, float]
Colour = tuple[int, int, int]


def _shade(colour: Colour, factor: float) -> Colour:
    """Darken (factor < 1) or lighten (factor > 1) a colour, staying readable on both ends."""
    if factor < 1:
        r, g, b = (int(c * factor) for c in colour)
    else:
        r, g, b = (int(c + (255 - c) * (factor - 1)) for c in colour)
    return (r, g, b)


def _outline_for(colour: Colour) -> Colour:
    light = sum(colour) / 3 > 200
    return _shade(colour, 0.72) if light else _shade(colour, 0.6)


class _Canvas:
    """Maps shapes in a unit box onto the garment area of the picture."""

    def __init__(self, image: Image.Image, box: tuple[float, float, float, float]) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.left, self.top, self.right, self.bottom = box

    def xy(self, points: Sequence[Point]) -> list[Point]:
        width, height = self.right - self.left, self.bottom - self.top
        return [(self.left + x * width, self.top + y * height) for x, y in points]

    def polygon(
        self, points: Sequence[Point], fill: Colour | None, outline: Colour | None = None
    ) -> None:
        self.draw.polygon(self.xy(points), fill=fill, outline=outline, width=3 * SCALE)

    def line(self, points: Sequence[Point], fill: Colour, width: int = 2) -> None:
        self.draw.line(self.xy(points), fill=fill, width=width * SCALE, joint="curve")

    def ellipse(self, a: Point, b: Point, fill: Colour, outline: Colour | None = None) -> None:
        (x0, y0), (x1, y1) = self.xy([a, b])
        self.draw.ellipse((x0, y0, x1, y1), fill=fill, outline=outline, width=2 * SCALE)

    def rect(self, a: Point, b: Point, fill: Colour | None, outline: Colour | None = None) -> None:
        (x0, y0), (x1, y1) = self.xy([a, b])
        self.draw.rounded_rectangle(
            (x0, y0, x1, y1), radius=6 * SCALE, fill=fill, outline=outline, width=3 * SCALE
        )


def _pattern(canvas: _Canvas, outline: Sequence[Point], colour: Colour, pattern: str) -> None:
    """Lay stripes, checks or dots over a shape, clipped to it."""
    size = canvas.image.size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon(canvas.xy(outline), fill=255)
    layer = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(layer)
    accent = _shade(colour, 1.45) if sum(colour) < 300 else _shade(colour, 0.8)
    step = 18 * SCALE
    if pattern in ("stripe", "check"):
        for x in range(0, size[0], step):
            draw.line((x, 0, x, size[1]), fill=accent, width=SCALE)
    if pattern == "check":
        for y in range(0, size[1], step):
            draw.line((0, y, size[0], y), fill=accent, width=SCALE)
    if pattern == "dots":
        for y in range(0, size[1], step):
            for x in range((y // step % 2) * step // 2, size[0], step):
                draw.ellipse((x, y, x + 3 * SCALE, y + 3 * SCALE), fill=accent)
    canvas.image.paste(layer, (0, 0), mask)


def _jacket(canvas: _Canvas, colour: Colour, pattern: str, *, long: bool = False) -> None:
    hem = 1.0 if long else 0.9
    body = [
        (0.36, 0.02), (0.64, 0.02), (0.83, 0.09), (0.98, 0.72), (0.88, 0.75), (0.8, 0.32),
        (0.8, hem), (0.2, hem), (0.2, 0.32), (0.12, 0.75), (0.02, 0.72), (0.17, 0.09),
    ]  # fmt: skip
    edge = _outline_for(colour)
    canvas.polygon(body, colour, edge)
    if pattern:
        _pattern(canvas, body, colour, pattern)
        canvas.polygon(body, None, edge)
    canvas.polygon([(0.4, 0.02), (0.6, 0.02), (0.5, 0.4)], SHIRT_WHITE)
    lapel = _shade(colour, 0.82)
    canvas.polygon([(0.36, 0.02), (0.4, 0.02), (0.5, 0.4), (0.47, 0.46), (0.31, 0.17)], lapel, edge)
    canvas.polygon([(0.64, 0.02), (0.6, 0.02), (0.5, 0.4), (0.53, 0.46), (0.69, 0.17)], lapel, edge)
    canvas.line([(0.5, 0.46), (0.5, hem)], edge)
    for y in (0.55, 0.66):
        canvas.ellipse((0.485, y), (0.515, y + 0.024), _shade(colour, 0.6))
    canvas.line([(0.25, 0.7), (0.4, 0.7)], edge, 3)
    canvas.line([(0.6, 0.7), (0.75, 0.7)], edge, 3)
    canvas.line([(0.6, 0.33), (0.72, 0.33)], edge, 3)


def _shirt(canvas: _Canvas, colour: Colour, pattern: str) -> None:
    body = [
        (0.38, 0.04), (0.62, 0.04), (0.82, 0.1), (0.98, 0.7), (0.88, 0.73), (0.78, 0.34),
        (0.78, 0.96), (0.22, 0.96), (0.22, 0.34), (0.12, 0.73), (0.02, 0.7), (0.18, 0.1),
    ]  # fmt: skip
    edge = _outline_for(colour)
    canvas.polygon(body, colour, edge)
    if pattern:
        _pattern(canvas, body, colour, pattern)
        canvas.polygon(body, None, edge)
    collar = _shade(colour, 0.92)
    canvas.polygon([(0.38, 0.04), (0.5, 0.12), (0.44, 0.2), (0.34, 0.09)], collar, edge)
    canvas.polygon([(0.62, 0.04), (0.5, 0.12), (0.56, 0.2), (0.66, 0.09)], collar, edge)
    canvas.line([(0.5, 0.12), (0.5, 0.96)], edge)
    for index in range(6):
        y = 0.2 + index * 0.13
        canvas.ellipse((0.515, y), (0.54, y + 0.02), edge)


def _sweater(canvas: _Canvas, colour: Colour, pattern: str) -> None:
    body = [
        (0.36, 0.04), (0.64, 0.04), (0.84, 0.1), (0.98, 0.74), (0.86, 0.77), (0.78, 0.34),
        (0.8, 0.94), (0.2, 0.94), (0.22, 0.34), (0.14, 0.77), (0.02, 0.74), (0.16, 0.1),
    ]  # fmt: skip
    edge = _outline_for(colour)
    canvas.polygon(body, colour, edge)
    if pattern:
        _pattern(canvas, body, colour, pattern)
        canvas.polygon(body, None, edge)
    rib = _shade(colour, 0.85)
    canvas.polygon([(0.2, 0.88), (0.8, 0.88), (0.8, 0.94), (0.2, 0.94)], rib, edge)
    canvas.ellipse((0.38, 0.0), (0.62, 0.1), rib, edge)
    canvas.ellipse((0.41, 0.02), (0.59, 0.08), BACKGROUND)


def _trousers(canvas: _Canvas, colour: Colour, pattern: str) -> None:
    legs = [
        (0.26, 0.02), (0.74, 0.02), (0.78, 0.98), (0.55, 0.98), (0.5, 0.32), (0.45, 0.98),
        (0.22, 0.98),
    ]  # fmt: skip
    edge = _outline_for(colour)
    canvas.polygon(legs, colour, edge)
    if pattern:
        _pattern(canvas, legs, colour, pattern)
        canvas.polygon(legs, None, edge)
    canvas.polygon([(0.26, 0.02), (0.74, 0.02), (0.745, 0.08), (0.255, 0.08)], _shade(colour, 0.85))
    canvas.line([(0.36, 0.1), (0.34, 0.96)], edge)
    canvas.line([(0.64, 0.1), (0.66, 0.96)], edge)


def _dress(canvas: _Canvas, colour: Colour, pattern: str) -> None:
    body = [
        (0.36, 0.02), (0.41, 0.02), (0.5, 0.12), (0.59, 0.02), (0.64, 0.02), (0.66, 0.28),
        (0.6, 0.4), (0.86, 0.98), (0.14, 0.98), (0.4, 0.4), (0.34, 0.28),
    ]  # fmt: skip
    edge = _outline_for(colour)
    canvas.polygon(body, colour, edge)
    if pattern:
        _pattern(canvas, body, colour, pattern)
        canvas.polygon(body, None, edge)
    canvas.polygon([(0.4, 0.38), (0.6, 0.38), (0.605, 0.42), (0.395, 0.42)], _shade(colour, 0.8))
    for x in (0.3, 0.5, 0.7):
        canvas.line([(0.5 + (x - 0.5) * 0.3, 0.44), (x, 0.96)], _shade(colour, 0.88))


def _shoe(canvas: _Canvas, colour: Colour, title: str) -> None:
    edge = _outline_for(colour)
    lowered = title.lower()
    sole = (235, 232, 226) if "sneaker" in lowered else (40, 34, 30)
    if "boot" in lowered:
        upper = [(0.08, 0.72), (0.1, 0.56), (0.3, 0.5), (0.34, 0.12), (0.58, 0.12), (0.6, 0.44),
                 (0.92, 0.58), (0.95, 0.72)]  # fmt: skip
    elif any(word in lowered for word in ("pump", "sandal")):
        upper = [(0.08, 0.5), (0.2, 0.42), (0.5, 0.56), (0.9, 0.66), (0.95, 0.72), (0.5, 0.72),
                 (0.2, 0.62)]  # fmt: skip
        canvas.polygon([(0.1, 0.52), (0.16, 0.52), (0.15, 0.84), (0.13, 0.84)], sole)
    else:
        upper = [(0.06, 0.72), (0.08, 0.56), (0.32, 0.5), (0.5, 0.38), (0.6, 0.4), (0.92, 0.58),
                 (0.96, 0.72)]  # fmt: skip
    canvas.polygon(upper, colour, edge)
    canvas.rect((0.05, 0.71), (0.97, 0.78), sole)
    if "oxford" in lowered or "derby" in lowered or "sneaker" in lowered:
        for index in range(4):
            x = 0.5 + index * 0.05
            canvas.line([(x, 0.42 + index * 0.025), (x + 0.04, 0.44 + index * 0.025)], SHIRT_WHITE)


def _tie(canvas: _Canvas, colour: Colour, pattern: str, title: str) -> None:
    edge = _outline_for(colour)
    if "bow" in title.lower():
        wings = [(0.15, 0.3), (0.45, 0.44), (0.55, 0.44), (0.85, 0.3), (0.85, 0.7), (0.55, 0.56),
                 (0.45, 0.56), (0.15, 0.7)]  # fmt: skip
        canvas.polygon(wings, colour, edge)
        canvas.rect((0.44, 0.42), (0.56, 0.58), _shade(colour, 0.8), edge)
        return
    blade = [(0.43, 0.12), (0.57, 0.12), (0.63, 0.84), (0.5, 0.98), (0.37, 0.84)]
    canvas.polygon(blade, colour, edge)
    if pattern:
        _pattern(canvas, blade, colour, pattern)
        canvas.polygon(blade, None, edge)
    canvas.polygon([(0.42, 0.02), (0.58, 0.02), (0.55, 0.13), (0.45, 0.13)], _shade(colour, 0.85),
                   edge)  # fmt: skip


def _bag(canvas: _Canvas, colour: Colour, title: str) -> None:
    edge = _outline_for(colour)
    lowered = title.lower()
    if "card holder" in lowered or "clutch" in lowered:
        canvas.rect((0.12, 0.4), (0.88, 0.75), colour, edge)
        canvas.polygon([(0.12, 0.4), (0.88, 0.4), (0.5, 0.58)], _shade(colour, 0.85), edge)
        return
    canvas.draw.arc(
        [*canvas.xy([(0.3, 0.08)])[0], *canvas.xy([(0.7, 0.5)])[0]],
        180,
        360,
        fill=_shade(colour, 0.7),
        width=10 * SCALE,
    )
    canvas.polygon([(0.14, 0.3), (0.86, 0.3), (0.94, 0.94), (0.06, 0.94)], colour, edge)
    canvas.line([(0.14, 0.42), (0.86, 0.42)], edge)


def _scarf(canvas: _Canvas, colour: Colour, pattern: str) -> None:
    edge = _outline_for(colour)
    drape = [(0.3, 0.02), (0.56, 0.02), (0.5, 0.96), (0.26, 0.96)]
    tail = [(0.46, 0.1), (0.72, 0.1), (0.78, 0.9), (0.54, 0.9)]
    for shape in (drape, tail):
        canvas.polygon(shape, colour, edge)
        if pattern:
            _pattern(canvas, shape, colour, pattern)
            canvas.polygon(shape, None, edge)
    for index in range(8):
        x = 0.27 + index * 0.03
        canvas.line([(x, 0.96), (x, 1.0)], edge)


def _small_thing(canvas: _Canvas, colour: Colour, category: str, title: str) -> None:
    edge = _outline_for(colour)
    lowered = title.lower()
    if "sock" in category.lower():
        sock = [(0.3, 0.05), (0.55, 0.05), (0.55, 0.62), (0.85, 0.78), (0.8, 0.95), (0.4, 0.88),
                (0.3, 0.75)]  # fmt: skip
        canvas.polygon(sock, colour, edge)
        canvas.rect((0.3, 0.05), (0.55, 0.13), _shade(colour, 0.8))
    elif "pocket square" in category.lower():
        canvas.polygon([(0.5, 0.1), (0.9, 0.5), (0.5, 0.9), (0.1, 0.5)], colour, edge)
        canvas.polygon([(0.1, 0.5), (0.9, 0.5), (0.5, 0.9)], _shade(colour, 0.88), edge)
    elif "belt" in category.lower():
        canvas.rect((0.02, 0.44), (0.98, 0.56), colour, edge)
        canvas.rect((0.7, 0.4), (0.8, 0.6), None, (190, 190, 195))
    elif "cufflink" in category.lower():
        canvas.ellipse((0.15, 0.35), (0.45, 0.65), colour, edge)
        canvas.ellipse((0.55, 0.35), (0.85, 0.65), colour, edge)
    elif "lint roller" in lowered:
        canvas.rect((0.25, 0.1), (0.75, 0.45), (246, 246, 240), edge)
        canvas.rect((0.46, 0.45), (0.54, 0.95), colour, edge)
    elif "candle" in lowered:
        canvas.rect((0.25, 0.3), (0.75, 0.95), colour, _shade(colour, 0.7))
        canvas.rect((0.3, 0.55), (0.7, 0.75), (250, 250, 245), _shade(colour, 0.7))
        canvas.ellipse((0.47, 0.12), (0.53, 0.26), (240, 170, 60))
    else:
        # A gift box or a care kit: a box with a band, a ribbon for gifts.
        canvas.rect((0.1, 0.3), (0.9, 0.92), colour, edge)
        canvas.rect((0.06, 0.22), (0.94, 0.36), _shade(colour, 0.85), edge)
        ribbon = (176, 36, 42) if category.startswith("Gifts") else (214, 196, 160)
        canvas.rect((0.45, 0.22), (0.55, 0.92), ribbon)
        canvas.ellipse((0.36, 0.12), (0.5, 0.24), ribbon)
        canvas.ellipse((0.5, 0.12), (0.64, 0.24), ribbon)


def _pattern_of(title: str, material: str, tags: Sequence[str]) -> str:
    words = " ".join([title, material, *tags]).lower()
    if any(w in words for w in ("stripe", "seersucker", "breton")):
        return "stripe"
    if any(w in words for w in ("check", "gingham", "tweed", "herringbone", "tartan")):
        return "check"
    if "polka" in words:
        return "dots"
    return ""


@functools.cache
def _backdrop() -> Image.Image:
    """The empty studio: a warm background with a soft floor shadow (blurred once)."""
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
    shadow = Image.new("L", image.size, 0)
    ImageDraw.Draw(shadow).ellipse(
        (110 * SCALE, 440 * SCALE, (WIDTH - 110) * SCALE, 466 * SCALE), fill=70
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(8 * SCALE))
    image.paste((200, 194, 186), (0, 0), shadow)
    return image


def _plain(text: str) -> str:
    # Pillow's bundled font has ASCII glyphs only: "Céleste" is drawn as "Celeste".
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's own bundled font: nothing to install, the same picture on every machine.
    return ImageFont.load_default(size=size * SCALE)


def draw_product_photo(
    *,
    title: str,
    brand: str,
    category: str,
    colour: str,
    material: str = "",
    tags: Sequence[str] = (),
) -> bytes:
    """Draw a product picture (a garment or object in its colour, with its name) as JPEG bytes."""
    rgb = COLOURS.get(colour, COLOURS["multi"])
    image = _backdrop().copy()
    area = (70 * SCALE, 40 * SCALE, (WIDTH - 70) * SCALE, 440 * SCALE)
    canvas = _Canvas(image, area)
    pattern = _pattern_of(title, material, tags)
    drawers: dict[str, Callable[[], None]] = {
        "Suits": lambda: _jacket(canvas, rgb, pattern),
        "Jackets": lambda: _jacket(canvas, rgb, pattern),
        "Coats": lambda: _jacket(canvas, rgb, pattern, long=True),
        "Shirts": lambda: _shirt(canvas, rgb, pattern),
        "Tops": lambda: _shirt(canvas, rgb, pattern),
        "Knitwear": lambda: _sweater(canvas, rgb, pattern),
        "Trousers": lambda: _trousers(canvas, rgb, pattern),
        "Dresses": lambda: _dress(canvas, rgb, pattern),
        "Ties": lambda: _tie(canvas, rgb, pattern, title),
        "Bags": lambda: _bag(canvas, rgb, title),
        "Scarves": lambda: _scarf(canvas, rgb, pattern),
    }
    leaf = category.rsplit("/", 1)[-1]
    if category.startswith("Shoes/") or ("Shoe Care" in category and "Trees" in title):
        _shoe(canvas, rgb, title)
    elif leaf in drawers:
        drawers[leaf]()
    else:
        _small_thing(canvas, rgb, category, title)
    draw = ImageDraw.Draw(image)
    draw.text(
        (WIDTH * SCALE // 2, 488 * SCALE),
        _plain(brand).upper(),
        fill=MUTED,
        font=_font(15),
        anchor="mm",
    )
    lines = textwrap.wrap(_plain(title), width=30)[:2]
    for index, line in enumerate(lines):
        draw.text(
            (WIDTH * SCALE // 2, (522 + index * 30) * SCALE),
            line,
            fill=INK,
            font=_font(24),
            anchor="mm",
        )
    image = image.reduce(SCALE)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=86, optimize=True)
    return buffer.getvalue()
