"""Bad input is refused where it comes in, with a message naming it, never a failure later."""

import datetime as dt
import json
import os
import pickle
import sys
import tempfile
import warnings

import pytest
from conftest import doc

import nato_search
from nato_search import CorpusError, Document, read_documents
from nato_search.errors import CorpusWarning
from nato_search.query.expansion import MAX_SYNONYMS_BYTES, Synonyms
from nato_search.readers.corpus import source_files
from nato_search.text.analyzer import analyze


def terms_of(text):
    return [t for t, *_ in analyze(text)]


# --- Document ----------------------------------------------------------------------------------


def test_a_datetime_becomes_its_date_and_the_hit_has_it(tmp_path):
    document = Document("a", "Titre", dt.datetime(2024, 6, 13, 18, 30), ["La paix."])
    assert document.date == dt.date(2024, 6, 13) and type(document.date) is dt.date
    with nato_search.build_index([document], tmp_path / "ix") as ix:
        [hit] = ix.search("paix")
        assert hit.date == dt.date(2024, 6, 13)
        assert [h.doc_id for h in ix.search("paix date:2024-06-13")] == ["a"]


@pytest.mark.parametrize(
    "date, kind", [("2024-06-13", "str"), (20240613, "int"), (1718236800.0, "float")]
)
def test_a_date_that_is_no_date_is_a_type_error(date, kind):
    with pytest.raises(
        TypeError, match=f"Document 'a': date must be a datetime.date or None, not {kind}"
    ):
        Document("a", "Titre", date, ["La paix."])


@pytest.mark.parametrize(
    "paragraphs, kind", [("La paix.", "str"), (b"La paix.", "bytes"), (7, "int")]
)
def test_paragraphs_must_be_a_list_not_a_string(paragraphs, kind):
    with pytest.raises(
        TypeError, match=f"Document 'a': paragraphs must be a list of str, not {kind}"
    ):
        Document("a", "Titre", None, paragraphs)


def test_each_paragraph_must_be_a_string_and_any_iterable_becomes_a_list():
    with pytest.raises(TypeError, match="Document 'a': paragraph 1 must be a str, not NoneType"):
        Document("a", "Titre", None, ["Un.", None])
    assert Document("a", "Titre", None, ("Un.", "Deux.")).paragraphs == ["Un.", "Deux."]
    assert Document("a", "Titre", None, (p for p in ["Un."])).paragraphs == ["Un."]


@pytest.mark.parametrize(
    "doc_id, error, message",
    [
        (7, TypeError, "Document id must be a str, not int"),
        (None, TypeError, "Document id must be a str, not NoneType"),
        ("", ValueError, "Document id must not be empty"),
        ("a\ud83d", ValueError, r"Document id 'a\\ud83d' holds a lone surrogate \(U\+D83D\)"),
    ],
)
def test_an_id_must_be_a_nonempty_string_without_surrogates(doc_id, error, message):
    with pytest.raises(error, match=message):
        Document(doc_id, "Titre", None, ["La paix."])


def test_a_title_must_be_a_string():
    with pytest.raises(TypeError, match="Document 'a': title must be a str, not NoneType"):
        Document("a", None, None, ["La paix."])


def test_lone_surrogates_in_title_and_text_become_replacement_characters(tmp_path):
    lone = json.loads('"\\ud83d"')  # what a JSON escape of half an emoji gives
    assert lone == "\ud83d"
    document = Document("a", f"Titre {lone}", None, [f"La paix {lone} durable.", "\ud83d\ude00 ok"])
    assert document.title == "Titre \ufffd"
    # A pair split into two code points is joined back into its character.
    assert document.paragraphs == ["La paix \ufffd durable.", "\U0001f600 ok"]
    with nato_search.build_index([document], tmp_path / "ix") as ix:
        [hit] = ix.search("durable")
        assert hit.text.encode("utf-8") and hit.snippet("html").encode("utf-8")
        assert hit.title == "Titre \ufffd"


# --- JSON Lines ids ---------------------------------------------------------------------------


def write_jsonl(path, *records):
    path.write_text("\n".join(records) + "\n", "utf-8")
    return path


@pytest.mark.parametrize(
    "record, message",
    [
        (
            '{"id": null, "text": "x"}',
            "docs.jsonl:2: 'id' must be a string or a whole number, not null",
        ),
        ('{"id": [1], "text": "x"}', r"docs.jsonl:2: 'id' must be .*, not list \(\[1\]\)"),
        ('{"id": {"a": 1}, "text": "x"}', "docs.jsonl:2: 'id' must be .*, not dict"),
        ('{"id": true, "text": "x"}', r"docs.jsonl:2: 'id' must be .*, not bool \(true\)"),
        ('{"id": 1.5, "text": "x"}', r"docs.jsonl:2: 'id' must be .*, not float \(1.5\)"),
        ('{"id": "", "text": "x"}', "docs.jsonl:2: 'id' is an empty string"),
        (
            '{"id": "a\\ud83d", "text": "x"}',
            r"docs.jsonl:2: 'id' holds a lone surrogate \(\\ud83d\)",
        ),
    ],
)
def test_a_jsonl_id_that_is_no_string_or_integer_names_file_and_line(tmp_path, record, message):
    path = write_jsonl(tmp_path / "docs.jsonl", '{"id": "ok", "text": "Bien."}', record)
    with pytest.raises(CorpusError, match=message):
        list(read_documents(path, strict=True))


