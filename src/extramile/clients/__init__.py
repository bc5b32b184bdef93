"""The client book: who each client is, what they like, and everything that happened with them."""
