"""Where paragraphs are stored and searched: one subpackage per backend (``whoosh``, the
embedded default; ``xapian``, shards), the protocols they meet, and what they share."""
