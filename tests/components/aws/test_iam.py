"""AWS IAM policy documents and role trust policies."""

from __future__ import annotations

import json

from llmfleet.components.aws import iam


def test_a_document_keeps_its_statements_in_order_and_has_an_id_only_when_given():
    first, second = {"Sid": "First"}, {"Sid": "Second"}
    assert json.loads(iam.policy_document(first, second)) == {
        "Version": "2012-10-17",
        "Statement": [first, second],
    }
    assert json.loads(iam.policy_document(first, policy_id="Queue"))["Id"] == "Queue"


def test_a_trust_policy_assumes_the_role_and_has_a_condition_only_when_given():
    ec2 = {"Service": "ec2.amazonaws.com"}
    [plain] = json.loads(iam.trust_policy(ec2))["Statement"]
    assert plain == {"Effect": "Allow", "Principal": ec2, "Action": "sts:AssumeRole"}
    condition = {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    [scoped] = json.loads(iam.trust_policy(ec2, condition=condition))["Statement"]
    assert scoped["Condition"] == condition
