"""README accuracy: the commands it shows run and print what it shows; its figures are the
catalog's."""

from __future__ import annotations

import re

import pytest

from llmfleet.cli import _parser, main
from llmfleet.components import catalog
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def console_examples() -> list[tuple[list[str], list[str]]]:
    """(command arguments, shown output lines) of every ``$ llmfleet ...`` in console blocks."""
    examples: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ llmfleet "):
                examples.append((line.removeprefix("$ llmfleet ").split(), []))
            elif line != "…":
                examples[-1][1].append(line.rstrip())
    return examples


@pytest.mark.parametrize(("args", "shown"), console_examples(), ids=lambda v: " ".join(v))
def test_shown_output_is_real(capsys, args, shown):
    assert main([*args, "-C", str(REPO)]) == 0
    printed = iter(line.rstrip() for line in capsys.readouterr().out.splitlines())
    # Every shown line appears, in order (`…` marks lines left out).
    missing = [line for line in shown if not any(line == real for real in printed)]
    assert missing == []


def test_every_command_named_exists():
    commands = set(_parser()._subparsers._group_actions[0].choices)
    named = set(re.findall(r"`llmfleet ([a-z][a-z-]*)", README))
    assert named <= commands


def test_l4_resolves_as_the_readme_says():
    match = re.search(
        r"`nvidia-l4` resolves.*?to `([^`]+)` on AWS and `([^`]+)` on GCP", README, re.S
    )
    assert match is not None
    assert match.group(1) == catalog.resolve("aws", "nvidia-l4", 1, "us-east-1").name
    assert match.group(2) == catalog.resolve("gcp", "nvidia-l4", 1, "us-central1").name
