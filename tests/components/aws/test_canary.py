"""CloudWatch Synthetics canaries: the authenticated uptime checks of AWS-only routed fleets."""

from __future__ import annotations

import io
import json
import zipfile

import pulumi
import pytest
from pulumi_policy import EnforcementLevel

from llmfleet.components.aws import canary
from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import parse_fleet
from llmfleet.policies import POLICIES
from llmfleet.policy import evaluate
from llmfleet.recorder import record
from tests.components.routed_fleet import CHAT, DOMAIN, routed

CANARY = "aws:synthetics/canary:Canary"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SECRET = "aws:secretsmanager/secret:Secret"
AWS_REGIONS = ("us-east-1", "us-west-2")


def recorded(config: dict):
    spec = parse_fleet(config)
    return record(lambda: Fleet(spec.name, spec))


@pytest.fixture(scope="module")
def aws_only():
    return recorded(routed(clouds=("aws",)))


def canaries(rec) -> dict:
    """By region."""
    return {c.inputs["region"]: c for c in rec.of_type(CANARY)}


def of_canary(rec, type_: str, region: str, suffix: str = "") -> list:
    return [
        r
        for r in rec.of_type(type_)
        if f"-{region}-canary" in r.name
        and r.name.endswith(suffix)
        and r.inputs.get("region", region) == region
    ]


def test_an_aws_only_routed_fleet_gets_a_canary_per_serving_region(aws_only):
    assert sorted(canaries(aws_only)) == sorted(AWS_REGIONS)


@pytest.mark.parametrize(
    "config",
    [routed(), routed(clouds=("gcp",)), {**routed(clouds=("aws",)), "routing": {}}],
    ids=["mixed", "gcp-only", "unrouted"],
)
def test_fleets_checked_by_gcp_or_without_a_domain_get_no_canary(config):
    assert recorded(config).of_type(CANARY) == []


def test_each_canary_requests_the_api_of_the_global_and_its_own_endpoint(aws_only):
    for region, found in canaries(aws_only).items():
        env = found.inputs["runConfig"]["environmentVariables"]
        assert json.loads(env["TARGETS"]) == [
            {"name": "global", "url": f"https://{DOMAIN}/chat/v1/models"},
            {"name": region, "url": f"https://{region}.{DOMAIN}/chat/v1/models"},
        ]


def test_endpoints_whose_entries_all_scale_to_zero_are_not_requested():
    cold = {**CHAT, "min_replicas": 0, "scale_to_zero": True}
    del cold["canary"]
    rec = recorded(routed(clouds=("aws",), serving=[cold]))
    assert rec.of_type(CANARY) == []


def test_the_key_is_read_at_run_time_from_the_regions_own_secret(aws_only):
    secrets = {s.inputs["region"]: s.outputs["arn"] for s in aws_only.of_type(SECRET)}
    for region, found in canaries(aws_only).items():
        env = found.inputs["runConfig"]["environmentVariables"]
        # The canary holds the secret's ARN, never a key.
        assert env["API_KEY_SECRET"] == secrets[region]
        assert set(env) == {"API_KEY_SECRET", "TARGETS"}
    source = canary.script().decode()
    assert "process.env.API_KEY_SECRET" in source
    assert "GetSecretValueCommand" in source
    assert "Authorization: `Bearer ${key}`" in source
    assert "restrictedHeaders: ['authorization']" in source


def role_statements(rec, region: str) -> dict:
    [policy] = [
        p
        for p in rec.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith(f"-{region}-canary-role")
    ]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_the_role_reads_only_its_regions_secret_and_writes_only_its_artifacts(aws_only):
    secrets = {s.inputs["region"]: s.outputs["arn"] for s in aws_only.of_type(SECRET)}
    for region in AWS_REGIONS:
        statements = role_statements(aws_only, region)
        assert statements["ReadApiKey"]["Action"] == "secretsmanager:GetSecretValue"
        assert statements["ReadApiKey"]["Resource"] == secrets[region]
        assert statements["DecryptApiKey"]["Condition"] == {
            "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
        }
        assert statements["WriteArtifacts"]["Resource"].endswith(f"/{canary.ARTIFACT_PREFIX}*")
        assert statements["PublishSyntheticsMetrics"]["Condition"] == {
            "StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}
        }
        assert statements["WriteLogs"]["Resource"].endswith(
            f":log-group:/aws/lambda/cwsyn-{canary.canary_name(parse_fleet(routed()))}-*"
        )
        # Only the runtime's bucket listing and the namespaced metric take "*".
        broad = {sid for sid, s in statements.items() if s["Resource"] == "*"}
        assert broad == {"ListBuckets", "PublishSyntheticsMetrics"}
        assert all(s["Effect"] == "Allow" for s in statements.values())


