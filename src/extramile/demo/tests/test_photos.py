import io

from PIL import Image

from extramile.demo.assortment import COLOURS
from extramile.demo.photos import draw_product_photo


def test_photo_is_a_480_by_600_jpeg_in_the_product_colour():
    # when
    jpeg = draw_product_photo(
        title="Emerald Silk Midi Dress",
        brand="Maison Lavande",
        category="Women/Dresses",
        colour="emerald",
    )
    # then
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        assert image.size == (480, 600)
        counts = image.convert("RGB").getcolors(maxcolors=480 * 600)
    expected = COLOURS["emerald"]
    close = sum(
        n for n, rgb in counts if all(abs(a - b) <= 12 for a, b in zip(rgb, expected, strict=True))
    )
    assert close > 0.15 * 480 * 600


def test_photos_differ_by_colour():
    navy = draw_product_photo(title="Suit", brand="B", category="Men/Suits", colour="navy")
    sand = draw_product_photo(title="Suit", brand="B", category="Men/Suits", colour="sand")
    assert navy != sand