def test_jsonl_integer_ids_become_strings_and_surrogates_in_text_are_replaced(tmp_path):
    path = write_jsonl(
        tmp_path / "docs.jsonl",
        '{"id": 7, "text": "Sept."}',
        '{"id": -3, "title": "T \\ud83d", "paragraphs": ["Moins \\ude00 trois."]}',
    )
    assert [(d.id, d.title, d.paragraphs) for d in read_documents(path)] == [
        ("7", "Sept", ["Sept."]),
        ("-3", "T \ufffd", ["Moins \ufffd trois."]),
    ]


def test_a_file_name_that_is_not_utf8_is_an_error_naming_the_file(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(name, "w", encoding="utf-8") as file:
        file.write("Un titre assez long\n\nLa paix revient.\n")
    with pytest.raises(CorpusError, match=r"caf\\xe9\.txt: Document id 'caf\\udce9' holds a lone"):
        list(read_documents(tmp_path, strict=True))


# --- folders: links and permissions -----------------------------------------------------------

PAGE = "Un titre assez long\n\nUn paragraphe qui parle de la paix.\n"


def test_a_symlinked_folder_is_skipped_with_a_warning_naming_it(tmp_path):
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    (corpus / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (corpus / "sub" / "a.txt").write_text(PAGE, "utf-8")
    (elsewhere / "b.txt").write_text(PAGE, "utf-8")
    (corpus / "linked").symlink_to(elsewhere, target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "c.txt").symlink_to(elsewhere / "b.txt")  # a link to a file is read
    with pytest.warns(CorpusWarning) as caught:
        assert [d.id for d in read_documents(corpus)] == ["c", "sub/a"]
    assert [str(w.message) for w in caught] == [
        f"{corpus / 'linked'}: skipped, a symbolic link to a folder "
        "(links to folders are not followed; name it as a source to index it)",
        f"{corpus / 'loop'}: skipped, a symbolic link to a folder "
        "(links to folders are not followed; name it as a source to index it)",
    ]
    # Named as a source, the linked folder is read.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [d.id for d in read_documents(corpus / "linked")] == ["b"]


def test_a_broken_link_is_skipped_with_a_warning_naming_it(tmp_path):
    (tmp_path / "a.txt").write_text(PAGE, "utf-8")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.warns(CorpusWarning, match="gone.txt: skipped, a broken symbolic link"):
        assert [d.id for d in read_documents(tmp_path)] == ["a"]


def test_folder_walk_order_and_ids_are_those_of_sorted_rglob(tmp_path):
    for name in ["b.txt", "a/z.md", "a.txt", "a b/c.txt", "A.txt", "a/b/y.jsonl"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", "utf-8")
    expected = [
        (p, p.relative_to(tmp_path).with_suffix("").as_posix())
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
    ]
    assert list(source_files(tmp_path)) == expected


def unprivileged(function, *args):
    """``function(*args)`` where permissions hold: here, or as root in a child run as nobody.

    Root reads anything, so as root the call runs in a forked child that has dropped
    to uid/gid 65534; its outcome (a value, or an exception's type and message) comes
    back pickled. Modules are imported beforehand: the child may not read them.
    """
    if os.geteuid() != 0:
        try:
            return ("ok", function(*args))
        except Exception as exc:
            return (type(exc).__name__, str(exc))
    if not hasattr(os, "fork"):
        pytest.skip("running as root without fork: permissions cannot be tested")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report, exit without cleanup
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            try:
                outcome = ("ok", function(*args))
            except Exception as exc:
                outcome = (type(exc).__name__, str(exc))
            os.write(write, pickle.dumps(outcome))
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return pickle.loads(data)


@pytest.fixture
def open_tmp():
    """A folder that uid 65534 may enter (pytest's tmp_path, under root's, may not)."""
    folder = tempfile.mkdtemp(prefix="nato-perm-")
    os.chmod(folder, 0o755)
    yield folder
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    import shutil

    shutil.rmtree(folder)


def ids_of(source):
    return [d.id for d in read_documents(source, strict=True)]


def test_an_unreadable_subfolder_is_an_error_naming_it(open_tmp):
    os.makedirs(f"{open_tmp}/locked")
    with open(f"{open_tmp}/a.txt", "w") as file:
        file.write(PAGE)
    with open(f"{open_tmp}/locked/b.txt", "w") as file:
        file.write(PAGE)
    os.chmod(f"{open_tmp}/locked", 0)
    assert unprivileged(ids_of, open_tmp) == (
        "CorpusError",
        f"{open_tmp}/locked: cannot list this folder (Permission denied)",
    )
    os.chmod(f"{open_tmp}/locked", 0o755)
    assert unprivileged(ids_of, open_tmp) == ("ok", ["a", "locked/b"])


def test_an_unreadable_file_is_an_error_naming_it_in_a_folder_or_named(open_tmp):
    with open(f"{open_tmp}/a.txt", "w") as file:
        file.write(PAGE)
    os.chmod(f"{open_tmp}/a.txt", 0)
    expected = ("CorpusError", f"{open_tmp}/a.txt: cannot read it (Permission denied)")
    assert unprivileged(ids_of, open_tmp) == expected
    assert unprivileged(ids_of, f"{open_tmp}/a.txt") == expected


def test_a_source_inside_an_unreadable_folder_is_an_error_naming_it(open_tmp):
    os.makedirs(f"{open_tmp}/locked")
    os.chmod(f"{open_tmp}/locked", 0)
    assert unprivileged(ids_of, f"{open_tmp}/locked/a.txt") == (
        "CorpusError",
        f"{open_tmp}/locked/a.txt: cannot read it (Permission denied)",
    )


@pytest.mark.skipif(sys.platform != "linux", reason="/dev/zero and FIFOs as on Linux")
def test_a_named_source_that_is_no_file_or_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="^/dev/zero: not a regular file or a folder$"):
        list(read_documents("/dev/zero", strict=True))
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(CorpusError, match="pipe.txt: not a regular file or a folder"):
        list(read_documents(tmp_path / "pipe.txt", strict=True))
    # Found while walking a folder, a FIFO is not a file to read: it is passed over.
    (tmp_path / "a.txt").write_text(PAGE, "utf-8")
    assert [d.id for d in read_documents(tmp_path)] == ["a"]


# --- synonyms files ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_synonyms_file_that_is_no_regular_file_is_refused_naming_it():
    with pytest.raises(ValueError, match="^synonyms file /dev/zero: not a regular file$"):
        Synonyms.load(terms_of, ["/dev/zero"])


def test_a_synonyms_file_over_the_limit_is_refused_naming_it(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as file:
        file.write(b"xylophone, marimba\n")
        file.truncate(MAX_SYNONYMS_BYTES + 1)  # sparse: no 10 MB written
    with pytest.raises(ValueError, match=r"synonyms file .*big\.txt: larger than 10 MB"):
        Synonyms.load(terms_of, [big])
    with pytest.raises(ValueError, match=r"big\.txt: larger than 10 MB"):
        nato_search.build_index([doc("a", "La paix.")], tmp_path / "ix", synonyms=[big])
    with open(big, "r+b") as file:
        file.truncate(MAX_SYNONYMS_BYTES)
    synonyms = Synonyms.load(terms_of, [big])  # at the limit: read
    assert [t.text for t in synonyms.alternatives(tuple(terms_of("xylophone")))] == ["marimba"]


def test_a_missing_synonyms_file_is_still_a_value_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read synonyms file .*nope\.txt: No such file"):
        Synonyms.load(terms_of, [tmp_path / "nope.txt"])


# --- the edges of the search API -------------------------------------------------------


def test_facets_none_is_no_facets(ix):
    assert ix.search("patriot", facets=None).facets == {}


@pytest.mark.parametrize(
    "option", ["prefix", "fuzzy", "synonyms", "names", "vectors", "allow_partial"]
)
@pytest.mark.parametrize("value", ["false", "no", 0, 1, None, [], "True"])
def test_switches_take_true_or_false_only(ix, option, value):
    with pytest.raises(ValueError, match=f"{option} must be True or False") as raised:
        ix.search("patriot", **{option: value})
    assert raised.value.option == option


def test_whole_numbers_of_any_integer_type_are_taken(ix):
    import numpy as np

    results = ix.search("patriot", np.int64(5), offset=np.int32(0), per_document=np.uint8(1))
    assert [hit.doc_id for hit in results] == ["a"]
    assert ix.more_like("a", np.int64(0)).query is not None
    for bad in (True, 2.0, np.float64(2), "2"):
        with pytest.raises(ValueError, match="limit must be a positive whole number"):
            ix.search("patriot", bad)


@pytest.mark.parametrize("ids", [b"a", bytearray(b"a"), [b"a"], 7, [7], [None]])
def test_delete_names_what_is_wrong_with_the_ids(ix, ids):
    with pytest.raises(TypeError, match="document ids are"):
        ix.delete(ids)
    with pytest.raises(TypeError, match="document ids are"):
        ix.replace([], delete=ids)
    assert len(ix) == 2


def test_one_id_deletes_one_document_not_its_letters(ix):
    assert ix.delete("a") == 1
    assert ix.replace([], delete="b") == 0
    assert len(ix) == 0
