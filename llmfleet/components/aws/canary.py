"""Authenticated uptime checks of an AWS-only fleet: a CloudWatch Synthetics canary per region.

Route 53 health checks, which the global endpoint routes by, send no request headers, so they
cannot present the fleet's API key. When AWS runs the fleet's uptime checks (no GCP serving
region, ``observability.uptime_checker``), each AWS serving region runs a canary that requests
``/<serving>/v1/models`` (``Endpoint.api_path``) of the global endpoint and of the region's own
``<region>.<domain>`` with ``Authorization: Bearer <key>``: gateway route, key sync and vLLM's
authentication must all answer. The global endpoint is thus probed from every serving region.

The canary's script (llmfleet/components/data/canary/api_check.js) reads the key from the
region's Secrets Manager secret at run time: the key is never in the canary's configuration,
the Pulumi state or the run artifacts (the script records no headers and redacts
``Authorization``). Its role reads that one secret and nothing else of the fleet's.

A CloudWatch alarm on the canary's ``SuccessPercent`` notifies the fleet's channel like the
other AWS alerts (``alert_topic``). Run artifacts go to a private bucket of the region,
encrypted with a customer key that also encrypts the alarm's topic, and expire.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zipfile
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws import buckets, iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.aws.monitoring import CLOUDWATCH_SERVICE, alert_key, alert_topic
from llmfleet.components.naming import fit_name
from llmfleet.components.observability import Endpoint, uptime_threshold
from llmfleet.components.spec import FleetSpec, RegionSpec

RUNTIME_VERSION = "syn-nodejs-puppeteer-11.0"
"""CloudWatch Synthetics runtime (Node.js 20): its library's ``executeHttpStep`` makes plain
HTTPS requests, the way AWS's API canary blueprint does; no browser is opened."""

SCRIPT = "api_check.js"
"""The script, a data file of this package."""
SCRIPT_PATH = f"nodejs/node_modules/{SCRIPT}"
"""Where Node.js canaries' code must sit in the zip (Synthetics ``CanaryCodeInput``)."""
HANDLER = "api_check.handler"

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
"""Every zip entry's timestamp: the zip's bytes, and with them the plan, depend on the script
only."""

RUN_MINUTES = 5
"""How often each canary runs."""
TIMEOUT_SECONDS = 60
"""A run's limit: two requests, a secret read and the runtime's start."""
ARTIFACT_DAYS = 14
"""How long run artifacts (logs, reports) and the run history are kept."""
ARTIFACT_PREFIX = "runs/"
CODE_PREFIX = "code/"
METRIC_NAMESPACE = "CloudWatchSynthetics"


@dataclass(frozen=True)
class Target:
    """One request of a canary run."""

    name: str
    """The run's step name (``global``, or the region)."""
    url: str


def targets(endpoints: list[Endpoint], region: RegionSpec) -> list[Target]:
    """What ``region``'s canary requests: the API path of the global endpoint and of the
    region's own, where the endpoint has one (an always-on serving entry)."""
    mine = [e for e in endpoints if e.scope in ("global", region.region) and e.api_path]
    return [Target(e.scope, f"https://{e.host}{e.api_path}") for e in mine]


def script() -> bytes:
    return resources.files("llmfleet.components").joinpath("data", "canary", SCRIPT).read_bytes()


