"""Exit code 3: an internal error is one line with a --debug hint; --debug shows the traceback."""

from __future__ import annotations

import pytest

from llmfleet.cli import main
from tests.conftest import DEV_FLEET
from tests.llmfleet.test_cli import make_project, stack_text

BROKEN_PROGRAM = "raise RuntimeError('boom\\nsecond line')\n"


@pytest.fixture
def broken_project(tmp_path):
    return make_project(tmp_path, {"dev": stack_text(DEV_FLEET)}, program=BROKEN_PROGRAM)


def test_an_internal_error_exits_3_with_one_line_and_a_debug_hint(broken_project, capsys):
    assert main(["plan", "dev", "--project", str(broken_project)]) == 3
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "internal error" in lines[0]
    assert "RuntimeError: boom" in lines[0]
    assert "rerun with --debug for the traceback" in lines[0]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_before_or_after_the_command(broken_project, capsys, where):
    args = ["plan", "dev", "--project", str(broken_project)]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "second line" in err
    assert err.strip().splitlines()[-1].startswith("internal error")


def test_debug_does_not_change_a_usage_error(capsys):
    assert main(["--debug", "plan", "nope", "--project", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "no Pulumi.yaml found" in err
