"""A clone of the repository holds everything its tests and docs refer to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

_NOT_SOURCE = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}


def _source_files() -> Iterator[Path]:
    for path in REPO.rglob("*"):
        parts = set(path.relative_to(REPO).parts)
        if (
            path.is_file()
            and not parts & _NOT_SOURCE
            and not any(p.endswith(".egg-info") for p in parts)
        ):
            yield path


def test_nothing_refers_outside_the_repository():
    outside = "../" + "shared"  # split so this file does not match itself
    offenders = [
        str(path.relative_to(REPO))
        for path in _source_files()
        if outside in path.read_text(errors="ignore")
    ]
    assert offenders == [], f"files referring to {outside}: {offenders}"


def test_vendored_crd_schemas_are_documented(schemas_dir):
    readme = (schemas_dir / "README.md").read_text()
    for crd in sorted(schemas_dir.glob("*/*.yaml")):
        assert crd.parent.name + "/" in readme, f"{crd} has no row in tests/schemas/README.md"
    assert readme.count("Apache-2.0") >= 4