def test_the_canary_runs_scheduled_encrypted_and_from_a_versioned_zip(aws_only):
    for found in canaries(aws_only).values():
        inputs = found.inputs
        assert inputs["runtimeVersion"] == canary.RUNTIME_VERSION
        assert inputs["handler"] == "api_check.handler"
        assert inputs["schedule"] == {"expression": f"rate({canary.RUN_MINUTES} minutes)"}
        assert inputs["startCanary"] is True and inputs["deleteLambda"] is True
        assert inputs["artifactConfig"]["s3Encryption"]["encryptionMode"] == "SSE_KMS"
        assert inputs["artifactS3Location"].endswith(f"/{canary.ARTIFACT_PREFIX}")
        assert "zipFile" not in inputs and inputs["s3Key"].endswith(".zip")


def test_the_artifact_bucket_is_private_encrypted_logged_and_expires(aws_only):
    for region in AWS_REGIONS:
        [bucket] = of_canary(aws_only, "aws:s3/bucket:Bucket", region, "-canary-artifacts")
        [sse] = of_canary(
            aws_only,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            region,
            "-canary-artifacts",
        )
        assert sse.inputs["bucket"] == bucket.outputs["id"]
        rule = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "aws:kms" and rule["kmsMasterKeyId"]
        [block] = of_canary(
            aws_only,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            region,
            "-canary-artifacts",
        )
        assert all(
            block.inputs[k]
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
        [logging] = of_canary(aws_only, "aws:s3/bucketLogging:BucketLogging", region)
        assert logging.inputs["bucket"] == bucket.outputs["id"]
        [lifecycle] = of_canary(
            aws_only,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            region,
            "-canary-artifacts",
        )
        expiring = {r["id"]: r for r in lifecycle.inputs["rules"]}
        assert expiring["expire-run-artifacts"]["expiration"] == {"days": canary.ARTIFACT_DAYS}
        assert expiring["expire-run-artifacts"]["filter"] == {"prefix": canary.ARTIFACT_PREFIX}


def test_the_alarm_pages_the_fleets_channel_through_the_regions_topic(aws_only):
    topics = {t.inputs["region"]: t for t in aws_only.of_type("aws:sns/topic:Topic")}
    for region, found in canaries(aws_only).items():
        [alarm] = of_canary(aws_only, ALARM, region)
        assert alarm.inputs["namespace"] == "CloudWatchSynthetics"
        assert alarm.inputs["metricName"] == "SuccessPercent"
        assert alarm.inputs["dimensions"] == {"CanaryName": found.inputs["name"]}
        assert alarm.inputs["treatMissingData"] == "breaching"
        [topic] = [
            t
            for t in aws_only.of_type("aws:sns/topic:Topic")
            if t.inputs["name"] == "llm-prod-canary-alerts" and t.inputs["region"] == region
        ]
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
        assert topic.inputs["kmsMasterKeyId"]
        assert topics[region]


def test_the_policy_pack_passes_on_an_aws_only_routed_fleet(aws_only):
    # Karpenter's pools carry no environment tag: that rule needs the stack's environment from
    # the pack's configuration, which this evaluation does not give.
    violations = evaluate(aws_only, POLICIES, EnforcementLevel.MANDATORY)
    assert [v for v in violations if v["policy"] != "nonprod-spot-scale-to-zero"] == []


def test_the_zip_is_byte_identical_and_holds_the_script_where_synthetics_looks():
    first, second = canary.code_zip(), canary.code_zip()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        [entry] = archive.infolist()
        assert entry.filename == "nodejs/node_modules/api_check.js"
        assert entry.date_time == canary.ZIP_TIMESTAMP
        assert archive.read(entry) == canary.script()


def test_a_stack_topic_in_another_region_than_an_alarm_is_warned_about(monkeypatch):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, resource=None, **_: warnings.append(msg))
    config = routed(clouds=("aws",))
    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    config["observability"] = {"notify": {"sns_topic_arn": topic}}
    rec = recorded(config)
    alarms = {a.inputs["region"]: a for a in rec.of_type(ALARM) if "canary" in a.name}
    assert all(a.inputs["alarmActions"] == [topic] for a in alarms.values())
    (warning,) = [w for w in warnings if "uptime canary" in w]
    assert "in us-west-2 notifies" in warning and topic in warning
