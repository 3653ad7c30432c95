"""Per-segment NumPy arrays: exactly what Whoosh stores, saved atomically, memory-mapped back."""

import datetime as dt
import json
import os
import random
import time

import numpy as np
import pytest
from whoosh import index as windex
from whoosh import query as wq
from whoosh.formats import Positions
from whoosh.qparser import QueryParser
from whoosh.util.numeric import byte_to_length, length_to_byte

import nato_search
from nato_search import Document
from nato_search.engines.whoosh import arrays as sa
from nato_search.engines.whoosh import arrays_file, whoosh_private
from nato_search.engines.whoosh.writer import write_documents

PHRASE = "la défense aérienne"
DOCS = [
    Document(
        "a",
        "Batteries Patriot",
        dt.date(2024, 6, 13),
        [
            f"{PHRASE} tient, {PHRASE} tient encore, {PHRASE} tient toujours.",
            "Les batteries Patriot arrivent en Pologne avec des F16 et un A400M.",
        ],
    ),
    Document("b", "Sans date", None, ["L'OTAN discute à Bruxelles.", "Rien de neuf ici."]),
]
ADDED = [
    Document("c", "Obus", dt.date(2023, 1, 2), ["Des obus de 155 mm pour Kiev.", "Patriot."]),
    Document("d", "Drones", None, ["Des drones Shahed au-dessus de Kiev."]),
]
UNMERGED = [
    Document("e", "Mistral", dt.date(2022, 12, 31), ["Le missile Mistral de MBDA.", PHRASE]),
    Document("f", "Vide", None, [""]),
]


def _commit_unmerged(path, documents=(), delete=()):
    """A commit that makes its own segment: stock Whoosh, with merging off."""
    writer = windex.open_dir(str(path)).writer()
    for doc_id in delete:
        writer.delete_by_term("doc_id", doc_id)
    write_documents(writer, documents)
    writer.commit(merge=False)


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "ix"
    with nato_search.build_index(DOCS, path) as ix:
        ix.add(ADDED)
    _commit_unmerged(path, UNMERGED)
    _commit_unmerged(path, delete=["a", "d"])
    return path


def _leaves(path):
    reader = windex.open_dir(str(path)).reader()
    return reader, [leaf for leaf, _ in reader.leaf_readers()]


def _whoosh_postings(leaf, field, term, deleted_too=True):
    """Whoosh's postings of a term; its reader's ``postings`` leaves deleted docs out,
    so with ``deleted_too`` the matcher under it, as the segment stores them."""
    if deleted_too:
        matcher = leaf._terms.matcher(field, term, leaf.schema[field].format)
    else:
        matcher = leaf.postings(field, term)
    docs, weights, positions = [], [], []
    while matcher.is_active():
        docs.append(matcher.id())
        weights.append(matcher.weight())
        if field == "text":
            positions.append(matcher.value_as("positions"))
        matcher.next()
    return docs, weights, positions


