"""Compare the original ``Whoosh==2.7.4`` with ``Whoosh-Reloaded==2.7.5`` (the fork nato-search uses).

For every interpreter x package: a fresh venv, ``pip install PKG``, then
* strict-warnings run: under ``-W default -W error::SyntaxWarning`` with no cached bytecode, import the whoosh
  modules nato-search needs, build a 3-document French index (``LanguageAnalyzer("fr")``), run a Term and a
  Phrase query, commit one ``writer(procs=2)``: "ok" or "fails: <first error>";
* compile warning sites: distinct file:line warnings of ``python -W always -m compileall -f`` over whoosh/;
* speed (on 3.11 if present, else the first interpreter): seconds to index N deterministic synthetic French
  paragraphs, the two packages interleaved A B A B ...; medians and the Reloaded/original ratio.

Run:  python benchmarks/whoosh_versions.py [--python PATH ...] [--paragraphs 5000] [--repeats 3] [--json out.json]
Default interpreters: python3.11/3.12/3.13 on PATH (or in $PYENV_ROOT/versions when a pyenv shim is inactive)
plus this one, one per version. Stdlib only; needs network access to PyPI (pip); takes a few minutes.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ["Whoosh==2.7.4", "Whoosh-Reloaded==2.7.5"]

CHILD = r'''
import json, random, shutil, sys, tempfile, time, warnings
WORDS = """le la les un une des du de et ou mais donc car ni que qui dont où sur sous dans avec sans pour par entre
vers chez après avant pendant depuis contre selon très plus moins aussi déjà encore toujours jamais souvent défense
armée opération stratégie logistique capacité commandement alliance sécurité rapport annuel coopération formation
exercice mission soutien déploiement forces maritime aérienne terrestre renseignement cyber menace protection
infrastructure budget équipement véhicules chevaux courent rapidement développement européenne nationale
internationale politique économique région frontière surveillance communication satellite données analyse
évaluation risques crise état gouvernement ministère président décision réunion sommet traité accord négociation
délégation représentant secrétaire général comité conseil assemblée membres partenaires pays nations territoire
population citoyens société entreprise industrie production approvisionnement munitions matériel navire frégate
sous-marin avion hélicoptère drone radar missile bouclier réseau systèmes procédure réglementation législation
élaboration œuvre réforme priorité objectif résultat enjeu défi sûreté stabilité paix conflit guerre reconstruction
humanitaire réfugiés santé énergie électricité pétrole gaz climat environnement été hiver printemps automne année
décennie siècle histoire mémoire événement cérémonie lieutenant capitaine soldat officier état-major caserne base
aéroport port côte mer océan montagne forêt ville village capitale élevée rapide lente sûre prête fiable efficace
coûteuse française allemand italien espagnol britannique américain canadien polonais grec""".split()

def smoke():
    from whoosh import analysis, fields, index, qparser, query, highlight, searching, writing
    import whoosh.lang.snowball.french
    an = analysis.LanguageAnalyzer("fr")
    stem = lambda w: next(iter(an(w))).text
    d = tempfile.mkdtemp()
    try:
        ix = index.create_in(d, fields.Schema(id=fields.ID(stored=True), body=fields.TEXT(analyzer=an, stored=True)))
        w = ix.writer()
        for i, t in enumerate(["Les chevaux courent dans la prairie verte.", "Le cheval mange de l'herbe fraîche.",
                               "Une voiture rouge roule sur la route nationale."], 1):
            w.add_document(id=str(i), body=t)
        w.commit()
        with ix.searcher() as s:
            term = sorted(h["id"] for h in s.search(query.Term("body", stem("chevaux"))))
            phrase = sorted(h["id"] for h in s.search(query.Phrase("body", [stem("prairie"), stem("verte")])))
        w = ix.writer(procs=2)
        for i in range(4, 10):
            w.add_document(id=str(i), body="Document numéro %d sur les chevaux et les routes." % i)
        w.commit()
        with ix.searcher() as s:
            docs = s.doc_count()
        ix.close()
        assert (term, phrase, docs) == (["1", "2"], ["1"], 9), (term, phrase, docs)
    finally:
        shutil.rmtree(d)

def bench(n):
    warnings.simplefilter("ignore")
    from whoosh import analysis, fields, index
    rnd = random.Random(0)
    paras = [" ".join(" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 20))).capitalize() + "."
                      for _ in range(rnd.randint(3, 6))) for _ in range(n)]
    d = tempfile.mkdtemp()
    try:
        ix = index.create_in(d, fields.Schema(id=fields.ID(stored=True),
                                              body=fields.TEXT(analyzer=analysis.LanguageAnalyzer("fr"))))
        t0 = time.perf_counter()
        w = ix.writer(limitmb=128)
        for i, p in enumerate(paras):
            w.add_document(id=str(i), body=p)
        w.commit()
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(d)

if __name__ == "__main__":
    if sys.argv[1] == "bench":
        print(json.dumps({"seconds": bench(int(sys.argv[2]))}))
    else:
        try:
            smoke()
            print(json.dumps({"ok": True, "error": None}))
        except BaseException as e:
            print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
'''


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def probe(python: str) -> tuple[str, str] | None:
    """(version, executable) of an interpreter, or None if it does not run (e.g. an inactive pyenv shim)."""
    try:
        p = run(
            [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3], sys.executable)"],
            timeout=60,
        )
    except OSError:
        return None
    return tuple(p.stdout.split(maxsplit=1)) if p.returncode == 0 else None  # type: ignore[return-value]


def interpreters(explicit: list[str]) -> list[tuple[str, str]]:
    cands = list(explicit)
    if not cands:
        pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        for v in ("3.11", "3.12", "3.13"):
            cands += [p for p in [shutil.which(f"python{v}")] if p]
            cands += sorted(glob.glob(f"{pyenv}/versions/{v}.*/bin/python{v}"))
        cands.append(sys.executable)
    found: dict[str, str] = {}
    for c in cands:
        info = probe(c)
        if info is None:
            print(f"skipping {c}: does not run", file=sys.stderr)
        else:
            found.setdefault(info[0], info[1].strip())
    return sorted(found.items(), key=lambda kv: tuple(int(x) for x in kv[0].split(".")))


def measure(version: str, python: str, pkg: str, work: Path, child: Path) -> dict:
    row: dict = {
        "python": version,
        "package": pkg,
        "installed": None,
        "strict": "install failed",
        "compile_warning_sites": None,
        "index_seconds": None,
        "venv": None,
    }
    venv = work / f"venv-{version}-{pkg.split('==')[0]}"
    if run([python, "-m", "venv", "--clear", str(venv)]).returncode != 0:
        row["strict"] = "venv failed"
        return row
    vpy = str(venv / "bin" / "python")
    if (
        run([vpy, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", pkg]).returncode
        != 0
    ):
        return row
    info = run(
        [
            vpy,
            "-c",
            "import sysconfig, importlib.metadata as m, sys; "
            "print(sysconfig.get_paths()['purelib']); print(m.version(sys.argv[1]))",
            pkg.split("==")[0],
        ]
    )
    purelib, row["installed"] = info.stdout.splitlines()[:2]
    whoosh_dir = Path(purelib) / "whoosh"
    for cache in list(
        whoosh_dir.rglob("__pycache__")
    ):  # pip precompiled: force recompilation (and its warnings)
        shutil.rmtree(cache)
    p = run(
        [vpy, "-W", "default", "-W", "error::SyntaxWarning", str(child), "smoke"],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=work,
        timeout=600,
    )
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    res = (
        lines[-1]
        if lines
        else {"ok": False, "error": (p.stderr.strip().splitlines() or ["no output"])[-1]}
    )
    row["strict"] = "ok" if res["ok"] else "fails: " + res["error"].splitlines()[0]
    c = run([vpy, "-W", "always", "-m", "compileall", "-f", "-q", str(whoosh_dir)])
    row["compile_warning_sites"] = len(
        {
            m.group(1)
            for ln in c.stderr.splitlines()
            if "Warning" in ln
            for m in [re.match(r"(.+?:\d+): ", ln)]
            if m
        }
    )
    row["venv"] = vpy
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--python", action="append", default=[], help="interpreter to test (repeatable)"
    )
    ap.add_argument(
        "--workdir", help="where venvs go (default: a temp dir, removed at the end unless --keep)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp workdir")
    ap.add_argument(
        "--paragraphs", type=int, default=5000, help="paragraphs to index in the speed test"
    )
    ap.add_argument("--repeats", type=int, default=3, help="speed runs per package")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    start = time.perf_counter()
    pythons = interpreters(args.python)
    if not pythons:
        sys.exit("no usable interpreter")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="whoosh-versions-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    child = work / "whoosh_child.py"
    child.write_text(CHILD, encoding="utf-8")
    try:
        rows = []
        for version, python in pythons:
            for pkg in PACKAGES:
                print(f"... Python {version} {pkg}", file=sys.stderr, flush=True)
                rows.append(measure(version, python, pkg, work, child))
        speed_version = next((v for v, _ in pythons if v.startswith("3.11.")), pythons[0][0])
        pair = [r for r in rows if r["python"] == speed_version and r["venv"]]
        times: dict[str, list[float]] = {r["package"]: [] for r in pair}
        for i in range(args.repeats if len(pair) == 2 else 0):
            for r in pair:  # interleaved: A B A B ...
                print(
                    f"... speed run {i + 1}/{args.repeats} {r['package']}",
                    file=sys.stderr,
                    flush=True,
                )
                p = run([r["venv"], str(child), "bench", str(args.paragraphs)], cwd=work)
                if p.returncode:
                    sys.exit(f"speed run failed:\n{p.stderr}")
                times[r["package"]].append(json.loads(p.stdout.splitlines()[-1])["seconds"])
        for r in pair:
            if times[r["package"]]:
                r["index_seconds"] = round(statistics.median(times[r["package"]]), 3)
                r["index_runs"] = [round(t, 3) for t in times[r["package"]]]
        ratio = (
            pair[1]["index_seconds"] / pair[0]["index_seconds"]
            if len(pair) == 2 and pair[0]["index_seconds"]
            else None
        )
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    head = [
        "python",
        "package",
        "installed",
        "strict-warnings run",
        "compile warning sites",
        f"index s (median of {args.repeats}, {args.paragraphs} paragraphs)",
    ]

    def dash(v: object, fmt: str = "{}") -> str:
        return "-" if v is None else fmt.format(v)

    table = [
        [
            r["python"],
            r["package"],
            dash(r["installed"]),
            r["strict"],
            dash(r["compile_warning_sites"]),
            dash(r["index_seconds"], "{:.2f}"),
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *table, strict=True)]
    for line in [head, ["-" * w for w in widths], *table]:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    if ratio is not None:
        print(
            f"\nindexing speed on Python {speed_version}: Reloaded/original median ratio = {ratio:.2f} "
            f"(>1 means Reloaded slower; runs interleaved, {args.repeats} each)"
        )
    print(f"total time {time.perf_counter() - start:.0f}s", file=sys.stderr)
    if args.json:
        for r in rows:
            r.pop("venv", None)
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": rows,
                    "speed_python": speed_version,
                    "ratio": ratio,
                    "paragraphs": args.paragraphs,
                    "repeats": args.repeats,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
