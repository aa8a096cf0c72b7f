"""Output paths are checked before the plan runs: a bad one exits 2 and prints no report."""

from __future__ import annotations

import pytest

from llmfleet.cli import main
from tests.conftest import REPO


def plan_dev(*args: str) -> int:
    return main(["plan", "dev", "--project", str(REPO), "--no-tree", *args])


@pytest.mark.parametrize(
    ("below", "flag", "message"),
    [
        ("file", "--export-manifests", "is an existing file; give a folder"),
        ("file/deeper", "--export-manifests", "is a file, not a folder"),
        (".", "--json", "is a folder; give a file name"),
        ("file/plan.json", "--json", "is a file, not a folder"),
    ],
)
def test_a_bad_output_path_exits_2_before_the_report(tmp_path, capsys, below, flag, message):
    (tmp_path / "file").write_text("an existing file")
    target = tmp_path / below
    assert plan_dev(flag, str(target)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{flag} {target}" in captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("flag", ["--json", "--export-manifests"])
def test_an_unwritable_place_exits_2_before_the_report(capsys, flag):
    # /proc refuses new files even for root, unlike a chmod-ed folder.
    assert plan_dev(flag, "/proc/llmfleet-out/x") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot write in /proc" in captured.err
