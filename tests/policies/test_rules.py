"""What every rule module shares: reading engine properties, settings, stack references."""

from __future__ import annotations

import dataclasses

import pytest

from llmfleet.policies import rules
from tests.policies.conftest import engine, resource

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


class TestGet:
    PROPS = {"spec": {"listeners": [{"name": "https"}, {"name": "http"}]}}

    def test_a_path_of_keys_and_indices(self):
        assert rules.get(self.PROPS, "spec", "listeners", 1, "name") == "http"
        assert rules.get(self.PROPS, "spec", "listeners", 0) == {"name": "https"}
        assert rules.get(self.PROPS) == self.PROPS

    @pytest.mark.parametrize(
        "path",
        [
            ("spec", "listeners", 2),
            ("spec", "listeners", 5),
            ("spec", 0),
            ("spec", "listeners", "name"),
            ("metadata", "name"),
            ("spec", "listeners", 0, "name", "first"),
        ],
    )
    def test_a_missing_step_is_none(self, path):
        assert rules.get(self.PROPS, *path) is None

    def test_a_tuple_is_indexed_like_a_list(self):
        assert rules.get({"ports": (80, 443)}, "ports", 1) == 443


def test_items_is_a_list_property_or_empty():
    assert rules.items([1, 2]) == [1, 2]
    assert rules.items((1, 2)) == [1, 2]
    assert rules.items(None) == []
    assert rules.items({"a": 1}) == []
    assert rules.items("ab") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("True", True),
        (False, False),
        ("false", False),
        ("yes", False),
        ("", False),
        (1, False),
        (None, False),
    ],
)
def test_on_is_true_only_for_true(value, expected):
    assert rules.on(engine(value)) is expected


def test_label_is_the_name_at_the_end_of_a_urn():
    urn = "urn:pulumi:prod::llmfleet::llmfleet:fleet:Fleet$aws:s3/bucket:Bucket::models-us"
    assert rules.label(urn) == "models-us"


class TestEnvironment:
    @pytest.mark.parametrize(
        "props",
        [
            {"tags": {"environment": "prod"}},
            {"labels": {"environment": "prod"}},
            {"resourceLabels": {"environment": "prod"}},
            {"spec": {"tags": {"environment": "prod"}}},
        ],
    )
    def test_read_from_the_resource_s_tags_or_labels(self, props):
        assert rules.environment(props, None) == "prod"

    def test_config_wins_over_the_resource(self):
        assert (
            rules.environment({"tags": {"environment": "dev"}}, {"environment": "prod"}) == "prod"
        )

    def test_none_found_is_empty(self):
        assert rules.environment({}, None) == ""
        assert rules.environment({"tags": {"environment": 3}}, {}) == ""


class TestSettings:
    RETRIES = rules.Setting("retries", {"type": "integer"}, 3, "How often to retry.")

    def test_the_configured_value_or_the_default(self):
        assert rules.setting({"retries": 5}, self.RETRIES) == 5
        assert rules.setting({"retries": 0}, self.RETRIES) == 0
        assert rules.setting({}, self.RETRIES) == 3
        assert rules.setting(None, self.RETRIES) == 3

    def test_a_setting_is_a_constant(self):
        with pytest.raises(dataclasses.FrozenInstanceError):
            self.RETRIES.default = 4  # type: ignore[misc]

    def test_the_schema_documents_the_default(self):
        schema = rules.schema(self.RETRIES)
        assert schema.properties == {
            "retries": {"type": "integer", "default": 3, "description": "How often to retry."}
        }
        assert rules.schema() is None


class TestReferences:
    def test_of_type(self):
        bucket, other = resource(BUCKET, "b", {}), resource("aws:kms/key:Key", "k", {})
        assert rules.of_type([bucket, other], BUCKET) == [bucket]

    def test_only_resources_whose_property_comes_from_the_target(self):
        # Names on both sides of the target's: a reference is found by identity of URN only.
        artifacts, models, zoo = (resource(BUCKET, n, {}) for n in ("artifacts", "models", "zoo"))
        configs = [
            resource(SSE, f"{b.name}-sse", {}, {"bucket": [b]}) for b in (artifacts, models, zoo)
        ]
        stack = [artifacts, models, zoo, *configs]
        assert rules.referencing(stack, models, "bucket", SSE) == [configs[1]]
        assert rules.referencing(stack, models, "targetBucket", SSE) == []
        assert rules.referencing(stack, models, "bucket", BUCKET) == []