def _assert_same_as_whoosh(arrays, leaf):
    segment = leaf.segment()
    assert arrays.segment_id == segment.segment_id()
    assert arrays.doc_count == segment.doc_count_all() == len(arrays.length) == len(arrays.day)
    tokens = np.zeros(arrays.doc_count, np.int64)
    for field, postings in (("text", arrays.words), ("names", arrays.names)):
        terms = list(leaf.lexicon(field))
        assert len(postings) == len(terms)
        assert postings.term_off[-1] == len(postings.term_blob)
        assert postings.post_off[-1] == len(postings.docs) == len(postings.tf)
        for i, term in enumerate(terms):
            assert postings.term(i) == term.decode()
            assert postings.lookup(term.decode()) == i
            docs, weights, positions = _whoosh_postings(leaf, field, term)
            got_docs, got_tf = postings.postings(i)
            assert got_docs.tolist() == docs
            assert got_tf.tolist() == weights
            assert np.all(np.diff(got_docs) > 0)
            live = ~whoosh_private.deleted_mask(segment)[got_docs]
            assert got_docs[live].tolist() == _whoosh_postings(leaf, field, term, False)[0]
            if field == "text":
                starts, pos = postings.positions(i)
                got = [pos[starts[j] : starts[j + 1]].tolist() for j in range(len(docs))]
                assert got == positions
                assert [len(p) for p in positions] == weights
                np.add.at(tokens, got_docs, got_tf)
        if field == "text":
            assert postings.pos_term is not None and postings.pos is not None
            assert postings.pos_term[-1] == len(postings.pos)
        else:
            assert postings.pos_term is None and postings.pos is None
    assert arrays.length.tolist() == tokens.tolist()
    for docnum in range(arrays.doc_count):
        stored = leaf.stored_fields(docnum)
        # Whoosh keeps a length in one byte: exact for small lengths, rounded above
        length = int(arrays.length[docnum])
        assert leaf.doc_field_length(docnum, "text") == byte_to_length(length_to_byte(length))
        date = stored.get("date")
        expected = int(date.replace("-", "")) if date else 0
        assert arrays.day[docnum] == expected
    for name in ("length", "day"):
        assert getattr(arrays, name).dtype == np.int32
    for f in (arrays.words, arrays.names):
        assert (f.term_blob.dtype, f.term_off.dtype, f.post_off.dtype) == (
            np.uint8,
            np.int64,
            np.int64,
        )
        assert f.docs.dtype == np.int32 and f.tf.dtype in (np.int32, np.uint16)
    assert arrays.words.pos_term.dtype == np.int64 and arrays.words.pos.dtype in (
        np.int32,
        np.uint16,
    )


@pytest.mark.parametrize("chunk", [1, 5, whoosh_private.CHUNK])
def test_build_matches_whoosh_in_every_segment_deleted_docs_included(path, chunk, monkeypatch):
    monkeypatch.setattr(
        whoosh_private, "CHUNK", chunk
    )  # postings decoded a few at a time, or all at once
    reader, leaves = _leaves(path)
    assert len(leaves) >= 3
    assert any(leaf.segment().has_deletions() for leaf in leaves)
    deleted_postings = 0
    dated = undated = 0
    for leaf in leaves:
        arrays = whoosh_private.build(leaf)
        _assert_same_as_whoosh(arrays, leaf)
        mask = whoosh_private.deleted_mask(leaf.segment())
        assert mask.dtype == np.bool_ and len(mask) == arrays.doc_count
        assert mask.tolist() == [leaf.is_deleted(n) for n in range(arrays.doc_count)]
        deleted_postings += int(mask[arrays.words.docs].sum())
        dated += int((arrays.day > 0).sum())
        undated += int((arrays.day == 0).sum())
    assert deleted_postings > 0  # the deleted docs' postings are there, as in Whoosh
    assert dated and undated
    reader.close()


def test_a_repeated_phrase_has_every_position_and_a_word_is_in_both_fields(path):
    reader, leaves = _leaves(path)
    first = next(leaf for leaf in leaves if leaf.stored_fields(0)["doc_id"] == "a")
    arrays = whoosh_private.build(first)
    analyzer = first.schema["text"].analyzer
    words = [token.text for token in analyzer(PHRASE)]
    i = arrays.words.lookup(words[-1])
    docs, tf = arrays.words.postings(i)
    assert 3 in tf.tolist()  # three times in one paragraph
    assert arrays.words.lookup("patriot") >= 0 and arrays.names.lookup("patriot") >= 0
    reader.close()


def test_lookup_of_missing_terms_and_terms_with_digits(path):
    reader, leaves = _leaves(path)
    for leaf in leaves:
        arrays = whoosh_private.build(leaf)
        for postings in (arrays.words, arrays.names):
            first, last = postings.term(0), postings.term(len(postings) - 1)
            assert postings.lookup("") == -1
            assert postings.lookup(first[:-1] if len(first) > 1 else "\x00") == -1
            assert postings.lookup(last + "zz") == -1
            assert postings.lookup("\U0010ffff") == -1
            for i in range(len(postings) - 1):
                between = postings.term(i) + "\x00"
                if between != postings.term(i + 1):
                    assert postings.lookup(between) == -1
    # terms with digits sort before letters (as bytes) and are found like any other
    for leaf in leaves:
        arrays = whoosh_private.build(leaf)
        for postings in (arrays.words, arrays.names):
            for i in range(len(postings)):
                if any(c.isdigit() for c in postings.term(i)):
                    assert postings.lookup(postings.term(i)) == i
            assert postings.lookup("155x") == -1 and postings.lookup("0") == -1
    words = [t.decode() for leaf in leaves for t in leaf.lexicon("text")]
    assert any(any(c.isdigit() for c in word) for word in words), words
    reader.close()


