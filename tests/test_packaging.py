"""Packaging: a wheel of llmfleet claims one top-level name in the user's environment."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]


def _packaged() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return find_packages(where=str(REPO), include=include)


def test_the_wheel_claims_only_the_llmfleet_top_level_name():
    assert {name.split(".")[0] for name in _packaged()} == {"llmfleet"}


def test_the_library_policy_rules_and_catalog_data_ship_inside_llmfleet():
    packaged = set(_packaged())
    assert {"llmfleet.components", "llmfleet.components.aws", "llmfleet.policies"} <= packaged
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["llmfleet.components"]
    assert "data/*.yaml" in data
    assert (REPO / "llmfleet" / "components" / "data" / "catalog.yaml").is_file()


def test_the_policy_pack_folder_holds_only_the_pack_not_importable_rules():
    assert sorted(p.name for p in (REPO / "policies").glob("*.py")) == ["__main__.py"]
