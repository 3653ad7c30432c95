"""The lean segment writer and the worker processes of a build: the same Whoosh index.

Whoosh's own writer is the reference: the lean writer must produce the bytes it
writes, and a build on worker processes the same postings, lengths and stored
fields (documents numbered another way: compared by (document id, paragraph)).
"""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as windex
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

import nato_search
from nato_search import Document
from nato_search.engines.whoosh import arrays_file, whoosh_private
from nato_search.engines.whoosh import parallel_build as build_workers
from nato_search.engines.whoosh.schema import make_schema
from nato_search.engines.whoosh.segment_builder import BLOCK, SegmentBuilder
from nato_search.engines.whoosh.writer import write_documents
from nato_search.text.analyzer import french_analyzer
from nato_search.text.tokenizer import FIELD_BREAK

WORDS = (
    "défense aérienne batterie missile brigade Alliance sommet ministre drone frontière "
    "l'Ukraine d'œuvrer OTAN-Ukraine Kouleba Poutine Zelensky Bruxelles aujourd'hui"
).split()


def corpus():
    """Edge cases, and words common enough for posting lists of several blocks."""
    docs = [
        Document(
            "seed",
            "Batteries Patriot",
            dt.date(2024, 6, 13),
            [
                "La défense aérienne tient, la défense aérienne tient encore.",
                "Les batteries Patriot arrivent en Pologne avec des F16 et un A400M.",
            ],
        ),
        Document("untitled", "", None, ["Sans titre : l'OTAN discute à Bruxelles.", ""]),
        Document(
            "breaks",
            f"Titre{FIELD_BREAK}coupé",
            dt.date(2023, 1, 2),
            [
                f"Un paragraphe{FIELD_BREAK}{FIELD_BREAK}en deux, sans mot avant : ",
                f"{FIELD_BREAK}Kiev",
                "le la les des",  # stopwords only: indexed by its title alone
            ],
        ),
        Document("long", "Long", None, [" ".join(["missile"] * 300 + ["drone"] * 70000)]),
    ]
    for n in range(60):  # 300 paragraphs: "défense" in every one, beyond one block
        paragraphs = [
            " ".join(WORDS[(n * 7 + k * 3 + i) % len(WORDS)] for i in range(12 + k))
            + f" défense terme{n}x{k}."
            for k in range(5)
        ]
        metadata = {"source": f"agence{n % 3}", "tags": ["otan", f"t{n % 4}"]} if n % 2 else {}
        docs.append(
            Document(
                f"gen{n:02d}",
                f"Rapport {n % 7}",
                dt.date(2022, 1 + n % 12, 1),
                paragraphs,
                metadata,
            )
        )
    return docs


def _empty_index(path):
    path.mkdir()
    windex.create_in(str(path), make_schema(french_analyzer()))
    return FileStorage(str(path))


def _segment_parts(path):
    """Each file inside each compound segment: {part: bytes}, segments in order."""
    ix = windex.open_dir(str(path))
    out = []
    for segment in ix._segments():
        compound = segment.open_compound_file(ix.storage)
        parts = {}
        for name in compound.list():
            f = compound.open_file(name)
            parts[name.split(".", 1)[1]] = bytes(f.read(compound.file_length(name)))
            f.close()
        compound.close()
        out.append(parts)
    return out


def test_the_lean_writer_writes_the_bytes_whoosh_writes(tmp_path):
    documents = corpus()
    stock = _empty_index(tmp_path / "stock")
    writer = stock.open_index().writer()
    write_documents(writer, documents)
    writer.commit()

    lean = _empty_index(tmp_path / "lean")
    builder = SegmentBuilder(lean, lean.open_index().schema)
    write_documents(builder, documents)
    segment = builder.finish(tmp_path / "lean")
    TOC(lean.open_index().schema, [segment], 1).write(lean, "MAIN")

    [expected], [found] = _segment_parts(tmp_path / "stock"), _segment_parts(tmp_path / "lean")
    assert (
        sorted(found)
        == sorted(expected)
        == ["_names_len.col", "_stored.col", "_text_len.col", "pst", "trm"]
    )
    for part in expected:
        assert found[part] == expected[part], part
    reader = windex.open_dir(str(tmp_path / "lean")).reader()
    assert reader.doc_frequency("text", "defens") > 2 * BLOCK  # several blocks were written


