"""Mutation testing: how many deliberately planted bugs in a module its own tests notice.

    .venv/bin/python tools/mutation.py                      # every module in tools/mutation.toml
    .venv/bin/python tools/mutation.py llmfleet/components/spec.py   # one module
    .venv/bin/python tools/mutation.py --survivors ...      # also list what survived
    .venv/bin/python tools/mutation.py --recheck ...        # rerun only the last survivors

For each module listed in ``tools/mutation.toml`` this copies the checkout (tracked and
untracked, unignored files as they are on disk) to a temporary directory and runs cosmic-ray
there with one worker: each mutant is written into the copy and tested, so the working tree is
never mutated. Only the module's own test files run (the mapping in tools/mutation.toml), and
of those only the tests that execute a mutated line: one coverage run with a context per test
maps every line of the module to the tests that reach it. A mutant on a line no test reaches
survives without a run. Sessions are kept in ``.mutation/`` for ``cr-report`` / ``cr-html``.

A surviving mutant is either a missing test or an *equivalent* mutant, one that cannot change
behaviour. Equivalent mutants are left out of the score:
- listed in ``tools/mutation-equivalents.toml``, each with its reason;
- or, in a module with ``from __future__ import annotations``, mutants inside annotations that
  Python never evaluates (function signatures, local variables, dataclass fields); these are
  not even run. Pydantic model fields are evaluated, so their annotations are always tested.

The score is killed / (mutants - equivalent). Not part of CI: a module takes minutes.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "tools" / "mutation.toml"
EQUIVALENTS = REPO / "tools" / "mutation-equivalents.toml"
SESSIONS = REPO / ".mutation"
SOCKET = ".mutation.sock"
"""In the copy: where the fork server listens (see ``serve``)."""
MAP = ".mutation-map.json"
"""In the copy: the unmutated module source, its tests in order, and which reach each line."""

Span = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Mutant:
    """One mutant of a module and what became of it."""

    operator: str
    """cosmic-ray operator, e.g. ``core/ReplaceComparisonOperator_Gt_GtE``."""
    start: tuple[int, int]
    """(line, column) where the mutation starts in the unmutated module."""
    line: str
    """The original source line(s) the mutation changes, stripped."""
    mutant: str
    """The same line(s) as mutated, stripped."""
    outcome: str
    """``killed``, ``survived`` or ``annotation`` (never run: an unevaluated annotation)."""

    def describe(self) -> str:
        return f"  {self.start[0]}: {self.line}\n    -> {self.mutant}   [{self.operator}]"


@dataclass
class Score:
    """Per-module totals."""

    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0

    @property
    def score(self) -> float | None:
        judged = self.mutants - self.equivalent
        return self.killed / judged if judged else None


def load_config() -> dict:
    with CONFIG.open("rb") as handle:
        return tomllib.load(handle)


def load_equivalents() -> dict[str, dict[tuple[str, str], str]]:
    """module -> (line, mutant) -> reason, from tools/mutation-equivalents.toml."""
    with EQUIVALENTS.open("rb") as handle:
        entries = tomllib.load(handle).get("equivalent", [])
    listed: dict[str, dict[tuple[str, str], str]] = {}
    for entry in entries:
        if not entry.get("reason"):
            sys.exit(f"{EQUIVALENTS.name}: every equivalent mutant needs a reason: {entry}")
        key = (entry["line"].strip(), entry["mutant"].strip())
        listed.setdefault(entry["module"], {})[key] = entry["reason"]
    return listed


def copy_checkout(target: Path) -> None:
    """Copy the files git knows or would add (as they are on disk) into ``target``."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            destination = target / os.fsdecode(name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


# --- equivalent by construction: annotations Python never evaluates -------------------------


