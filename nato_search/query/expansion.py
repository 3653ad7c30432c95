"""Forgiving queries: synonyms, typo tolerance, name variants and the did-you-mean suggestion.

Expansion rewrites a parsed query into a richer engine-neutral one: each word
becomes :class:`Variants` of itself and its looser forms, weighted below the
exact form. It asks the index only through :class:`Lexicon`, so it does not
know which engine runs.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Protocol

from nato_search.query.syntax import AllOf, Clause, Query, Terms, Variants
from nato_search.settings import RankingSettings

MAX_SYNONYMS_BYTES = 10 * 1024 * 1024
"""Largest synonyms file read: the packaged list is 8 kB, and a file is read whole."""

Analyze = Callable[[str], list[str]]


class Lexicon(Protocol):
    """What expansion needs to know about an index's words."""

    def known(self, term: str) -> bool: ...

    def frequency(self, term: str, field: str = "words") -> int:
        """Paragraphs holding ``term`` in ``field`` (``words``: the text; ``names``: name keys)."""
        ...

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        """Indexed terms within ``max_edits`` of ``term`` as ``(term, edits, frequency)``."""
        ...

    def surface(self, term: str) -> str | None:
        """A word as written in the documents that analyzes to ``term``."""
        ...

    def similar_written(self, typed: str, max_edits: int) -> list[tuple[str, int, int, str]]:
        """Terms of the words as written within ``max_edits`` of the one word ``typed`` as
        ``(term, edits, frequency, written)``: empty where the index keeps no such words."""
        ...


def max_edits(word: str) -> int:
    """Edits allowed when correcting ``word``: none under 5 letters, 1 from 5, 2 from 9."""
    letters = sum(c.isalpha() for c in word)
    return 0 if letters < 5 else 1 if letters < 9 else 2


# --- synonyms ------------------------------------------------------------


class Synonyms:
    """Groups of interchangeable words and phrases (``OTAN, NATO, Alliance atlantique``).

    One group a line, entries separated by commas, ``#`` starts a comment.
    Entries are analyzed like queries, so case, accents and plurals don't matter.
    """

    def __init__(self, groups: Iterable[Sequence[str]], analyze: Analyze):
        self._entries: dict[tuple[str, ...], list[Terms]] = {}
        for group in groups:
            entries = [Terms(text, tuple(analyze(text))) for text in group]
            entries = [e for e in entries if e.terms]
            for entry in entries:
                others = [e for e in entries if e.terms != entry.terms]
                self._entries.setdefault(entry.terms, []).extend(others)
        self.longest = max((len(t) for t in self._entries), default=0)

    @classmethod
    def load(cls, analyze: Analyze, paths: Iterable[str | os.PathLike[str]] = ()) -> Synonyms:
        """The packaged list (``data/synonyms-fr.txt``), then the user's own files."""
        texts = [resources.files("nato_search").joinpath("data/synonyms-fr.txt").read_text("utf-8")]
        for path in paths:
            texts.append(_read_synonyms_file(path))
        groups = []
        for text in texts:
            for line in text.splitlines():
                entries = [e.strip() for e in line.split("#", 1)[0].split(",")]
                if len([e for e in entries if e]) > 1:
                    groups.append([e for e in entries if e])
        return cls(groups, analyze)

    def alternatives(self, terms: tuple[str, ...]) -> list[Terms]:
        return self._entries.get(terms, [])


