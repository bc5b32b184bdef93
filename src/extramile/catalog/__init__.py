"""The catalog: products, their variants, stock per store and photos."""
