"""The mutation-testing driver: what counts as equivalent, how a run is scored and sampled."""

from __future__ import annotations

import sqlite3
import tomllib

from tests.conftest import REPO
from tools.mutation import (
    CONFIG,
    EQUIVALENTS,
    Mutant,
    _keep_sample,
    changed_text,
    judge,
    load_equivalents,
    unevaluated_annotations,
)

SOURCE = """from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Point:
    x: int = 0


class Model:
    y: int = 0


def f(a: int, *rest: str, **kw: float) -> list[int]:
    local: dict[str, int] = {}
    return [a]
"""


def test_unevaluated_annotations_are_signatures_locals_and_dataclass_fields():
    spans = unevaluated_annotations(SOURCE)
    lines = SOURCE.splitlines()
    found = sorted(lines[start[0] - 1][start[1] : end[1]] for start, end in spans)
    # Model.y is a class annotation of a non-dataclass (pydantic resolves those): left in.
    assert found == ["dict[str, int]", "float", "int", "int", "list[int]", "str"]


def test_without_the_future_import_every_annotation_is_evaluated():
    assert unevaluated_annotations(SOURCE.replace("from __future__ import annotations\n", "")) == []


def test_changed_text_of_a_diff():
    diff = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-    if a > 1:\n+    if a >= 1:\n"
    assert changed_text(diff) == ("if a > 1:", "if a >= 1:")


def mutant(line: str, mutated: str, outcome: str) -> Mutant:
    return Mutant("core/Op", (1, 0), line, mutated, outcome)


def test_the_score_leaves_equivalents_out_and_reports_stale_entries():
    mutants = [
        mutant("a", "b", "killed"),
        mutant("a", "c", "killed"),
        mutant("a", "d", "survived"),
        mutant("a", "e", "survived"),
        mutant("x: int", "x: float", "annotation"),
    ]
    listed = {("a", "e"): "equivalent", ("a", "c"): "was thought equivalent"}
    score, survivors, stale = judge("m.py", mutants, listed)
    assert (score.mutants, score.killed, score.survived, score.equivalent) == (5, 2, 1, 2)
    assert score.score == 2 / 3
    assert [m.mutant for m in survivors] == ["d"]
    assert [m.mutant for m in stale] == ["c"]


def test_a_sample_keeps_that_many_mutants_not_yet_run(tmp_path):
    session = tmp_path / "s.sqlite"
    with sqlite3.connect(session) as db:
        db.execute("CREATE TABLE work_items (job_id VARCHAR PRIMARY KEY)")
        db.execute("CREATE TABLE mutation_specs (job_id VARCHAR PRIMARY KEY)")
        db.execute("CREATE TABLE work_results (job_id VARCHAR PRIMARY KEY)")
        jobs = [(f"{i:02d}",) for i in range(10)]
        db.executemany("INSERT INTO work_items VALUES (?)", jobs)
        db.executemany("INSERT INTO mutation_specs VALUES (?)", jobs)
        db.execute("INSERT INTO work_results VALUES ('05')")  # already run: kept
    assert _keep_sample(session, 3) == 9
    with sqlite3.connect(session) as db:
        kept = [job for (job,) in db.execute("SELECT job_id FROM work_items ORDER BY job_id")]
        specs = db.execute("SELECT count(*) FROM mutation_specs").fetchone()[0]
    assert kept == ["00", "01", "02", "05"]
    assert specs == 4


def test_every_configured_module_and_test_file_exists():
    config = tomllib.loads(CONFIG.read_text())
    for module, tests in config["modules"].items():
        assert (REPO / module).is_file(), module
        for test in tests:
            assert (REPO / test).is_file(), test


def test_every_equivalent_names_a_configured_module_and_a_reason():
    modules = tomllib.loads(CONFIG.read_text())["modules"]
    listed = load_equivalents()
    assert set(listed) <= set(modules)
    assert all(reason for entries in listed.values() for reason in entries.values())
    assert EQUIVALENTS.is_file()
