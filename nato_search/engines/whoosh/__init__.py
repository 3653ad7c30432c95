"""The embedded backend: Whoosh stores the paragraphs on disk (the source of truth);
NumPy arrays derived from its segments, one file beside each, rank them (BM25)."""