@pytest.mark.parametrize("every", [1, 2, 3, 5, 32])
def test_sampled_binary_search_finds_where_every_key_sorts(path, monkeypatch, every):
    """Lookups and prefix ranges search a sample of the terms, then the blob between two."""
    import bisect

    monkeypatch.setattr(sa, "_SAMPLE_EVERY", every)
    reader, leaves = _leaves(path)
    longest = 0
    for leaf in leaves:
        arrays = whoosh_private.build(leaf)
        for postings in (arrays.words, arrays.names, arrays.keys):
            terms = [postings.term_bytes(i) for i in range(len(postings))]
            longest = max(longest, len(terms))
            keys = [b"", b"\x00", b"\xff\xff", *terms]
            keys += (
                [t[:-1] for t in terms] + [t + b"\x00" for t in terms] + [t + b"z" for t in terms]
            )
            for key in keys:
                assert postings._first_at_least(key) == bisect.bisect_left(terms, key), key
    assert longest > 3 * every or every == 32  # several samples, and terms between them
    reader.close()


def test_lookups_are_remembered_within_a_bound_and_stay_right(path, monkeypatch):
    monkeypatch.setattr(sa, "LOOKUPS_KEPT", 5)
    reader, leaves = _leaves(path)
    postings = whoosh_private.build(leaves[0]).words
    asked = [postings.term(i) for i in range(len(postings))] + ["zzz-absent", ""]
    for _ in range(2):  # the second round is answered partly from memory
        assert [postings.lookup(t) for t in asked] == [*range(len(postings)), -1, -1]
        assert 0 < len(postings._looked_up) <= 5
    reader.close()


def _all_arrays(arrays):
    return arrays_file._named_arrays(arrays)


def _is_mapped(array):
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def test_save_and_load_round_trip_memory_mapped(path):
    reader, leaves = _leaves(path)
    for leaf in leaves:
        built = whoosh_private.build(leaf)
        arrays_file.save(built, path)
        name = path / arrays_file.file_name(built.segment_id)
        assert name.name == f"{built.segment_id}.arrays"
        assert name.read_bytes().startswith(arrays_file.MAGIC)
        loaded = arrays_file.load(path, built.segment_id, built.doc_count)
        assert loaded is not None
        assert (loaded.segment_id, loaded.doc_count) == (built.segment_id, built.doc_count)
        expected, got = _all_arrays(built), _all_arrays(loaded)
        assert expected.keys() == got.keys()
        for key, value in expected.items():
            small = key.endswith((".tf", ".pos")) and int(value.max(initial=0)) < 1 << 16
            assert got[key].dtype == (np.uint16 if small else value.dtype), key
            assert np.array_equal(got[key], value), key
            assert _is_mapped(got[key]), key
            assert not got[key].flags.writeable
        bases = {id(_root(a)) for a in got.values()}
        assert len(bases) == 1  # one map for the file
        _assert_same_as_whoosh(loaded, leaf)
    assert not [n for n in os.listdir(path) if n.endswith(".tmp")]
    reader.close()


