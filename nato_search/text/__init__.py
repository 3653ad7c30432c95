"""French text analysis: the tokenizer, its filters, the analyzers built from them, the
stemmers, and snippets marked on the original text. It knows no index."""
