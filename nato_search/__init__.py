"""French full-text search over paragraphs, on an embedded Whoosh index.

>>> import nato_search
>>> with nato_search.open_index() as ix:          # the bundled seed articles
...     for hit in ix.search("munitions", limit=3):
...         print(hit.doc_id, hit.paragraph, hit.snippet())
"""

from nato_search.errors import (
    ClusterConfigError,
    CorpusError,
    CorpusWarning,
    IndexClosedError,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    NothingToIndexError,
    ShardError,
)
from nato_search.index import Hit, Index, Results
from nato_search.indexing import build_index, open_index, update_index
from nato_search.readers.corpus import Document, read_documents
from nato_search.settings import RankingSettings

__version__ = "1.1.0"
__all__ = [
    "ClusterConfigError",
    "CorpusError",
    "CorpusWarning",
    "Document",
    "Hit",
    "Index",
    "IndexClosedError",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexVersionError",
    "NothingToIndexError",
    "RankingSettings",
    "Results",
    "ShardError",
    "build_index",
    "open_index",
    "read_documents",
    "update_index",
]