def unevaluated_annotations(source: str) -> list[Span]:
    """(start, end) positions of the annotations Python never evaluates in this module.

    Under ``from __future__ import annotations`` an annotation is only a string. Signatures and
    local variables are never resolved; dataclasses only look for ClassVar / InitVar by name.
    Class-level annotations of any other class (pydantic models) are resolved, so not listed.
    """
    tree = ast.parse(source)
    future = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    if not future:
        return []
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *filter(None, (arguments.vararg, arguments.kwarg)),
            ]
            found.extend(a.annotation for a in every if a.annotation is not None)
            if node.returns is not None:
                found.append(node.returns)
            found.extend(
                n.annotation
                for statement in node.body
                for n in ast.walk(statement)
                if isinstance(n, ast.AnnAssign)
            )
        elif isinstance(node, ast.ClassDef) and _is_dataclass(node):
            found.extend(s.annotation for s in node.body if isinstance(s, ast.AnnAssign))
    return [
        ((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in found
    ]


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


# --- inside the copy: the coverage map and the per-mutant test command ----------------------


def _pytest_args(module: str) -> list[str]:
    config = load_config()
    return [*config["settings"]["pytest-args"], *config["modules"][module]]


def build_map(module: str) -> int:
    """Run the module's tests once under coverage, one context per test; write MAP."""
    import coverage
    import pytest

    path = Path(module).resolve()
    cov = coverage.Coverage(data_file=None, include=[str(path)], branch=False)
    order: list[str] = []

    class PerTest:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(self, item, nextitem):
            order.append(item.nodeid)
            cov.switch_context(item.nodeid)

    cov.start()
    status = pytest.main(_pytest_args(module), plugins=[PerTest()])
    cov.stop()
    imported = sys.modules.get(module.removesuffix(".py").replace("/", "."))
    if imported is None or Path(imported.__file__ or "").resolve() != path:
        sys.exit(f"{module}: the tests did not import it from {path}")
    lines = cov.get_data().contexts_by_lineno(str(path))
    Path(MAP).write_text(
        json.dumps(
            {
                "source": path.read_text(),
                "tests": order,
                "lines": {str(n): sorted(contexts) for n, contexts in lines.items()},
            }
        )
    )
    return int(status)


def _statement_lines(source: str) -> dict[int, int]:
    """Each line of ``source`` -> first line of the innermost statement holding it."""
    first: dict[int, int] = {}
    spans = sorted(
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt)
    )
    for start, end in spans:  # later (inner) statements overwrite outer ones
        for line in range(start, end + 1):
            first[line] = start
    return first


def select_and_run(module: str) -> int:
    """Run the tests that reach the lines the current mutant changed; pytest's exit status."""
    recorded = json.loads(Path(MAP).read_text())
    original = recorded["source"].splitlines()
    mutated = Path(module).read_text().splitlines()
    changed = {
        line  # 1-based lines of the original; an insertion counts as the line after it
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=original, b=mutated).get_opcodes()
        if tag != "equal"
        for line in range(i1 + 1, max(i1 + 1, i2) + 1)
    }
    statements = _statement_lines(recorded["source"])
    reached: set[str] = set()
    for line in changed:
        # Coverage records a multi-line statement on the lines whose bytecode ran, which need
        # not be its first (`if (` of a condition spread over lines has none): take every line
        # of the innermost statement holding the change (not the lines of nested statements).
        start = statements.get(line, line)
        for covered in [line, *(n for n, first in statements.items() if first == start)]:
            reached.update(recorded["lines"].get(str(covered), []))
    if "" in reached:  # a line run at import time: every test depends on it
        selected = recorded["tests"]
    else:
        selected = [test for test in recorded["tests"] if test in reached]
    if not selected:
        return 0  # no test reaches the change: the mutant survives
    import pytest

    return int(pytest.main([*load_config()["settings"]["pytest-args"], *selected]))


def serve(module: str) -> int:
    """Fork server: import the heavy test dependencies once, then fork a child per mutant.

    Starting pytest, Hypothesis and the SDKs costs seconds per run; the module under test and
    the tests are imported fresh in every child, so each child sees the current mutant.
    """
    import importlib
    import signal
    import socket

    sys.dont_write_bytecode = True  # a mutant must never be served from a stale .pyc
    settings = load_config()["settings"]
    for name in settings.get("preload", []):
        importlib.import_module(name)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET)
    server.listen(1)
    while True:
        connection, _ = server.accept()
        with connection:
            if connection.recv(1) != b"r":
                return 0
            child = os.fork()
            if child == 0:
                server.close()
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                os.dup2(1, 2)
                status = 3
                try:
                    status = select_and_run(module)
                finally:
                    os._exit(status)
            deadline = time.monotonic() + float(settings["timeout"])
            while (done := os.waitpid(child, os.WNOHANG))[0] == 0:
                if time.monotonic() > deadline:
                    os.kill(child, signal.SIGKILL)
                    done = os.waitpid(child, 0)
                    break
                time.sleep(0.02)
            code = os.waitstatus_to_exitcode(done[1])
            connection.sendall(str(code if code >= 0 else 1).encode())