def _read_synonyms_file(path: str | os.PathLike[str]) -> str:
    """A user's synonyms file; only a regular file up to MAX_SYNONYMS_BYTES, since it is read
    whole (``/dev/zero`` or a pipe would grow the process until the kernel kills it)."""
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"synonyms file {path}: not a regular file")
            data = file.read(MAX_SYNONYMS_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read synonyms file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SYNONYMS_BYTES:
        raise ValueError(
            f"synonyms file {path}: larger than {MAX_SYNONYMS_BYTES // (1024 * 1024)} MB "
            "(MAX_SYNONYMS_BYTES); a synonym list is far smaller"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read synonyms file {path}: {exc}") from None


# --- expansion -------------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    """Which expansions run; all on by default, all off for exact matching."""

    fuzzy: bool = True
    synonyms: bool = True
    names: bool = True


class Expander:
    def __init__(
        self,
        lexicon: Lexicon,
        synonyms: Synonyms | None,
        name_keys: Analyze,
        options: Expansion,
        settings: RankingSettings,
    ):
        self.settings = settings
        self.lexicon = lexicon
        self.synonyms = synonyms if options.synonyms else None
        self.name_keys = name_keys
        self.options = options
        self.corrections: dict[str, str] = {}
        self._lookups_left = settings.max_fuzzy_words

    def expand(self, query: Query) -> Query:
        return replace(
            query,
            include=self.sequence(query.include),
            exclude=[self.with_synonyms(c) for c in query.exclude],
        )

    def sequence(self, clauses: list[Clause]) -> list[Clause]:
        """Expands each clause; runs of single words matching a multi-word synonym are grouped."""
        out: list[Clause] = []
        i = 0
        while i < len(clauses):
            words = self._synonym_run(clauses, i)
            if words and self.synonyms:
                alternatives = self.synonyms.alternatives(tuple(w.terms[0] for w in words))
                out.append(Variants((AllOf(tuple(self.clause(w) for w in words)), *alternatives)))
                i += len(words)
            else:
                out.append(self.clause(clauses[i]))
                i += 1
        return out

    def _synonym_run(self, clauses: list[Clause], start: int) -> list[Terms]:
        """The longest run of single words from ``start`` that is a multi-word synonym."""
        if not self.synonyms:
            return []
        for n in range(min(self.synonyms.longest, len(clauses) - start), 1, -1):
            words = [c for c in clauses[start : start + n] if isinstance(c, Terms)]
            if len(words) == n and all(len(w.terms) == 1 and not w.scope for w in words):
                if self.synonyms.alternatives(tuple(w.terms[0] for w in words)):
                    return words
        return []

    def clause(self, clause: Clause) -> Clause:
        if isinstance(clause, Terms):
            return self.word(clause)
        if isinstance(clause, AllOf):
            return AllOf(
                tuple(self.sequence(list(clause.clauses))),
                tuple(self.with_synonyms(c) for c in clause.exclude),
            )
        return type(clause)(tuple(self.clause(c) for c in clause.clauses))

    def with_synonyms(self, clause: Clause) -> Clause:
        """An excluded clause: synonyms are excluded too, but no correction (it would widen what is removed)."""
        if isinstance(clause, Terms):
            found = self.synonyms.alternatives(clause.terms) if self.synonyms else []
            alternatives = [_scoped(a, clause.scope) for a in found]
            return Variants((clause, *alternatives)) if alternatives else clause
        if isinstance(clause, AllOf):
            return AllOf(
                tuple(self.with_synonyms(c) for c in clause.clauses),
                tuple(self.with_synonyms(c) for c in clause.exclude),
            )
        return type(clause)(tuple(self.with_synonyms(c) for c in clause.clauses))

    def word(self, clause: Terms) -> Clause:
        forms: list[Clause] = [clause]
        if self.synonyms:
            forms += self.synonyms.alternatives(clause.terms)
        if len(clause.terms) == 1:
            forms += self._corrections(clause)
            if self.options.names and clause.scope != "title":  # names: of the paragraph
                forms += self._name_variant(clause)
        forms = [_scoped(form, clause.scope) for form in forms]
        return Variants(tuple(forms)) if len(forms) > 1 else clause

    def _name_variant(self, clause: Terms) -> list[Terms]:
        """The word's name key, if some paragraph writes that name another way.

        Every paragraph with the exact word also holds its key (names are
        capitalized), so more paragraphs with the key than with the word means
        other spellings exist; otherwise the key adds nothing and is not searched.
        """
        keys = self.name_keys(clause.text)
        if len(keys) != 1:
            return []
        if self.lexicon.frequency(keys[0], "names") <= self.lexicon.frequency(clause.terms[0]):
            return []
        return [Terms(clause.text, (keys[0],), field="names", weight=self.settings.name_weight)]

    def _corrections(self, clause: Terms) -> list[Terms]:
        """Indexed words near an unknown one (also for the suggestion, even when not fuzzy).

        Bounded: words over ``settings.max_fuzzy_letters`` letters, and unknown words past
        the first ``settings.max_fuzzy_words`` of a query, are not looked up.
        """
        term = clause.terms[0]
        edits = max_edits(clause.text)
        if not edits or len(term) > self.settings.max_fuzzy_letters or self.lexicon.known(term):
            return []
        if (
            sum(c.isalpha() for c in clause.text) > self.settings.max_fuzzy_letters
            or not self._lookups_left
        ):
            return []
        self._lookups_left -= 1
        candidates = sorted(self.lexicon.similar(term, edits), key=lambda c: (c[1], -c[2], c[0]))
        surface: str | None = None
        if not candidates:
            # A stemmer that cuts deep (snowball: munitions -> munit) leaves a typo's stem
            # far from the right one (muniton): the words as written are still one edit apart.
            written = sorted(
                self.lexicon.similar_written(clause.text, edits),
                key=lambda c: (c[1], -c[2], c[0], c[3]),
            )
            best: dict[str, tuple[str, int, int]] = {}
            for t, e, f, _ in written:
                best.setdefault(t, (t, e, f))  # in order: each term at its closest form
            candidates = list(best.values())
            surface = written[0][3] if written else None
        if not candidates:
            return []
        surface = surface or self.lexicon.surface(candidates[0][0])
        if surface:
            self.corrections[clause.text] = (
                surface if clause.text[:1].isupper() else surface.lower()
            )
        if not self.options.fuzzy:
            return []
        return [
            Terms(clause.text, (candidate,), weight=self.settings.fuzzy_weight)
            for candidate, _, _ in candidates[: self.settings.max_corrections]
        ]

    def suggestion(self, text: str) -> str | None:
        """The query as typed, with each unknown word replaced by its best correction."""
        if not self.corrections:
            return None
        # One pass over the query, however long, the longest typed word tried first.
        typed = sorted(self.corrections, key=len, reverse=True)
        pattern = rf"(?<!\w)(?:{'|'.join(map(re.escape, typed))})(?!\w)"
        return re.sub(pattern, lambda m: self.corrections[m.group()], text)


def _scoped(clause: Clause, scope: str) -> Clause:
    """A word's alternative (a synonym, a correction) scoped as the word is."""
    if not scope:
        return clause
    if isinstance(clause, Terms):
        return replace(clause, scope=scope) if clause.field == "words" else clause
    if isinstance(clause, AllOf):
        return AllOf(tuple(_scoped(c, scope) for c in clause.clauses), clause.exclude)
    return type(clause)(tuple(_scoped(c, scope) for c in clause.clauses))
