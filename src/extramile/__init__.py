"""extramile: remember every client, notice the moments that matter, and act on them."""

__version__ = "0.1.0"