def code_zip() -> bytes:
    """The script zipped where Synthetics looks for it, byte for byte the same on every run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo(SCRIPT_PATH, date_time=ZIP_TIMESTAMP)
        entry.external_attr = 0o644 << 16
        entry.create_system = 3
        archive.writestr(entry, script(), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def canary_name(fleet: FleetSpec) -> str:
    """``llm-prod-uptime``: the same in every region (canary names are per region)."""
    return f"{fleet.name}-uptime"


def role_policy(
    partition: str,
    region: str,
    account_id: str,
    name: str,
    bucket_arn: str,
    key_arn: str,
    secret_arn: str,
    secret_key_arn: str,
) -> str:
    """What the canary may do: write its artifacts and logs, publish its metrics (in the
    Synthetics namespace only), and read the region's API key, nothing else of the fleet's."""
    return iam.policy_document(
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": f"{bucket_arn}/{ARTIFACT_PREFIX}*",
        },
        {
            "Sid": "FindArtifactBucket",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": bucket_arn,
        },
        {
            # The Synthetics runtime lists buckets before uploading; the action takes no
            # resource narrower than "*".
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": "s3:ListAllMyBuckets",
            "Resource": "*",
        },
        {
            "Sid": "EncryptArtifacts",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
            "Condition": iam.kms_through_s3(region, bucket_arn, f"{bucket_arn}/*"),
        },
        {
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:"
            f"/aws/lambda/cwsyn-{name}-*",
        },
        {
            "Sid": "PublishSyntheticsMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
        },
        {
            "Sid": "ReadApiKey",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        },
        {
            "Sid": "DecryptApiKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": secret_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            },
        },
    )


def evaluation_periods(fleet: FleetSpec) -> int:
    """Failed runs in a row that page: ``health_check_minutes`` worth, at least one."""
    return max(1, math.ceil(fleet.observability.health_check_minutes / RUN_MINUTES))


class AwsUptimeCanary(AwsComponent):
    """One region's canary probing ``targets`` with the API key, and its alarm."""

    canary: aws.synthetics.Canary
    alarm: aws.cloudwatch.MetricAlarm
    bucket: aws.s3.Bucket
    role: aws.iam.Role
    topic_arn: pulumi.Output[str] | None
    """Where the alarm notifies; None without a channel."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        probes: list[Target],
        secret_arn: pulumi.Input[str],
        secret_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:UptimeCanary", name, fleet.labels(), opts)
        self._name = name
        self._fleet = fleet
        self._region = region.region
        account_id, partition = iam.caller_account(self)
        # Run artifacts only, like the bucket: not protected.
        self._key = alert_key(
            self,
            f"{name}-key",
            f"Uptime canary artifacts and alert topic of {fleet.name}",
            partition,
            account_id,
            CLOUDWATCH_SERVICE,
            region.region,
            protect=False,
        )
        self.bucket = self._artifact_bucket(account_id)
        code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=self.bucket.id,
            key=f"{CODE_PREFIX}{canary_name(fleet)}.zip",
            content_base64=base64.b64encode(code_zip()).decode(),
            content_type="application/zip",
            region=region.region,
            opts=self._child(depends_on=[self._versioning]),
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=iam_role_name(fleet, region),
            assume_role_policy=account_id.apply(
                lambda account: iam.trust_policy(
                    {"Service": "lambda.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": account}},
                )
            ),
            tags=self._tags(f"{name}-role"),
            opts=self._child(),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role",
            role=self.role.id,
            policy=pulumi.Output.all(
                partition, account_id, self.bucket.arn, self._key.arn, secret_arn, secret_key_arn
            ).apply(
                lambda v: role_policy(
                    v[0], region.region, v[1], canary_name(fleet), v[2], v[3], v[4], v[5]
                )
            ),
            opts=self._child(),
        )
        self.canary = aws.synthetics.Canary(
            f"{name}-canary",
            name=canary_name(fleet),
            runtime_version=RUNTIME_VERSION,
            handler=HANDLER,
            s3_bucket=self.bucket.id,
            s3_key=code.key,
            s3_version=code.version_id,
            execution_role_arn=self.role.arn,
            artifact_s3_location=self.bucket.id.apply(lambda b: f"s3://{b}/{ARTIFACT_PREFIX}"),
            artifact_config=aws.synthetics.CanaryArtifactConfigArgs(
                s3_encryption=aws.synthetics.CanaryArtifactConfigS3EncryptionArgs(
                    encryption_mode="SSE_KMS", kms_key_arn=self._key.arn
                )
            ),
            schedule=aws.synthetics.CanaryScheduleArgs(expression=f"rate({RUN_MINUTES} minutes)"),
            run_config=aws.synthetics.CanaryRunConfigArgs(
                timeout_in_seconds=TIMEOUT_SECONDS,
                active_tracing=False,
                environment_variables={
                    # The secret's ARN, not its value: the script reads the value each run.
                    "API_KEY_SECRET": secret_arn,
                    "TARGETS": json.dumps([{"name": t.name, "url": t.url} for t in probes]),
                },
            ),
            success_retention_period=ARTIFACT_DAYS,
            failure_retention_period=ARTIFACT_DAYS,
            start_canary=True,
            # Synthetics makes a Lambda function per canary; remove it with the canary.
            delete_lambda=True,
            region=region.region,
            tags=self._tags(f"{name}-canary"),
            opts=self._child(depends_on=[policy]),
        )
        self.topic_arn = alert_topic(
            self,
            name,
            fleet,
            region.region,
            f"{fleet.name}-canary-alerts",
            key_arn=self._key.arn,
            publisher=CLOUDWATCH_SERVICE,
            source_arn=pulumi.Output.all(partition, account_id).apply(
                lambda v: f"arn:{v[0]}:cloudwatch:{region.region}:{v[1]}:alarm:{fleet.name}-*"
            ),
        )
        self._warn_if_topic_elsewhere()
        self.alarm = self._alarm(probes)
        self.register_outputs({"canary": self.canary.name, "topic_arn": self.topic_arn})

    def _artifact_bucket(self, account_id: pulumi.Output[str]) -> aws.s3.Bucket:
        """Private, TLS only, encrypted with the canary's key, access logged; artifacts expire,
        and the code keeps versions (the canary names the version it runs)."""
        name, region = self._name, self._region
        bucket = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket_prefix=f"{self._fleet.name[:28]}-canary-",
            force_destroy=True,  # run artifacts only: nothing to keep when the fleet goes
            region=region,
            tags=self._tags(f"{name}-artifacts"),
            opts=self._child(),
        )
        self._versioning = buckets.versioned_with_customer_key(
            self, bucket, self._key.arn, region, f"{name}-artifacts", f"{name}-artifacts"
        )
        public_access = buckets.private_and_owner_enforced(
            self, bucket, region, f"{name}-artifacts", f"{name}-artifacts"
        )
        aws.s3.BucketPolicy(
            f"{name}-artifacts",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: iam.policy_document(buckets.deny_insecure_transport(arn))
            ),
            region=region,
            opts=self._child(depends_on=[public_access]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-run-artifacts",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        prefix=ARTIFACT_PREFIX
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=ARTIFACT_DAYS
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=ARTIFACT_DAYS
                    ),
                ),
            ],
            region=region,
            opts=self._child(depends_on=[self._versioning]),
        )
        logs = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket_prefix=f"{self._fleet.name[:24]}-canarylogs-",
            force_destroy=True,
            region=region,
            tags=self._tags(f"{name}-access-logs"),
            opts=self._child(),
        )
        buckets.access_logs(
            self,
            f"{name}-access-logs",
            region,
            logs,
            bucket,
            account_id,
            self._fleet.log_retention_days,
            f"{name}-artifacts",
        )
        return bucket

    def _warn_if_topic_elsewhere(self) -> None:
        """A stack file's SNS topic is the one topic every canary alarm names; CloudWatch alarms
        are documented with topics of their own region, so one elsewhere may not be reached."""
        notify = self._fleet.observability.notify
        if notify is None or notify.kind != "sns_topic_arn":
            return
        topic_region = notify.target.split(":")[3]
        if topic_region != self._region:
            pulumi.log.warn(
                f"the uptime canary alarm in {self._region} notifies {notify.target} in "
                f"{topic_region}: CloudWatch may deliver alarm actions only to topics of the "
                "alarm's region; an email or webhook channel gets a topic in every region",
                resource=self,
            )

    def _alarm(self, probes: list[Target]) -> aws.cloudwatch.MetricAlarm:
        fleet = self._fleet
        actions = [self.topic_arn] if self.topic_arn is not None else []
        hosts = ", ".join(t.url for t in probes)
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-alarm",
            name=f"{fleet.name}-{self._region}-canary-failing",
            alarm_description=(
                f"{hosts} with the API key from {self._region}: {uptime_threshold(fleet)} "
                "(CloudWatch Synthetics canary)"
            ),
            namespace=METRIC_NAMESPACE,
            metric_name="SuccessPercent",
            dimensions={"CanaryName": self.canary.name},
            statistic="Average",
            period=RUN_MINUTES * 60,
            evaluation_periods=evaluation_periods(fleet),
            comparison_operator="LessThanThreshold",
            threshold=100,
            # A canary that stops reporting is not a passing one.
            treat_missing_data="breaching",
            alarm_actions=actions,
            ok_actions=actions,
            region=self._region,
            tags=self._tags(f"{self._name}-alarm"),
            opts=self._child(),
        )


def iam_role_name(fleet: FleetSpec, region: RegionSpec) -> str:
    """``llm-prod-uptime-us-east-1`` (roles are global: one per region), within IAM's limit."""
    return fit_name(f"{canary_name(fleet)}-{region.region}", iam.ROLE_NAME_MAX_LENGTH)