def _root(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def test_missing_stale_or_older_files_are_rebuilt_and_damaged_ones_refused(path, monkeypatch):
    reader, leaves = _leaves(path)
    leaf = leaves[0]
    segment = leaf.segment()
    segid, count = segment.segment_id(), segment.doc_count_all()
    file = path / arrays_file.file_name(segid)
    file.unlink()  # written by the commit
    assert arrays_file.load(path, segid, count) is None  # missing
    arrays = arrays_file.for_reader(path, leaf)
    assert file.exists() and arrays_file.load(path, segid, count) is not None
    assert arrays_file.load(path, segid, count + 1) is None  # another doc count: stale
    assert arrays_file.load(path, "MAIN_other", count) is None
    whole = file.read_bytes()
    cut = {"half": whole[: len(whole) // 2], "one byte": whole[:-1], "header": whole[:10]}
    for damaged in (*cut.values(), b"", b"garbage" * 100):
        file.write_bytes(damaged)
        with pytest.raises(arrays_file.ArraysDamagedError, match=arrays_file.file_name(segid)):
            arrays_file.load(path, segid, count)
        with pytest.raises(arrays_file.ArraysDamagedError, match="remove it to have it made again"):
            arrays_file.for_reader(path, leaf)
    file.unlink()
    rebuilt = arrays_file.for_reader(path, leaf)
    assert np.array_equal(rebuilt.words.pos, arrays.words.pos)
    assert file.read_bytes() == whole
    monkeypatch.setattr(arrays_file, "FORMAT", arrays_file.FORMAT + 1)
    assert arrays_file.load(path, segid, count) is None  # another layout: rebuilt
    arrays_file.for_reader(path, leaf)
    assert arrays_file.load(path, segid, count) is not None
    monkeypatch.undo()
    assert arrays_file.load(path, segid, count) is None
    reader.close()


def test_a_flipped_byte_in_any_array_is_found_once_per_file(path):
    """Every array's bytes are checked against its CRC-32 when a process first maps the
    file: a flipped byte anywhere is refused, naming the array."""
    reader, leaves = _leaves(path)
    leaf = leaves[0]
    segid, count = leaf.segment().segment_id(), leaf.segment().doc_count_all()
    file = path / arrays_file.file_name(segid)
    whole = file.read_bytes()
    arrays = arrays_file.load(path, segid, count)
    header = json.loads(
        whole[
            len(arrays_file.MAGIC) + 4 : len(arrays_file.MAGIC)
            + 4
            + int.from_bytes(whole[6:10], "little")
        ]
    )
    for name, entry in header["arrays"].items():
        nbytes = int(np.prod(entry["shape"])) * np.dtype(entry["dtype"]).itemsize
        if not nbytes:
            continue
        at = entry["offset"] + nbytes // 2
        damaged = bytearray(whole)
        damaged[at] ^= 0x10
        file.write_bytes(bytes(damaged))
        os.utime(file, ns=(time.time_ns(), time.time_ns() + 1))  # a new file for the cache
        with pytest.raises(
            arrays_file.ArraysDamagedError, match=f"array '{name}' fails its checksum"
        ):
            arrays_file.load(path, segid, count)
    file.write_bytes(whole)
    assert arrays_file.load(path, segid, count) is not None
    assert arrays is not None
    reader.close()


def test_for_reader_on_a_folder_it_cannot_write(path, monkeypatch):
    reader, leaves = _leaves(path)
    for name in [n for n in os.listdir(path) if n.endswith(".arrays")]:
        os.unlink(path / name)  # written by the commits

    def refuse(arrays, folder):
        raise PermissionError("read-only")

    monkeypatch.setattr(arrays_file, "save", refuse)
    for leaf in leaves:
        arrays = arrays_file.for_reader(path, leaf)
        _assert_same_as_whoosh(arrays, leaf)
    assert not [n for n in os.listdir(path) if ".arrays" in n]
    monkeypatch.undo()
    arrays = arrays_file.for_reader(path, leaves[0], persist=False)
    assert not [n for n in os.listdir(path) if ".arrays" in n]
    reader.close()


def test_stock_whoosh_searches_beside_the_files_and_cleans_them_after_a_merge(path):
    reader, leaves = _leaves(path)
    old = [leaf.segment().segment_id() for leaf in leaves]
    for leaf in leaves:
        arrays_file.for_reader(path, leaf)
    reader.close()
    leftover = path / f".{arrays_file.file_name(old[0])}.1-abc.tmp"
    leftover.write_bytes(b"partial")
    assert all((path / arrays_file.file_name(s)).exists() for s in old)

    ix = windex.open_dir(str(path))
    analyzer = ix.schema["text"].analyzer
    words = [token.text for token in analyzer(PHRASE)]
    with ix.searcher() as searcher:
        assert searcher.search(wq.Phrase("text", words), limit=None).scored_length() == 1
        parsed = QueryParser("text", ix.schema).parse(f'"{PHRASE}"')
        assert {hit["doc_id"] for hit in searcher.search(parsed)} == {"e"}
    ix.writer().commit(optimize=True)  # everything into one new segment
    files = os.listdir(path)
    assert not [s for s in old if arrays_file.file_name(s) in files]
    assert leftover.exists()  # dot files are not Whoosh's: ours to clean

    ix = windex.open_dir(str(path))
    with ix.searcher() as searcher:
        (leaf,) = [leaf for leaf, _ in searcher.reader().leaf_readers()]
        arrays = arrays_file.for_reader(path, leaf)
        _assert_same_as_whoosh(arrays, leaf)
        assert whoosh_private.deleted_mask(leaf.segment()).sum() == 0
        assert searcher.search(wq.Phrase("text", words)).scored_length() == 1
    assert (path / arrays_file.file_name(leaf.segment().segment_id())).exists()
    with nato_search.open_index(path) as index:
        assert {hit.doc_id for hit in index.search("Patriot")} == {"c"}


def test_remove_stale_temporaries_only_removes_old_ones(tmp_path):
    old = tmp_path / ".MAIN_abc.arrays.123-deadbeef.tmp"
    new = tmp_path / ".MAIN_abc.arrays.124-feedface.tmp"
    other = tmp_path / ".MAIN_abc.other.tmp"
    for file in (old, new, other):
        file.write_bytes(b"x")
    past = time.time() - 11 * 60
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    arrays_file.remove_stale_temporaries(tmp_path)
    assert not old.exists() and new.exists() and other.exists()


VOCABULARY = (
    "la le les des une un de du et à en pour sur avec dans défense aérienne missile batterie "
    "obus drone Patriot OTAN Kiev Moscou Paris Bruxelles armée soldats frontière ministre "
    "président accord sommet gouvernement réunion annonce semaine hier demain Pologne F16"
).split()


def test_timing_on_a_few_thousand_paragraphs(tmp_path):
    rng = random.Random(7)
    documents = [
        Document(
            f"d{n}",
            "Titre",
            dt.date(2024, 1, 1 + n % 28) if n % 3 else None,
            [" ".join(rng.choices(VOCABULARY, k=rng.randint(5, 400))) for _ in range(6)],
        )
        for n in range(500)
    ]
    path = tmp_path / "big"
    nato_search.build_index(documents, path).close()
    reader, leaves = _leaves(path)
    for leaf in leaves:
        started = time.perf_counter()
        arrays = whoosh_private.build(leaf)
        built = time.perf_counter() - started
        arrays_file.save(arrays, path)
        started = time.perf_counter()
        loaded = arrays_file.load(path, arrays.segment_id, arrays.doc_count)
        took = time.perf_counter() - started
        assert loaded is not None
        print(
            f"\n{arrays.doc_count} paragraphs, {len(arrays.words.docs)} postings, "
            f"{len(arrays.words.pos)} positions: build {built * 1000:.0f} ms, "
            f"load {took * 1000:.2f} ms"
        )
        assert took < 1.0
        _assert_same_as_whoosh(loaded, leaf)  # long paragraphs: positions past 255
        assert int(arrays.words.pos.max()) > 255
    reader.close()


def test_positions_of_every_shape_decode_as_whoosh_decodes_them():
    """Values NumPy decodes (small deltas) and those left to Whoosh (big deltas,
    over 1000 of them, odd pickles) side by side, with and without the final STOP."""
    fmt = Positions()
    rng = random.Random(3)
    lists = [[], [0], [7], [3, 9], [255, 256], [70000], [1, 2, 3, 300, 301], list(range(1001))]
    lists += [sorted(rng.sample(range(600), rng.randint(1, 40))) for _ in range(200)]
    values = [fmt.encode(p) for p in lists]
    values += [v[:-1] for v in values[:20]]  # without the STOP
    odd = b"\x00\x00\x00\x02\x80\x02]q\x00(\x88M\x01\x00e."  # [True, 1]: fits, not all K
    values.append(odd)
    blocks = [tuple(values[i : i + 7]) for i in range(0, len(values), 7)]
    tf, pos_off, pos = whoosh_private._decode_positions(blocks, fmt)
    assert len(tf) == len(values) and pos_off[-1] == len(pos)
    for j, value in enumerate(values):
        expected = fmt.decode_positions(value)
        assert pos[pos_off[j] : pos_off[j + 1]].tolist() == expected
        assert tf[j] == fmt.decode_frequency(value) == len(expected)
    assert whoosh_private._decode_positions([], fmt)[1].tolist() == [0]


def test_a_segment_with_no_names_and_no_dates(tmp_path):
    path = tmp_path / "plain"
    nato_search.build_index([Document("z", "", None, ["que des minuscules ici"])], path).close()
    reader, (leaf,) = _leaves(path)
    arrays = whoosh_private.build(leaf)
    _assert_same_as_whoosh(arrays, leaf)
    assert len(arrays.names) == 0 and len(arrays.names.docs) == 0
    assert arrays.names.lookup("paris") == -1
    assert arrays.day.tolist() == [0]
    arrays_file.save(arrays, path)
    loaded = arrays_file.load(path, arrays.segment_id, 1)
    assert loaded is not None and len(loaded.names) == 0
    _assert_same_as_whoosh(loaded, leaf)
    reader.close()


def _forms_of(arrays):
    forms = arrays.forms
    return {arrays.words.term(i): set(forms.of_term(i)) for i in range(len(arrays.words))}


def test_word_forms_file_every_written_word_under_the_terms_it_gives(tmp_path):
    """Each segment records its words as written: the lean writer from what it analyzed,
    a segment of Whoosh's writer from its stored fields; both the same, whole and exact."""
    from nato_search.text.analyzer import french_analyzer
    from nato_search.text.tokenizer import words

    path = tmp_path / "ix"
    nato_search.build_index(DOCS, path).close()
    _commit_unmerged(path, ADDED)  # a segment of stock Whoosh's writer
    analyzer = french_analyzer()
    reader, leaves = _leaves(path)
    assert len(leaves) == 2
    lean = [
        arrays_file.load(path, leaf.segment().segment_id(), leaf.doc_count_all()) for leaf in leaves
    ]
    assert lean[1] is None  # stock Whoosh wrote no arrays
    assert _forms_of(lean[0]) == _forms_of(whoosh_private.build(leaves[0]))
    for leaf in leaves:
        forms = _forms_of(whoosh_private.build(leaf))
        seen = set()
        for stored in leaf.all_stored_fields():
            for word in words(stored["title"]) + words(stored["text"]):
                seen.add(word)
                for term in analyzer.word_terms([word])[0]:
                    assert word in forms[term], (word, term)
        for term, held in forms.items():
            assert held <= seen
            assert all(term in analyzer.word_terms([w])[0] for w in held), term
    reader.close()
    with nato_search.open_index(path) as ix, ix._snapshot() as snapshot:
        (obus,) = analyzer.word_terms(["obus"])[0]
        assert snapshot.written({"otan"}) == {"L'OTAN"}
        assert snapshot.written({obus, "absent"}) == {"Obus", "obus"}  # a title, a paragraph


def test_an_older_arrays_file_is_rebuilt_with_the_word_forms(path, monkeypatch):
    reader, leaves = _leaves(path)
    leaf = leaves[0]
    monkeypatch.setattr(arrays_file, "FORMAT", arrays_file.FORMAT - 1)
    old = whoosh_private.build(leaf)
    old.forms = None
    arrays_file.save(old, path)
    monkeypatch.undo()
    assert arrays_file.load(path, leaf.segment().segment_id(), leaf.doc_count_all()) is None
    assert arrays_file.for_reader(path, leaf).forms is not None
    reader.close()


def test_position_offsets_are_remembered_within_a_bound_and_stay_right(path, monkeypatch):
    monkeypatch.setattr(sa, "STARTS_KEPT", 12)
    monkeypatch.setattr(sa, "_STARTS_FROM", 1)
    reader, leaves = _leaves(path)
    postings = whoosh_private.build(leaves[0]).words
    expected = []
    for i in range(len(postings)):
        tf = postings.postings(i)[1]
        expected.append(np.concatenate(([0], np.cumsum(tf))))
    for _ in range(2):  # the second round is answered partly from memory
        for i in range(len(postings)):
            starts, positions = postings.positions(i)
            assert starts.tolist() == expected[i].tolist()
            assert len(positions) == expected[i][-1]
            assert postings._starts.total <= max(12, len(starts))
        assert 0 < len(postings._starts.items) < len(postings)
    reader.close()
