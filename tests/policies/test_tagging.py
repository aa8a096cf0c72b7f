"""required-ownership-tags: tagged resources name their owner and cost centre."""

from __future__ import annotations

import pulumi_aws as aws
import pulumi_gcp as gcp
from pulumi_policy import EnforcementLevel

from llmfleet.policies.tagging import required_ownership_tags
from llmfleet.policy import evaluate

OWNED = {"owner": "ml-platform", "cost-center": "cc-1"}


def violations(run, program):
    return evaluate(run(program), [required_ownership_tags], EnforcementLevel.MANDATORY)


def test_owned_resources_pass(run):
    def program():
        aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", region="us-east-1", tags=OWNED)
        gcp.storage.Bucket("bucket", location="US", labels=OWNED)

    assert violations(run, program) == []


def test_resources_without_tag_properties_are_not_judged(run):
    assert violations(run, lambda: aws.iam.Role("role", assume_role_policy="{}")) == []


def test_missing_owner_and_cost_center_are_reported_per_resource(run):
    def program():
        aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", region="us-east-1", tags={"owner": "x"})
        gcp.container.Cluster("gke", location="us-central1", resource_labels={"team": "y"})

    found = violations(run, program)
    # Violations follow the recording's canonical order: siblings by name.
    assert [(v["level"], v["message"]) for v in found] == [
        ("mandatory", "resourceLabels lacks owner, cost-center"),
        ("mandatory", "tags lacks cost-center"),
    ]
    assert found[1]["urn"].endswith("aws:ec2/vpc:Vpc::vpc")
    assert {v["policy"] for v in found} == {"required-ownership-tags"}


def test_cloud_monitoring_resources_are_judged_by_their_user_labels(run):
    def owned():
        gcp.monitoring.NotificationChannel(
            "channel", type="email", labels={"email_address": "a@example.com"}, user_labels=OWNED
        )

    def unowned():
        gcp.monitoring.NotificationChannel(
            "channel", type="email", labels={"email_address": "a@example.com"}, user_labels={}
        )

    assert violations(run, owned) == []
    assert [v["message"] for v in violations(run, unowned)] == [
        "userLabels lacks owner, cost-center"
    ]
