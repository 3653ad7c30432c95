"""The peers quality.py and speed.py run, one class each, set up alike for both."""

from .base import Passage, Peer, SystemUnavailable
from .bm25s_french import Bm25s
from .nato_search import ABLATIONS, VECTOR_SETTINGS, NatoSearch, group_documents, parse_date
from .sqlite_fts5 import SqliteFts5
from .tantivy_french import Tantivy
from .whoosh_french import WhooshFrench

__all__ = [
    "ABLATIONS",
    "VECTOR_SETTINGS",
    "Bm25s",
    "NatoSearch",
    "Passage",
    "Peer",
    "SqliteFts5",
    "SystemUnavailable",
    "Tantivy",
    "WhooshFrench",
    "group_documents",
    "parse_date",
]
