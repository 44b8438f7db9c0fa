"""Runbooks (Markdown, zh and en) and their retrieval index (chromadb + sentence-transformers)."""
