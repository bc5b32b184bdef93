"""What the demo boutique sells: fictional brands, products, size runs and colours."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# fmt: off
SUIT_SIZES = [
    "36R", "38R", "40R", "42R", "44R", "46R", "48R",
    "38S", "40S", "42S",
    "40L", "42L", "44L", "46L",
]
# fmt: on
COLLAR_SIZES = ["14.5", "15", "15.5", "16", "16.5", "17", "17.5"]
WAIST_SIZES = ["30", "32", "34", "36", "38", "40"]
MEN_LETTER_SIZES = ["S", "M", "L", "XL", "XXL"]
WOMEN_NUMERIC_SIZES = ["0", "2", "4", "6", "8", "10", "12", "14"]
WOMEN_LETTER_SIZES = ["XS", "S", "M", "L", "XL"]
MEN_SHOE_SIZES = ["8", "8.5", "9", "9.5", "10", "10.5", "11", "11.5", "12", "13"]
WOMEN_SHOE_SIZES = ["5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10"]
BELT_SIZES = ["32", "34", "36", "38", "40", "42"]
ONE_SIZE = "One size"

# The size run of each category; categories not listed come in one size.
SIZE_RUNS: dict[str, list[str]] = {
    "Men/Suits": SUIT_SIZES,
    "Men/Jackets": SUIT_SIZES,
    "Men/Coats": SUIT_SIZES,
    "Men/Shirts": COLLAR_SIZES,
    "Men/Trousers": WAIST_SIZES,
    "Men/Knitwear": MEN_LETTER_SIZES,
    "Women/Dresses": WOMEN_NUMERIC_SIZES,
    "Women/Trousers": WOMEN_NUMERIC_SIZES,
    "Women/Jackets": WOMEN_NUMERIC_SIZES,
    "Women/Tops": WOMEN_LETTER_SIZES,
    "Women/Knitwear": WOMEN_LETTER_SIZES,
    "Women/Coats": WOMEN_LETTER_SIZES,
    "Shoes/Men": MEN_SHOE_SIZES,
    "Shoes/Women": WOMEN_SHOE_SIZES,
    "Accessories/Belts": BELT_SIZES,
}


def size_run(category: str) -> list[str]:
    """Return the sizes a product of this category is made in."""
    return SIZE_RUNS.get(category, [ONE_SIZE])


# Colour names as they appear on products and in clients' likes, with the RGB used in photos.
COLOURS: dict[str, tuple[int, int, int]] = {
    "navy": (31, 42, 68),
    "charcoal": (54, 57, 62),
    "grey": (128, 131, 135),
    "light grey": (178, 180, 182),
    "black": (28, 28, 30),
    "brown": (101, 67, 45),
    "tan": (190, 144, 98),
    "cognac": (154, 83, 38),
    "olive": (102, 104, 58),
    "burgundy": (110, 28, 44),
    "camel": (193, 154, 107),
    "cream": (238, 229, 208),
    "ivory": (246, 241, 226),
    "white": (250, 250, 248),
    "light blue": (170, 197, 224),
    "pink": (236, 186, 190),
    "forest green": (38, 78, 56),
    "emerald": (22, 120, 88),
    "blush": (232, 196, 188),
    "red": (176, 36, 42),
    "cobalt": (35, 72, 160),
    "sage": (160, 174, 142),
    "sand": (214, 196, 160),
    "silver": (192, 194, 198),
    "lavender": (190, 176, 214),
    "multi": (150, 110, 90),
}

DARK_COLOURS = frozenset({"navy", "charcoal", "black", "brown", "burgundy", "forest green"})

BRANDS = {
    "Ashby & Rowe": "classic British tailoring",
    "Hollis Tailoring": "business and occasion suits",
    "Marlowe Sartoria": "soft Italian tailoring",
    "Kestrel": "modern slim tailoring at a fair price",
    "Fenwick Shirtmakers": "dress shirts",
    "Oxley": "weekend shirts, chinos and knits",
    "Maison Lavande": "women's silk and crepe",
    "Juniper Row": "women's dresses",
    "Céleste": "women's evening and blouses",
    "Wren & Willow": "women's knitwear and coats",
    "Thornbury": "men's Goodyear-welted shoes",
    "Alder & Sloane": "women's shoes and sneakers",
    "Ludlow Silk": "ties, pocket squares and scarves",
    "Harbour Leather Co.": "bags and belts",
    "Sock Society": "socks",
    "Brightwell": "shoe and garment care",
    "Maison Cacao": "chocolates",
    "Atelier Ember": "candles",
}


@dataclass(frozen=True)
class ProductSpec:
    """One product of the demo catalog, before it is a database row."""

    title: str
    brand: str
    category: str
    colour: str
    material: str
    price: int
    tags: tuple[str, ...] = ()
    new: bool = False
    extra_colours: tuple[str, ...] = field(default=())

    @property
    def price_decimal(self) -> Decimal:
        """The price as money."""
        return Decimal(self.price).quantize(Decimal("0.01"))


P = ProductSpec
# Keys used by the stories to find their products.
S2_AUTUMN_SUITS = ("Charcoal Flannel Two-Piece Suit", "Navy Chalk-Stripe Suit")
S7_ORDERED = "Highland Heavy Tweed Three-Piece Suit"
S7_ALTERNATIVE = "Tropical Wool Travel Suit"
S8_ORDERED = "Camel Wool Wrap Coat"
S6_SHOES = "Cognac Cap-Toe Oxford"
S6_LEFT_BEHIND = "Cognac Leather Belt"
S6_SURPRISE = "Shoe Care Kit"
S4_SUIT = "Navy Worsted Two-Piece Suit"

# fmt: off
PRODUCTS: list[ProductSpec] = [
    # Men's suits
    P("Navy Worsted Two-Piece Suit", "Ashby & Rowe", "Men/Suits", "navy", "worsted wool", 695,
      ("classic", "business")),
    P("Charcoal Birdseye Suit", "Ashby & Rowe", "Men/Suits", "charcoal", "worsted wool", 725,
      ("classic", "business", "birdseye")),
    P("Charcoal Flannel Two-Piece Suit", "Ashby & Rowe", "Men/Suits", "charcoal", "wool flannel",
      795, ("classic", "autumn", "flannel"), new=True),
    P("Navy Chalk-Stripe Suit", "Hollis Tailoring", "Men/Suits", "navy", "wool", 850,
      ("classic", "business", "autumn", "chalk stripe"), new=True),
    P("Mid-Grey Sharkskin Suit", "Hollis Tailoring", "Men/Suits", "grey", "wool", 640,
      ("business", "modern")),
    P("Black Dinner Suit", "Hollis Tailoring", "Men/Suits", "black", "wool barathea", 890,
      ("formal", "black tie", "wedding")),
    P("Light Grey Super 120s Suit", "Marlowe Sartoria", "Men/Suits", "light grey", "wool", 980,
      ("modern", "italian", "wedding")),
    P("Midnight Navy Soft-Shoulder Suit", "Marlowe Sartoria", "Men/Suits", "navy", "wool and silk",
      1120, ("modern", "italian")),
    P("Slim Charcoal Stretch Suit", "Kestrel", "Men/Suits", "charcoal", "stretch wool", 495,
      ("slim", "modern")),
    P("Slim Navy Stretch Suit", "Kestrel", "Men/Suits", "navy", "stretch wool", 495,
      ("slim", "modern", "business")),
    P("Tropical Wool Travel Suit", "Kestrel", "Men/Suits", "navy", "tropical wool, 8 oz", 595,
      ("lightweight", "summer", "travel", "classic", "breathable")),
    P("Highland Heavy Tweed Three-Piece Suit", "Ashby & Rowe", "Men/Suits", "brown",
      "heavy wool tweed, 15 oz", 580, ("autumn", "winter", "tweed", "heavy", "country", "check")),
    P("Sand Linen Suit", "Kestrel", "Men/Suits", "sand", "linen", 540,
      ("summer", "lightweight", "relaxed")),
    P("Blue Seersucker Suit", "Hollis Tailoring", "Men/Suits", "light blue", "cotton seersucker",
      520, ("summer", "lightweight", "stripe")),
    P("Brown Flannel Double-Breasted Suit", "Marlowe Sartoria", "Men/Suits", "brown",
      "wool flannel", 1050, ("autumn", "double-breasted", "flannel")),
    # Men's jackets and coats
    P("Navy Hopsack Blazer", "Ashby & Rowe", "Men/Jackets", "navy", "wool hopsack", 495,
      ("classic", "smart casual")),
    P("Grey Herringbone Sport Coat", "Hollis Tailoring", "Men/Jackets", "grey", "wool", 540,
      ("classic", "autumn", "herringbone")),
    P("Brown Donegal Tweed Jacket", "Marlowe Sartoria", "Men/Jackets", "brown", "donegal tweed",
      620, ("autumn", "casual", "tweed", "check"), new=True),
    P("Camel Hair Sport Coat", "Marlowe Sartoria", "Men/Jackets", "camel", "camel hair", 890,
      ("italian", "autumn")),
    P("Navy Unstructured Cotton Blazer", "Kestrel", "Men/Jackets", "navy", "cotton", 380,
      ("modern", "relaxed", "summer")),
    P("Olive Linen Blazer", "Kestrel", "Men/Jackets", "olive", "linen", 360,
      ("summer", "lightweight", "relaxed")),
    P("Burgundy Velvet Dinner Jacket", "Hollis Tailoring", "Men/Jackets", "burgundy",
      "cotton velvet", 690, ("formal", "holiday", "bold")),
    P("Camel Wool Overcoat", "Ashby & Rowe", "Men/Coats", "camel", "wool", 795,
      ("classic", "winter")),
    P("Navy Cashmere-Blend Topcoat", "Marlowe Sartoria", "Men/Coats", "navy", "wool and cashmere",
      960, ("italian", "winter")),
    # Men's shirts
    P("White Poplin Dress Shirt", "Fenwick Shirtmakers", "Men/Shirts", "white", "cotton poplin",
      125, ("classic", "business")),
    P("Light Blue Poplin Dress Shirt", "Fenwick Shirtmakers", "Men/Shirts", "light blue",
      "cotton poplin", 125, ("classic", "business")),
    P("Royal Oxford Shirt", "Fenwick Shirtmakers", "Men/Shirts", "light blue",
      "royal oxford cotton", 135, ("classic", "smart casual"), new=True),
    P("Pink Pinpoint Oxford Shirt", "Fenwick Shirtmakers", "Men/Shirts", "pink", "cotton", 135,
      ("classic", "business")),
    P("Blue Bengal Stripe Shirt", "Fenwick Shirtmakers", "Men/Shirts", "light blue", "cotton", 145,
      ("business", "stripe")),
    P("White Twill French-Cuff Shirt", "Fenwick Shirtmakers", "Men/Shirts", "white", "cotton twill",
      165, ("formal", "wedding")),
    P("Lavender End-on-End Shirt", "Fenwick Shirtmakers", "Men/Shirts", "lavender", "cotton", 140,
      ("business", "modern")),
    P("Blue Chambray Shirt", "Oxley", "Men/Shirts", "light blue", "cotton chambray", 110,
      ("casual", "relaxed")),
    P("White Linen Shirt", "Oxley", "Men/Shirts", "white", "linen", 120,
      ("summer", "lightweight", "relaxed")),
    P("Navy Gingham Shirt", "Oxley", "Men/Shirts", "navy", "cotton", 105, ("casual", "check")),
    P("Green Flannel Check Shirt", "Oxley", "Men/Shirts", "forest green", "cotton flannel", 115,
      ("casual", "autumn", "check")),
    P("Black Slim Stretch Shirt", "Kestrel", "Men/Shirts", "black", "stretch cotton", 95,
      ("slim", "modern")),
    # Men's trousers
    P("Charcoal Wool Trousers", "Ashby & Rowe", "Men/Trousers", "charcoal", "worsted wool", 225,
      ("classic", "business")),
    P("Grey Flannel Trousers", "Ashby & Rowe", "Men/Trousers", "grey", "wool flannel", 245,
      ("classic", "autumn", "flannel")),
    P("Stone Chinos", "Oxley", "Men/Trousers", "sand", "cotton twill", 135, ("casual",),
      extra_colours=("navy", "olive")),
    P("Camel Corduroy Trousers", "Oxley", "Men/Trousers", "camel", "cotton corduroy", 165,
      ("casual", "autumn")),
    P("Cream Linen Trousers", "Kestrel", "Men/Trousers", "cream", "linen", 150,
      ("summer", "lightweight", "relaxed")),
    P("Dark Indigo Selvedge Jeans", "Oxley", "Men/Trousers", "navy", "selvedge denim", 185,
      ("casual", "modern")),
    P("Navy Pleated Trousers", "Marlowe Sartoria", "Men/Trousers", "navy", "wool", 295,
      ("italian", "classic")),
    # Men's knitwear
    P("Merino Half-Zip", "Oxley", "Men/Knitwear", "forest green", "merino wool", 210,
      ("casual", "autumn"), new=True, extra_colours=("navy",)),
    P("Merino Crewneck", "Oxley", "Men/Knitwear", "navy", "merino wool", 165, ("classic",),
      extra_colours=("grey", "burgundy")),
    P("Camel Cashmere V-Neck", "Marlowe Sartoria", "Men/Knitwear", "camel", "cashmere", 345,
      ("italian", "classic")),
    P("Cream Cable-Knit Sweater", "Ashby & Rowe", "Men/Knitwear", "cream", "wool", 260,
      ("classic", "winter")),
    P("Charcoal Lambswool Cardigan", "Ashby & Rowe", "Men/Knitwear", "charcoal", "lambswool", 220,
      ("classic", "autumn")),
    P("Burgundy Shawl-Collar Cardigan", "Oxley", "Men/Knitwear", "burgundy", "wool", 240,
      ("casual", "winter", "bold")),
    # Women's dresses
    P("Emerald Silk Midi Dress", "Maison Lavande", "Women/Dresses", "emerald", "silk", 445,
      ("elegant", "evening", "bold"), new=True),
    P("Black Velvet Cocktail Dress", "Juniper Row", "Women/Dresses", "black", "velvet", 360,
      ("evening", "holiday"), new=True),
    P("Navy Crepe Sheath Dress", "Maison Lavande", "Women/Dresses", "navy", "crepe", 380,
      ("classic", "business")),
    P("Floral Wrap Dress", "Juniper Row", "Women/Dresses", "blush", "viscose", 298,
      ("romantic", "summer", "floral")),
    P("Ivory Lace Dress", "Céleste", "Women/Dresses", "ivory", "lace", 520,
      ("wedding", "romantic", "elegant")),
    P("Black Crepe Little Dress", "Céleste", "Women/Dresses", "black", "crepe", 420,
      ("classic", "evening", "minimalist")),
    P("Camel Knit Dress", "Wren & Willow", "Women/Dresses", "camel", "wool blend", 310,
      ("minimalist", "autumn")),
    P("Red Satin Slip Dress", "Juniper Row", "Women/Dresses", "red", "satin", 260,
      ("evening", "bold")),
    P("Sage Linen Shirt Dress", "Maison Lavande", "Women/Dresses", "sage", "linen", 240,
      ("summer", "relaxed")),
    P("Cobalt Pleated Midi Dress", "Juniper Row", "Women/Dresses", "cobalt", "georgette", 285,
      ("bold", "modern")),
    P("Blush Chiffon Gown", "Céleste", "Women/Dresses", "blush", "silk chiffon", 560,
      ("formal", "wedding", "romantic")),
    P("Burgundy Wool Shift Dress", "Maison Lavande", "Women/Dresses", "burgundy", "wool crepe", 350,
      ("classic", "autumn")),
    # Women's tops
    P("Ivory Silk Blouse", "Céleste", "Women/Tops", "ivory", "silk", 210, ("elegant", "classic"),
      new=True),
    P("Black Silk Camisole", "Céleste", "Women/Tops", "black", "silk", 140,
      ("evening", "minimalist")),
    P("Blue Striped Poplin Shirt", "Juniper Row", "Women/Tops", "light blue", "cotton poplin", 120,
      ("classic", "stripe")),
    P("Blush Pussy-Bow Blouse", "Maison Lavande", "Women/Tops", "blush", "silk crepe", 195,
      ("romantic", "business")),
    P("Emerald Satin Blouse", "Juniper Row", "Women/Tops", "emerald", "satin", 165,
      ("evening", "bold")),
    P("Navy Polka-Dot Blouse", "Maison Lavande", "Women/Tops", "navy", "silk", 175,
      ("classic", "polka dot")),
    P("Cream Linen Shirt", "Wren & Willow", "Women/Tops", "cream", "linen", 130,
      ("summer", "relaxed", "minimalist")),
    # Women's knitwear
    P("Cream Cashmere Crewneck", "Wren & Willow", "Women/Knitwear", "cream", "cashmere", 340,
      ("minimalist", "classic"), new=True),
    P("Grey Cashmere Turtleneck", "Wren & Willow", "Women/Knitwear", "grey", "cashmere", 360,
      ("minimalist", "winter")),
    P("Camel Cardigan", "Wren & Willow", "Women/Knitwear", "camel", "wool and cashmere", 290,
      ("classic", "autumn")),
    P("Breton Striped Sweater", "Juniper Row", "Women/Knitwear", "navy", "cotton", 120,
      ("casual", "stripe")),
    P("Blush Mohair Sweater", "Juniper Row", "Women/Knitwear", "blush", "mohair blend", 245,
      ("romantic", "winter")),
    P("Ribbed Knit Top", "Wren & Willow", "Women/Knitwear", "burgundy", "merino wool", 180,
      ("modern",), extra_colours=("black", "cream")),
    # Women's trousers, coats and jackets
    P("Black Tailored Trousers", "Céleste", "Women/Trousers", "black", "wool crepe", 220,
      ("classic", "business", "minimalist")),
    P("Camel Wide-Leg Trousers", "Wren & Willow", "Women/Trousers", "camel", "wool", 240,
      ("modern", "autumn")),
    P("Navy Cigarette Trousers", "Maison Lavande", "Women/Trousers", "navy", "stretch cotton", 195,
      ("classic", "slim")),
    P("Cream Linen Wide Trousers", "Wren & Willow", "Women/Trousers", "cream", "linen", 170,
      ("summer", "relaxed")),
    P("Dark Denim Straight Jeans", "Juniper Row", "Women/Trousers", "navy", "denim", 165,
      ("casual",)),
    P("Camel Wool Wrap Coat", "Wren & Willow", "Women/Coats", "camel", "double-faced wool", 560,
      ("classic", "winter")),
    P("Black Double-Face Coat", "Céleste", "Women/Coats", "black", "wool and cashmere", 680,
      ("minimalist", "winter")),
    P("Navy Trench Coat", "Maison Lavande", "Women/Coats", "navy", "cotton gabardine", 450,
      ("classic",)),
    P("Grey Cocoon Coat", "Wren & Willow", "Women/Coats", "grey", "wool", 520,
      ("modern", "winter")),
    P("Black Tuxedo Blazer", "Céleste", "Women/Jackets", "black", "wool grain de poudre", 395,
      ("evening", "minimalist")),
    P("Cream Bouclé Jacket", "Maison Lavande", "Women/Jackets", "cream", "wool bouclé", 480,
      ("elegant", "classic", "tweed")),
    P("Navy Tailored Blazer", "Juniper Row", "Women/Jackets", "navy", "wool blend", 360,
      ("classic", "business")),
    # Men's shoes
    P("Black Cap-Toe Oxford", "Thornbury", "Shoes/Men", "black", "calf leather", 345,
      ("classic", "business", "formal")),
    P("Cognac Cap-Toe Oxford", "Thornbury", "Shoes/Men", "cognac", "calf leather", 345,
      ("classic", "business")),
    P("Dark Brown Suede Chelsea Boot", "Thornbury", "Shoes/Men", "brown", "suede", 395,
      ("casual", "autumn"), new=True),
    P("Brown Brogue Derby", "Thornbury", "Shoes/Men", "brown", "calf leather", 325,
      ("classic", "smart casual")),
    P("Burgundy Penny Loafer", "Thornbury", "Shoes/Men", "burgundy", "polished leather", 295,
      ("classic", "smart casual")),
    P("Black Patent Evening Shoe", "Thornbury", "Shoes/Men", "black", "patent leather", 310,
      ("formal", "black tie")),
    P("Navy Suede Loafer", "Thornbury", "Shoes/Men", "navy", "suede", 275, ("summer", "relaxed")),
    P("White Leather Sneaker", "Alder & Sloane", "Shoes/Men", "white", "leather", 180,
      ("casual", "minimalist")),
    # Women's shoes
    P("Burgundy Leather Ankle Boot", "Alder & Sloane", "Shoes/Women", "burgundy", "leather", 365,
      ("autumn", "modern"), new=True),
    P("Black Pointed Pump", "Alder & Sloane", "Shoes/Women", "black", "leather", 295,
      ("classic", "evening")),
    P("Nude Block-Heel Pump", "Alder & Sloane", "Shoes/Women", "blush", "leather", 265,
      ("classic", "business")),
    P("Black Knee Boot", "Alder & Sloane", "Shoes/Women", "black", "leather", 495,
      ("winter", "classic"), new=True),
    P("Tan Leather Loafer", "Alder & Sloane", "Shoes/Women", "tan", "leather", 245,
      ("casual", "classic")),
    P("Silver Evening Sandal", "Alder & Sloane", "Shoes/Women", "silver", "metallic leather", 285,
      ("evening", "wedding")),
    P("White Court Sneaker", "Alder & Sloane", "Shoes/Women", "white", "leather", 180,
      ("casual", "minimalist")),
    # Ties, pocket squares, socks, belts, cufflinks
    P("Burgundy Grenadine Tie", "Ludlow Silk", "Accessories/Ties", "burgundy", "silk grenadine", 95,
      ("classic",), new=True),
    P("Navy Grenadine Tie", "Ludlow Silk", "Accessories/Ties", "navy", "silk grenadine", 95,
      ("classic", "business")),
    P("Silver Wedding Tie", "Ludlow Silk", "Accessories/Ties", "silver", "silk satin", 95,
      ("wedding", "formal")),
    P("Green Wool Knit Tie", "Ludlow Silk", "Accessories/Ties", "forest green", "wool", 85,
      ("casual", "autumn")),
    P("Navy Polka-Dot Tie", "Ludlow Silk", "Accessories/Ties", "navy", "silk", 85,
      ("classic", "polka dot")),
    P("Regimental Stripe Tie", "Ludlow Silk", "Accessories/Ties", "burgundy", "silk", 85,
      ("classic", "stripe")),
    P("Black Silk Bow Tie", "Ludlow Silk", "Accessories/Ties", "black", "silk", 75,
      ("formal", "black tie")),
    P("White Linen Pocket Square", "Ludlow Silk", "Accessories/Pocket Squares", "white", "linen",
      35, ("classic", "wedding")),
    P("Navy Paisley Pocket Square", "Ludlow Silk", "Accessories/Pocket Squares", "navy", "silk", 45,
      ("classic",)),
    P("Burgundy Silk Pocket Square", "Ludlow Silk", "Accessories/Pocket Squares", "burgundy",
      "silk", 45, ("bold",)),
    P("Navy Merino Socks", "Sock Society", "Accessories/Socks", "navy", "merino wool", 24,
      ("classic",)),
    P("Burgundy Cotton Socks", "Sock Society", "Accessories/Socks", "burgundy", "cotton", 20,
      ("bold",)),
    P("Charcoal Over-the-Calf Socks", "Sock Society", "Accessories/Socks", "charcoal", "cotton",
      26, ("business",)),
    P("Cognac Leather Belt", "Harbour Leather Co.", "Accessories/Belts", "cognac", "leather", 120,
      ("classic",)),
    P("Black Leather Dress Belt", "Harbour Leather Co.", "Accessories/Belts", "black", "leather",
      110, ("classic", "business")),
    P("Brown Suede Belt", "Harbour Leather Co.", "Accessories/Belts", "brown", "suede", 95,
      ("casual",)),
    P("Silver Knot Cufflinks", "Ludlow Silk", "Accessories/Cufflinks", "silver", "sterling silver",
      65, ("formal", "wedding")),
    # Bags and scarves
    P("Tan Leather Tote", "Harbour Leather Co.", "Accessories/Bags", "tan", "leather", 420,
      ("classic", "work"), new=True),
    P("Black Leather Crossbody", "Harbour Leather Co.", "Accessories/Bags", "black", "leather",
      295, ("minimalist",)),
    P("Navy Canvas Weekender", "Harbour Leather Co.", "Accessories/Bags", "navy", "canvas", 260,
      ("travel", "casual")),
    P("Cognac Leather Briefcase", "Harbour Leather Co.", "Accessories/Bags", "cognac", "leather",
      550, ("business", "classic")),
    P("Black Evening Clutch", "Céleste", "Accessories/Bags", "black", "satin", 180,
      ("evening", "wedding")),
    P("Burgundy Card Holder", "Harbour Leather Co.", "Accessories/Bags", "burgundy", "leather", 65,
      ("gift",)),
    P("Paisley Cashmere-Silk Scarf", "Ludlow Silk", "Accessories/Scarves", "burgundy",
      "cashmere and silk", 165, ("classic", "autumn"), new=True),
    P("Camel Cashmere Scarf", "Ludlow Silk", "Accessories/Scarves", "camel", "cashmere", 195,
      ("classic", "winter")),
    P("Navy Silk Square Scarf", "Ludlow Silk", "Accessories/Scarves", "navy", "silk twill", 145,
      ("elegant",)),
    P("Grey Merino Scarf", "Ludlow Silk", "Accessories/Scarves", "grey", "merino wool", 85,
      ("casual", "winter")),
    # Care and small gifts: cheap, in stock, good surprises
    P("Shoe Care Kit", "Brightwell", "Care/Shoe Care", "brown", "wax, brushes and cloth", 45,
      ("gift", "care")),
    P("Cedar Shoe Trees", "Brightwell", "Care/Shoe Care", "tan", "cedar wood", 38,
      ("gift", "care")),
    P("Suede Brush", "Brightwell", "Care/Shoe Care", "brown", "brass and crepe", 18,
      ("gift", "care")),
    P("Lint Roller", "Brightwell", "Care/Garment Care", "charcoal", "plastic and paper", 12,
      ("gift", "care")),
    P("Travel Garment Bag", "Brightwell", "Care/Garment Care", "navy", "nylon", 60,
      ("travel", "care")),
    P("Brass Collar Stays", "Brightwell", "Care/Garment Care", "silver", "brass", 18,
      ("gift", "care")),
    P("Sea-Salt Caramel Truffles", "Maison Cacao", "Gifts/Chocolates", "brown", "chocolate", 24,
      ("gift",)),
    P("Dark Chocolate Collection", "Maison Cacao", "Gifts/Chocolates", "brown", "chocolate", 28,
      ("gift",)),
    P("Cedar & Vetiver Candle", "Atelier Ember", "Gifts/Candles", "cream", "soy wax", 48,
      ("gift",)),
]
# fmt: on
