"""Filters as a boundary: no id, metadata key or value, whatever characters it holds, can
make a paragraph pass another document's or another value's filter, on every backend."""

import json

import pytest
from backends import built

from nato_search import Document, build_index
from nato_search.query.filters import quote

VICTIM = Document(
    "victim", "Rapport interne", None, ["Les munitions du client."], {"tenant": "acme"}
)
# Separators a term encoding might use, each followed by what it would forge.
FORGERIES = [
    "\u001fdoc_id=victim",
    "\u001edoc_id=victim",
    "\u0000doc_id=victim",
    "\ndoc_id=victim",
    "\tdoc_id=victim",
    '", "doc_id=victim',
    '"]\u001fdoc_id=victim',
    "\u2029doc_id=victim",
    "|doc_id=victim",
    ",doc_id=victim",
]


def attackers():
    documents = []
    for n, forged in enumerate(FORGERIES):
        documents.append(
            Document(
                f"attacker-{n}",
                "Munitions",
                None,
                ["Les munitions de l'attaquant."],
                {
                    "tenant": f"evil{forged.replace('doc_id=victim', 'tenant=acme')}",
                    "tags": [forged],
                },
            )
        )
        # an id holding the separator, and a key holding it (keys never hold "=")
        documents.append(Document(f"key-{n}{forged}", "Munitions", None, ["Des munitions."]))
        documents.append(
            Document(
                f"meta-key-{n}",
                "Munitions",
                None,
                ["Des munitions."],
                {f"a{forged.removesuffix('=victim')}": "victim"},
            )
        )
    return documents


@pytest.fixture(scope="module", params=["whoosh", "xapian", "served"])
def shared(request, tmp_path_factory):
    with built([VICTIM, *attackers()], tmp_path_factory.mktemp("t") / "ix", request.param) as ix:
        yield ix


def test_only_the_victims_paragraphs_pass_its_id_or_its_tenant(shared):
    for query_filter in ({"doc_id": "victim"}, {"tenant": "acme"}):
        results = shared.search("munitions", limit=100, filter=query_filter)
        assert [hit.doc_id for hit in results] == ["victim"], query_filter
        assert results.total == 1


def test_facets_and_counts_show_each_value_exactly_as_written(shared):
    results = shared.search("munitions", limit=100, facets=["doc_id", "tenant", "tags"])
    expected_ids = {d.id for d in [VICTIM, *attackers()]}
    assert set(results.facets["doc_id"]) == expected_ids
    assert all(count == 1 for count in results.facets["doc_id"].values())
    assert results.facets["tenant"]["acme"] == 1
    assert set(results.facets["tags"]) == set(FORGERIES)
    assert shared.documents == len(expected_ids)
    per_document = shared.search("munitions", limit=100, per_document=1)
    assert per_document.total == len(expected_ids)


def test_a_forged_value_still_matches_itself(shared):
    for n, forged in enumerate(FORGERIES):
        results = shared.search("munitions", filter={"tags": forged})
        assert [hit.doc_id for hit in results] == [f"attacker-{n}"]
        assert results[0].metadata["tags"] == [forged]
        [hit] = shared.search("munitions", filter={"doc_id": f"key-{n}{forged}"})
        assert hit.doc_id == f"key-{n}{forged}"


def test_jsonl_records_forging_a_filter_pass_only_their_own(tmp_path):
    lines = [
        {"id": "victim", "title": "A", "text": "Munitions du client.", "tenant": "acme"},
        {"id": "x", "title": "B", "text": "Munitions.", "tenant": "z\u001fdoc_id=victim"},
        {"id": "y\u001fdoc_id=victim", "title": "C", "text": "Munitions."},
    ]
    source = tmp_path / "records.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", "utf-8")
    with build_index(source, tmp_path / "ix") as ix:
        assert [h.doc_id for h in ix.search("munitions", filter={"doc_id": "victim"})] == ["victim"]
        assert ix.document("victim").metadata == {"tenant": "acme"}
        assert ix.documents == 3


def test_expressions_match_hostile_values_and_keys_as_whole_exact_terms(shared):
    def found(expression):
        return sorted(h.doc_id for h in shared.search("munitions", limit=100, filter=expression))

    assert found("tenant = acme") == ["victim"]
    assert found('tenant = "acme\\" OR doc_id = \\"victim"') == []  # a value, not an operator
    for n, forged in enumerate(FORGERIES):
        assert found(f"tags = {quote(forged)}") == [f"attacker-{n}"]
        assert found(f"tags IN [{quote(forged)}, x]") == [f"attacker-{n}"]
        assert found(f"doc_id = {quote(f'key-{n}{forged}')}") == [f"key-{n}{forged}"]
        key = f"a{forged.removesuffix('=victim')}"
        assert found(f"{quote(key)} = victim") == [f"meta-key-{n}"]
        assert found(f"{quote(key)} EXISTS") == [f"meta-key-{n}"]
    everyone = len(found("doc_id EXISTS"))
    assert len(found("NOT tenant = acme")) == everyone - 1
