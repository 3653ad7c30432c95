"""A second process for the reliability tests: holds a writer, adds or builds, on command.

    python tests/_reliability_writer.py hold PATH SECONDS   # "locked" once it holds the writer
    python tests/_reliability_writer.py add PATH COUNT      # "adding", then "done" after one ix.add
    python tests/_reliability_writer.py build SOURCE PATH   # "building", then "done" (or "error: …")
    python tests/_reliability_writer.py build-midway SOURCE PATH
        # builds, saying "half" once half the documents went in
    python tests/_reliability_writer.py build-failing-source PATH
        # builds from 150 Documents, then the source raises: "error: …"
    python tests/_reliability_writer.py build-slow-source PATH
        # builds from 150 Documents, then says "waiting" and waits a minute for more
    python tests/_reliability_writer.py build-die-in-swap MODE SOURCE PATH
        # builds, then SIGKILLs itself in the swap (MODE: exchange or two-renames)
    python tests/_reliability_writer.py update SOURCE PATH   # "updating", then "done"
    python tests/_reliability_writer.py update-die MODE SOURCE PATH
        # updates, SIGKILLing itself just before its commit or just after (MODE: before, after)
    python tests/_reliability_writer.py rebuild-loop SOURCE PATH SECONDS
    python tests/_reliability_writer.py add-loop PATH SECONDS
        # rebuild (or add a document) again and again; "done N" after SECONDS

It imports the checkout (not an installed copy), like the tests do. Builds run on
``$NATO_TEST_WORKERS`` worker processes when that is set (else build_index's default).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nato_search  # noqa: E402
from nato_search import Document  # noqa: E402
from nato_search.readers.corpus import read_documents  # noqa: E402

WORDS = (
    "défense aérienne batterie missile brigade alliance sommet ministre drone "
    "frontière régiment logistique entraînement coopération soutien exercice navire "
    "sécurité dissuasion stratégie commandement observateur territoire partenaire "
    "engagement capacité livraison artillerie blindé satellite réserve garnison"
).split()

NEW_WORD = "xylophonique"
"""In every generated paragraph, and in nothing the tests index beforehand."""


def paragraphs(count: int, seed: int = 7) -> list[str]:
    """``count`` French-ish paragraphs, each with ``NEW_WORD`` and a few unique words."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        words = [rng.choice(WORDS) for _ in range(40)]
        words[rng.randrange(40)] = NEW_WORD
        words += [f"terme{n}q", f"code{n * 7919 % 100003}z"]
        out.append(" ".join(words).capitalize() + ".")
    return out


def documents(count: int, per_document: int = 100, prefix: str = "gen") -> list[Document]:
    texts = paragraphs(count)
    return [
        Document(
            id=f"{prefix}{i:04d}",
            title=f"Rapport {i}",
            paragraphs=texts[start : start + per_document],
        )
        for i, start in enumerate(range(0, count, per_document))
    ]


BUILD = {
    "strict": True,  # a bad file fails the build: what the crash tests need
    **(
        {"workers": int(os.environ["NATO_TEST_WORKERS"])}
        if "NATO_TEST_WORKERS" in os.environ
        else {}
    ),
}


def say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "hold":
        path, seconds = args[0], float(args[1])
        from whoosh import index as windex

        writer = windex.open_dir(path).writer()  # stock Whoosh's writer: the same lock as ours
        say("locked")
        time.sleep(seconds)
        writer.cancel()
        say("released")
        return 0
    if command == "add":
        path, count = args[0], int(args[1])
        with nato_search.open_index(path) as ix:
            docs = documents(count)
            say("adding")
            ix.add(docs, timeout=30)
        say("done")
        return 0
    if command == "build":
        source, path = args
        say("building")
        try:
            nato_search.build_index(source, path, **BUILD).close()
        except nato_search.CorpusError as exc:
            say(f"error: {exc}")
            return 0
        say("done")
        return 0
    if command == "build-midway":
        source, path = args
        every = list(read_documents(source))

        def announced():
            for n, document in enumerate(every):
                if n == len(every) // 2:
                    say("half")  # the test kills us from here on, half the build to go
                yield document

        nato_search.build_index(announced(), path, **BUILD).close()
        say("done")
        return 0
    if command == "build-failing-source":
        (path,) = args

        def failing():
            yield from documents(150, per_document=1)
            time.sleep(0.5)  # the index's worker processes, if any, are idle by now
            raise RuntimeError("the source broke")

        say("building")
        try:
            nato_search.build_index(failing(), path, **BUILD).close()
        except RuntimeError as exc:
            say(f"error: {exc}")
            return 0
        say("done")
        return 0
    if command == "build-slow-source":
        (path,) = args

        def slow():
            yield from documents(150, per_document=1)
            say("waiting")
            time.sleep(60)  # a slow source; the test kills us here
            yield Document(id="late", title="Tard", paragraphs=["Arrivé trop tard."])

        nato_search.build_index(slow(), path, **BUILD).close()
        say("done")
        return 0
    if command == "build-die-in-swap":
        # A crash at the instants of build_index's swap that random kills rarely hit:
        # "exchange", right after the one-step swap (the old index not yet removed);
        # "two-renames", where the system cannot exchange folders, between the two renames.
        import os
        import signal

        from nato_search import folders

        mode, source, path = args
        if mode == "exchange":
            real_exchange = folders._exchange

            def exchange_then_die(a, b):
                assert real_exchange(a, b)
                os.kill(os.getpid(), signal.SIGKILL)

            folders._exchange = exchange_then_die
        else:
            real_replace = os.replace
            folders._renameat2 = None

            def replace_then_die(src, dst):
                real_replace(src, dst)
                if str(dst).endswith(".old"):
                    os.kill(os.getpid(), signal.SIGKILL)

            folders.os.replace = replace_then_die
        say("building")
        nato_search.build_index(source, path, **BUILD).close()
        say("done")
        return 0
    if command == "update":
        source, path = args
        say("updating")
        nato_search.update_index(source, path)
        say("done")
        return 0
    if command == "update-die":
        # The instants around update_index's commit: its manifest written ahead of it
        # ("before"), or the commit done and the final manifest not yet written ("after").
        import os
        import signal

        mode, source, path = args
        real_replace = nato_search.Index.replace

        def replace_and_die(self, *args, **kwargs):
            if mode == "after":
                real_replace(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        nato_search.Index.replace = replace_and_die
        say("updating")
        nato_search.update_index(source, path)
        say("done")
        return 0
    if command in ("rebuild-loop", "add-loop"):
        *target, seconds = args
        deadline = time.monotonic() + float(seconds)
        say("started")
        rounds = 0
        while time.monotonic() < deadline:
            if command == "rebuild-loop":
                nato_search.build_index(target[0], target[1], **BUILD).close()
            else:
                with nato_search.open_index(target[0]) as ix:
                    text = f"Le lot {rounds} du processus voisin."
                    ix.add([Document(id=f"loop{rounds}", title="Lot", paragraphs=[text])])
            rounds += 1
        say(f"done {rounds}")
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
