"""sitegen: a static site generator for research-paper digests."""

__version__ = "0.2.0"