def postings_by_paragraph(path):
    """Everything Whoosh reads from an index, documents named by (doc_id, paragraph)."""
    reader = windex.open_dir(str(path)).reader()
    try:
        key = {n: (f["doc_id"], f["paragraph"]) for n, f in reader.iter_docs()}
        stored = {key[n]: f for n, f in reader.iter_docs()}
        lengths = {
            (field, key[n]): reader.doc_field_length(n, field)
            for n in key
            for field in ("text", "names")
        }
        postings = {}
        for field, term in reader.all_terms():
            matcher = reader.postings(field, term)
            found = {}
            while matcher.is_active():
                positions = matcher.value_as("positions") if field == "text" else None
                found[key[matcher.id()]] = (matcher.weight(), positions)
                matcher.next()
            postings[field, term] = found
        stats = {
            field: (
                reader.field_length(field),
                reader.min_field_length(field),
                reader.max_field_length(field),
            )
            for field in ("text", "names")
        }
        return postings, lengths, stored, stats, reader.doc_count()
    finally:
        reader.close()


@pytest.fixture
def builds(tmp_path):
    documents = corpus()
    stock = tmp_path / "stock"
    _empty_index(stock)
    writer = windex.open_dir(str(stock)).writer()
    write_documents(writer, documents)
    writer.commit()
    with nato_search.build_index(documents, tmp_path / "one", workers=1):
        pass
    with nato_search.build_index(documents, tmp_path / "two", workers=2):
        pass
    with nato_search.build_index(documents, tmp_path / "three", workers=3):
        pass
    return stock, tmp_path / "one", tmp_path / "two", tmp_path / "three"


def test_one_two_three_workers_and_whoosh_build_the_same_index(builds):
    stock, one, two, three = builds
    assert len(windex.open_dir(str(one))._segments()) == 1
    assert len(windex.open_dir(str(two))._segments()) == 2  # one per worker, one commit
    assert len(windex.open_dir(str(three))._segments()) == 3
    assert sorted(p.name for p in two.glob("_MAIN_*.toc")) == ["_MAIN_1.toc"]
    expected = postings_by_paragraph(stock)
    assert expected[4] == 308
    assert expected[0]["text", b"defens"][("seed", 0)] == (2.0, [3, 6])  # title, gap, text
    for path in (one, two, three):
        found = postings_by_paragraph(path)
        for name, a, b in zip(
            ("postings", "lengths", "stored", "stats", "count"), found, expected, strict=True
        ):
            assert a == b, (path.name, name)


def test_the_arrays_written_with_a_segment_are_those_read_from_it(builds):
    for path in builds[1:]:
        reader = windex.open_dir(str(path)).reader()
        for leaf, _ in reader.leaf_readers():
            segment = leaf.segment()
            saved = arrays_file.load(path, segment.segment_id(), segment.doc_count_all())
            assert saved is not None
            fresh = whoosh_private.build(leaf)
            for name in ("length", "day"):
                assert np.array_equal(getattr(saved, name), getattr(fresh, name)), name
            for field in ("words", "names", "keys"):
                a, b = getattr(saved, field), getattr(fresh, field)
                for part in ("term_blob", "term_off", "post_off", "docs", "tf", "pos_term", "pos"):
                    x, y = getattr(a, part), getattr(b, part)
                    assert (x is None and y is None) or np.array_equal(x, y), (field, part)
        reader.close()


def test_stock_whoosh_searches_a_built_index_phrases_included(builds):
    for path in builds:
        with windex.open_dir(str(path)).searcher() as searcher:
            hits = searcher.search(wq.Phrase("text", ["defens", "aerien"]), limit=None)
            found = sorted((h["doc_id"], h["paragraph"]) for h in hits)
            assert ("seed", 0) in found and ("seed", 1) not in found


def test_an_add_after_a_parallel_build_writes_a_segment_of_its_own(builds):
    path = builds[2]
    with nato_search.open_index(path) as ix:
        ix.add([Document("late", "Tard", None, ["Le xylophone de Kouleba."])])
        assert [h.doc_id for h in ix.search("xylophone")] == ["late"]
        assert ix.search('"patriot arrivent"').total == 1
        ix.update([Document("seed", "Autre", None, ["Rien."])])
        assert ix.search('"patriot arrivent"').total == 0
    assert len(windex.open_dir(str(path))._segments()) == 4


# --- failures: no process and no file left behind ------------------------------------


