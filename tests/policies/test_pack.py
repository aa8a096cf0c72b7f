"""The pack: __main__.py builds one PolicyPack of every rule; config files name real settings."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi_policy
import pytest

from llmfleet import policies
from tests.conftest import REPO

PACK = REPO / "policies"


def test_main_builds_a_pack_holding_every_rule(monkeypatch):
    built = {}

    def pack(**kwargs):
        # Stands in for PolicyPack, whose constructor would start the policy server.
        built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", pack)
    runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    assert built["name"] == "llmfleet"
    assert built["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    names = [p.name for p in built["policies"]]
    assert names == [p.name for p in policies.POLICIES]
    assert len(set(names)) == len(names)
    for expected in (
        "s3-bucket-kms-encryption",
        "kms-key-rotation",
        "monthly-budget",
        "nonprod-spot-scale-to-zero",
        "private-api-endpoints",
        "service-trust-names-source",
        "required-ownership-tags",
    ):
        assert expected in names


def test_every_rule_is_described_and_its_settings_documented():
    for policy in policies.POLICIES:
        assert policy.description
        schema = policy.config_schema.properties if policy.config_schema else {}
        for name, setting in schema.items():
            assert "default" in setting, (policy.name, name)
            assert setting["description"], (policy.name, name)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_pack_config_files_name_rules_and_settings_that_exist(env):
    config = json.loads((PACK / f"{env}.json").read_text())
    by_name = {p.name: p for p in policies.POLICIES}
    for rule, settings in config.items():
        assert rule in by_name, rule
        schema = by_name[rule].config_schema.properties
        assert set(settings) - {"enforcementLevel"} <= set(schema), rule


def test_pack_project_file_points_at_the_project_virtualenv():
    text = (PACK / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: ../.venv" in text
    assert "pulumi-policy" in (PACK / "requirements.txt").read_text()
    assert Path(PACK / "__main__.py").read_text().count("PolicyPack(") == 1
