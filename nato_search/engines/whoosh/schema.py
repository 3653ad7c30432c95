"""The Whoosh schema of a paragraph: what each field indexes and stores."""

from __future__ import annotations

from whoosh.analysis import Analyzer
from whoosh.fields import ID, STORED, TEXT, Schema

from nato_search.text.names import names_analyzer
from nato_search.text.tokenizer import ExactTermsTokenizer


def make_schema(analyzer: Analyzer) -> Schema:
    """The ``text`` field indexes the document's title, then the paragraph, and stores
    the paragraph alone: on PIAF one BM25 field over both ranked better (MRR@10
    0.780) than a separate title field at the weights tried, 0.3 to 2 (0.775 at best).
    ``body`` says where the paragraph starts among the text's positions, for ``title:``,
    ``text:`` and ``RankingSettings.title_weight``."""
    return Schema(
        doc_id=ID(stored=True),
        paragraph=STORED(),
        title=STORED(),
        text=TEXT(analyzer=analyzer, stored=True),
        names=TEXT(analyzer=names_analyzer(), phrase=False),
        date=STORED(),
        day=ID(),
        meta=STORED(),
        page=STORED(),
        keys=ID(analyzer=ExactTermsTokenizer()),
        body=ID(),  # where the paragraph starts among the text's words (after the title)
    )
