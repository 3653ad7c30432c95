"""Paging property: pages walked with ``offset`` concatenate to one big search's hits,
whatever the options, with the same total and facets on every page, on every backend."""

import random

import pytest
from app_corpus import DOCUMENTS
from backends import BACKENDS, built

from nato_search import Document

WORDS = "munitions ukraine russie otan alliance sommet missiles défense alliés obus date:2023.. -russie".split()
OPTIONS = [
    {},
    {"filter": {"source": "AFP"}},
    {"filter": {"tags": ["ukraine", "diplomatie"]}},
    {"sort": "date"},
    {"sort": "-date"},
    {"per_document": 1},
    {"per_document": 2, "sort": "-date"},
    {"per_document": 1, "filter": {"urgent": True}},
]


@pytest.fixture(scope="module", params=BACKENDS)
def app_index(request, tmp_path_factory):
    with built(DOCUMENTS, tmp_path_factory.mktemp("paging") / "ix", request.param) as ix:
        yield ix


def key(results):
    return [(hit.doc_id, hit.paragraph, hit.score) for hit in results]


def walk(ix, query, total_wanted, rng, **options):
    """Pages of random sizes 1–7, each asked for with its offset."""
    offset = 0
    while offset < total_wanted:
        size = rng.randint(1, 7)
        page = ix.search(query, limit=size, offset=offset, facets=["year", "source"], **options)
        assert page.offset == offset
        yield page
        offset += size


@pytest.mark.parametrize("seed", range(12))
def test_pages_concatenate_to_one_big_search(app_index, seed):
    rng = random.Random(seed)
    for _ in range(6):
        words = rng.sample(WORDS, rng.randint(1, 3))
        if all(w.startswith(("-", "date:")) for w in words):
            words.append("ukraine")
        query = " ".join(words)
        options = rng.choice(OPTIONS)
        big = app_index.search(query, limit=40, facets=["year", "source"], **options)
        walked = []
        for page in walk(app_index, query, len(big) + 3, rng, **options):
            assert page.total == big.total and page.facets == big.facets, (query, options)
            walked.extend(key(page))
        assert walked == key(big), (query, options)


def test_pages_past_the_proximity_candidates_agree(tmp_path, backend):
    """Deep pages (past the 300 paragraphs the proximity bonus may reorder) agree too."""
    rng = random.Random(5)
    vocabulary = "défense aérienne otan ukraine munitions sommet alliés obus paix".split()
    documents = [
        Document(
            f"d{i}",
            "Chronique",
            None,
            [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 12))) + "."],
        )
        for i in range(700)
    ]
    with built(documents, tmp_path / "ix", backend) as ix:
        query = "défense aérienne otan"
        big = ix.search(query, limit=450)
        assert big.total > 400
        walked = []
        offset = 250
        while offset < 420:
            size = rng.randint(1, 7)
            walked.extend(key(ix.search(query, limit=size, offset=offset)))
            offset += size
        assert walked == key(big)[250:offset]
        scores = [hit.score for hit in big]
        assert scores == sorted(scores, reverse=True)
