def stream(analyzer, text):
    """(text, start, end) of each token, with positions when the chain records them."""
    return [(t.text, t.startchar, t.endchar) for t in analyzer(text, positions=True, chars=True)]