def run_mutant(module: str) -> int:
    """cosmic-ray's test command: ask the fork server to test the current mutant."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(SOCKET)
        client.sendall(b"r")
        return int(client.recv(16) or b"1")


# --- the driver ----------------------------------------------------------------------------


def changed_text(diff: str) -> tuple[str, str]:
    """The removed and the added lines of a unified diff, each stripped and joined by ' / '."""
    lines = diff.splitlines()
    removed = [line[1:].strip() for line in lines if line[:1] == "-" and line[:3] != "---"]
    added = [line[1:].strip() for line in lines if line[:1] == "+" and line[:3] != "+++"]
    return " / ".join(removed), " / ".join(added)


def _cosmic_ray(step: str, config: Path, session: Path, workdir: Path) -> None:
    command = [sys.executable, "-m", "cosmic_ray.cli", step, str(config), str(session)]
    subprocess.run(command, cwd=workdir, check=True)


def _skip_annotation_mutants(session: Path, spans: list[Span]) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.work_items):
            (spec,) = item.mutations
            if any(begin <= tuple(spec.start_pos) < end for begin, end in spans):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def _keep_sample(session: Path, size: int) -> int:
    """Keep ``size`` of the session's mutants not yet run and drop the others; how many there were.

    Job ids are random (uuid4), so the first ``size`` of them in id order are a uniform random
    sample: the score of a sample estimates the module's without running every mutant.
    """
    with sqlite3.connect(session) as db:
        pending = [
            job
            for (job,) in db.execute(
                "SELECT job_id FROM work_items"
                " WHERE job_id NOT IN (SELECT job_id FROM work_results) ORDER BY job_id"
            )
        ]
        dropped = [(job,) for job in pending[size:]]
        db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", dropped)
        db.executemany("DELETE FROM work_items WHERE job_id = ?", dropped)
    return len(pending)


def _forget_survivors(session: Path, listed: dict[tuple[str, str], str]) -> None:
    """Forget the survivors so they run again, except those listed as equivalent."""
    with sqlite3.connect(session) as db:
        survivors = db.execute(
            "SELECT job_id, diff FROM work_results WHERE test_outcome = 'SURVIVED'"
        ).fetchall()
        again = [(job,) for job, diff in survivors if changed_text(diff or "") not in listed]
        db.executemany("DELETE FROM work_results WHERE job_id = ?", again)


def run_module(
    module: str,
    settings: dict,
    workdir: Path,
    recheck: bool,
    sample: int | None = None,
    listed: dict[tuple[str, str], str] | None = None,
) -> list[Mutant]:
    """Mutate ``module`` in the copy at ``workdir``; return every mutant and its outcome.

    ``sample``: a fresh session keeps that many of its mutants (annotations aside), at random.
    """
    here = [sys.executable, str(workdir / "tools" / "mutation.py")]
    mapped = subprocess.run(
        [*here, "--map", module], cwd=workdir, capture_output=True, text=True, check=False
    )
    if mapped.returncode != 0:
        sys.exit(f"{module}: the tests fail before any mutation:\n{mapped.stdout[-3000:]}")

    config = workdir / "cosmic-ray.toml"
    test_command = " ".join([*here, "--test", module])
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {module!r}\n"
        f"timeout = {float(settings['timeout'])}\n"
        "excluded-modules = []\n"
        f"test-command = {test_command!r}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    SESSIONS.mkdir(exist_ok=True)
    stem = module.replace("/", ".").removesuffix(".py")
    session, source_copy = SESSIONS / f"{stem}.sqlite", SESSIONS / f"{stem}.source.py"
    source = (workdir / module).read_text()
    if recheck and session.exists() and source_copy.exists() and source_copy.read_text() == source:
        _forget_survivors(session, listed or {})
    else:
        if recheck:
            print(f"{module} changed since its last session: mutating all of it")
        session.unlink(missing_ok=True)
        _cosmic_ray("init", config, session, workdir)
        _skip_annotation_mutants(session, unevaluated_annotations(source))
        if sample is not None:
            total = _keep_sample(session, sample)
            print(f"{module}: a random sample of {min(sample, total)} of its {total} mutants")
        source_copy.write_text(source)
    server = subprocess.Popen(
        [*here, "--serve", module],
        cwd=workdir,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not (workdir / SOCKET).exists():
            if server.poll() is not None:
                sys.exit(f"{module}: the fork server did not start")
            time.sleep(0.1)
        _cosmic_ray("exec", config, session, workdir)
    finally:
        server.kill()
        server.wait()
    return read_session(session)


def read_session(session: Path) -> list[Mutant]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    mutants = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            (spec,) = item.mutations
            line, mutated = changed_text(result.diff or "")
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                outcome = "annotation"
            elif result.test_outcome == TestOutcome.SURVIVED:
                outcome = "survived"
            else:
                outcome = "killed"
            start = (spec.start_pos[0], spec.start_pos[1])
            mutants.append(Mutant(spec.operator_name, start, line, mutated, outcome))
    return sorted(mutants, key=lambda m: (m.start, m.operator))


def judge(
    module: str, mutants: list[Mutant], listed: dict[tuple[str, str], str]
) -> tuple[Score, list[Mutant], list[Mutant]]:
    """Totals, surviving non-equivalent mutants, and listed equivalents that were killed."""
    score = Score(module, mutants=len(mutants))
    survivors, stale = [], []
    for mutant in mutants:
        is_listed = (mutant.line, mutant.mutant) in listed
        if mutant.outcome == "killed":
            score.killed += 1
            if is_listed:
                stale.append(mutant)
        elif mutant.outcome == "annotation" or is_listed:
            score.equivalent += 1
        else:
            score.survived += 1
            survivors.append(mutant)
    return score, survivors, stale


def print_table(scores: list[Score]) -> None:
    header = ("module", "mutants", "killed", "survived", "equivalent", "score")
    print("\n{:<32} {:>8} {:>7} {:>9} {:>11} {:>7}".format(*header))
    for s in scores:
        shown = "n/a" if s.score is None else f"{s.score:.1%}"
        print(
            f"{s.module:<32} {s.mutants:>8} {s.killed:>7} {s.survived:>9} "
            f"{s.equivalent:>11} {shown:>7}"
        )


def main(argv: list[str] | None = None) -> int:
    config = load_config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all configured)")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="rerun only the last session's survivors not listed as equivalent (when the "
        "module is unchanged)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="mutate a random sample of N mutants per module (a module too big to run whole)",
    )
    parser.add_argument("--map", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--test", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--serve", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.map:
        return build_map(args.map)
    if args.test:
        return run_mutant(args.test)
    if args.serve:
        return serve(args.serve)

    modules = args.modules or list(config["modules"])
    unknown = [m for m in modules if m not in config["modules"]]
    if unknown:
        parser.error(f"not in {CONFIG.name}: {', '.join(unknown)}")
    equivalents = load_equivalents()
    scores = []
    for module in modules:
        with tempfile.TemporaryDirectory(prefix="llmfleet-mutation-") as tmp:
            copy_checkout(Path(tmp))
            mutants = run_module(
                module,
                config["settings"],
                Path(tmp),
                args.recheck,
                args.sample,
                equivalents.get(module, {}),
            )
        score, survivors, stale = judge(module, mutants, equivalents.get(module, {}))
        scores.append(score)
        if args.survivors and survivors:
            print(f"\n{module}: {len(survivors)} surviving mutants")
            print("\n".join(m.describe() for m in survivors))
        for mutant in stale:
            print(f"{module}: listed as equivalent but killed:\n{mutant.describe()}")
    print_table(scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
