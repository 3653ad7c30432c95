"""Equal scores are ordered by document id, then paragraph, on every backend: an index
that lived through adds, updates, deletes and merges pages exactly as a fresh build of
the same documents does."""

import datetime as dt
import random

import pytest
from backends import built

from nato_search import Document

TEXTS = [
    "Les munitions arrivent à Kyiv.",
    "Les munitions et les obus arrivent.",
    "Des obus pour la défense aérienne.",
]
DAYS = [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None]


def document(doc_id, rng):
    """Paragraphs drawn from a few texts, so that many score alike."""
    paragraphs = [rng.choice(TEXTS) for _ in range(rng.randint(1, 3))]
    return Document(doc_id, "Note", rng.choice(DAYS), paragraphs, {"lot": rng.randint(0, 2)})


def final_documents(seed):
    rng = random.Random(seed)
    ids = [f"{rng.choice('abcxyz')}{n:03d}" for n in range(40)] + ["é1", "Z", "a\u0000b", "a"]
    return {doc_id: document(doc_id, rng) for doc_id in ids}


def grow(ix, final, seed):
    """Brings ``ix`` (built from a first part) to ``final`` in many commits: adds in small
    batches, updates, documents deleted and added back, in a shuffled order."""
    rng = random.Random(seed + 1)
    pending = [doc_id for doc_id in final if ix.document(doc_id) is None]
    rng.shuffle(pending)
    while pending:
        batch, pending = pending[:3], pending[3:]
        ix.add([document(doc_id, rng) for doc_id in batch])  # other texts, replaced below
    for doc_id in rng.sample(list(final), 15):
        ix.delete([doc_id])
        ix.add([document(doc_id, rng)])
    order = list(final)
    rng.shuffle(order)
    for start in range(0, len(order), 7):
        ix.update([final[doc_id] for doc_id in order[start : start + 7]])


def pages(ix, **options):
    seen = []
    for offset in range(0, 60, 7):
        results = ix.search("munitions obus", 7, offset=offset, **options)
        seen.append((results.total, [(h.doc_id, h.paragraph, round(h.score, 9)) for h in results]))
    return seen


OPTIONS = [{}, {"sort": "date"}, {"sort": "-date"}, {"per_document": 1}, {"filter": {"lot": 1}}]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_lived_index_pages_as_a_fresh_build(tmp_path, backend, seed):
    final = final_documents(seed)
    first = list(final.values())[:5]
    with built(first, tmp_path / "lived", backend) as lived:
        grow(lived, final, seed)
        with built(list(final.values())[::-1], tmp_path / "fresh", backend) as fresh:
            for options in OPTIONS:
                assert pages(lived, **options) == pages(fresh, **options), options


def test_equal_scores_go_by_document_id_then_paragraph(tmp_path, backend):
    twins = [
        Document(doc_id, "Note", None, [TEXTS[0]] * 2) for doc_id in ("b", "a\u0000", "é", "a", "B")
    ]
    with built(twins, tmp_path / "ix", backend) as ix:
        results = ix.search("munitions", 20)
        assert len({hit.score for hit in results}) == 1
        expected = sorted(twins, key=lambda d: d.id.encode())
        assert [(h.doc_id, h.paragraph) for h in results] == [
            (d.id, n) for d in expected for n in (0, 1)
        ]
        for sort in ("date", "-date"):
            assert [(h.doc_id, h.paragraph) for h in ix.search("munitions", 20, sort=sort)] == [
                (d.id, n) for d in expected for n in (0, 1)
            ]


@pytest.mark.parametrize("longest", [20, 300])  # 300: past WIDEST_ID, sorted in Python
def test_ids_sort_by_their_bytes_across_segments(tmp_path, longest):
    ids = ["b", "a", "ab", "a\u0000b", "a\u0000", "é1", "Z", "zz", "a" * longest, "\uffff"]
    documents = [Document(doc_id, "Note", None, ["Les munitions arrivent."]) for doc_id in ids]
    with built(documents[:4], tmp_path / "ix", "whoosh") as ix:
        ix.add(documents[4:7])  # three segments
        ix.add(documents[7:])
        listed = [hit.doc_id for hit in ix.search("", limit=20)]
        tied = [hit.doc_id for hit in ix.search("munitions", limit=20)]  # equal scores
    expected = sorted(ids, key=lambda doc_id: doc_id.encode("utf-8"))
    assert listed == expected and tied == expected