def _children():
    """Live child processes of this one (zombies aside)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _stray(site):
    return sorted(p.name for p in site.iterdir())


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    return site


def _source(then):
    """Documents enough for every worker to be busy, then ``then()``."""
    yield from corpus()
    time.sleep(0.3)  # the workers have taken up their batches
    then()
    yield Document("never", "Jamais", None, ["Jamais lu."])


def test_a_worker_killed_fails_the_build_and_leaves_nothing(site):
    def kill_a_worker():
        workers = _children()
        assert len(workers) == 1  # and this process, which writes a segment too
        os.kill(workers[0], signal.SIGKILL)

    with pytest.raises(build_workers.WorkerError, match="killed by signal 9"):
        nato_search.build_index(_source(kill_a_worker), site / "ix", workers=2)
    assert _children() == []
    assert _stray(site) == []


def test_an_interrupted_build_stops_its_workers_and_leaves_nothing(site):
    def interrupt():
        assert len(_children()) == 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nato_search.build_index(_source(interrupt), site / "ix", workers=2)
    assert _children() == []
    assert _stray(site) == []


CTRL_C_BUILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import nato_search
from nato_search import Document

def source():
    for n in range(400):
        yield Document(f"d{n}", "Titre", None, [f"Le paragraphe numéro {n} de la défense."] * 5)
    print("waiting", flush=True)
    time.sleep(60)

nato_search.build_index(source(), sys.argv[2], workers=2)
"""


def test_ctrl_c_stops_a_build_and_its_workers(site):
    """A terminal's Ctrl-C signals the whole process group: the workers ignore it and
    the interrupted parent stops them."""
    root = Path(__file__).resolve().parent.parent
    out = site.parent / "build.out"
    with open(out, "w") as stdout:
        build = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_BUILD, str(root), str(site / "ix")],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while "waiting" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "waiting" in out.read_text()
        assert len(_session(build.pid)) == 2  # the parent and its worker
        os.killpg(build.pid, signal.SIGINT)
        assert build.wait(timeout=20) != 0
        assert "KeyboardInterrupt" in out.read_text()
        assert _session(build.pid) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(build.pid, signal.SIGKILL)
    assert _stray(site) == []


def _session(sid):
    """Live processes of session ``sid`` (zombies aside)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_a_small_build_runs_in_this_process_unless_told(site, monkeypatch):
    started = []
    real = build_workers._Workers.__init__

    def counting(self, folder, count):
        started.append(count)
        real(self, folder, count)

    monkeypatch.setattr(build_workers._Workers, "__init__", counting)
    monkeypatch.setattr(build_workers, "default_workers", lambda: 2)
    nato_search.build_index(corpus()[:3], site / "small").close()
    assert started == []
    monkeypatch.setattr(build_workers, "PARALLEL_FROM", 100)
    nato_search.build_index(corpus(), site / "big").close()
    assert started == [1]  # a worker process, and this one


def test_workers_must_be_a_positive_whole_number(site):
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="workers must be a positive whole number"):
            nato_search.build_index(corpus()[:1], site / "ix", workers=bad)


def test_fields_the_fast_path_does_not_know_go_through_whoosh_s_own_index(tmp_path):
    """A schema with more fields (stored ones, key=value ones, words as written, a number),
    and boosts: the lean writer still writes the bytes Whoosh writes."""
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT

    def schema():
        schema = make_schema(french_analyzer())
        schema.add("extra", STORED())
        schema.add("filter", KEYWORD(commas=True, lowercase=True))
        schema.add("surface", TEXT(analyzer=StandardAnalyzer(stoplist=None)))
        schema.add("year", NUMERIC(int))
        schema.add("source", ID(stored=True))
        return schema

    rows = [
        dict(
            doc_id="a",
            paragraph=0,
            text="La défense aérienne.",
            names="Kouleba",
            extra={"k": 1},
            keys='["doc_id=a", "lang=fr"]',
            filter="lang=fr,kind=news",
            surface="La défense aérienne",
            year=2024,
            source="x",
        ),
        dict(
            doc_id="a",
            paragraph=1,
            text="Défense, défense.",
            names="Poutine",
            meta=None,
            filter="lang=fr",
            surface="Défense défense",
            year=2024,
            source="x",
            _text_boost=2.0,
        ),
        dict(
            doc_id="b",
            paragraph=0,
            text="Rien.",
            names="Rien",
            filter="kind=news",
            surface=["déjà", "analysé"],
            year=1999,
            _boost=0.5,
        ),
    ]
    paths = []
    for name in ("stock", "lean"):
        path = tmp_path / name
        path.mkdir()
        storage = FileStorage(str(path))
        storage.create_index(schema())
        if name == "stock":
            writer = storage.open_index().writer()
            for row in rows:
                writer.add_document(**row)
            writer.commit()
        else:
            builder = SegmentBuilder(storage, storage.open_index().schema)
            for row in rows:
                builder.add_document(**row)
            TOC(storage.open_index().schema, [builder.finish()], 1).write(storage, "MAIN")
        paths.append(path)
    [expected], [found] = _segment_parts(paths[0]), _segment_parts(paths[1])
    assert sorted(found) == sorted(expected)
    assert "_surface_len.col" in found
    for part in expected:
        assert found[part] == expected[part], part
