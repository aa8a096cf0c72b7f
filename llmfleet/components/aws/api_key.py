"""The fleet's API key in AWS Secrets Manager, readable by the region's secret-sync controller.

llmfleet creates the secret (encrypted with the cluster's customer key) but never its value:
an operator puts it with ``aws secretsmanager put-secret-value``, so the key appears in no
stack file, plan, manifest or output.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws import iam
from llmfleet.components.aws.cluster import AwsCluster
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.k8s import secrets
from llmfleet.components.spec import FleetSpec, RegionSpec


def api_key_name(fleet: FleetSpec) -> str:
    """``llm-prod/api-key``: the secret's name, the same in every region."""
    return f"{fleet.name}/api-key"


class AwsApiKey(AwsComponent):
    """The API-key secret of one region and the sync controller's read access to it."""

    secret: aws.secretsmanager.Secret
    grant: pulumi.Resource
    """The Pod Identity association of the controller: it reads only after this exists."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: AwsCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:ApiKey", name, fleet.labels(), opts)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=api_key_name(fleet),
            description=f"API key of the {fleet.name} serving endpoints (value set out of band)",
            kms_key_id=cluster.kms_key.arn,
            recovery_window_in_days=30 if fleet.protect else 7,
            region=region.region,
            tags=self._tags(f"{name}-secret"),
            opts=self._child(protect=fleet.protect),
        )
        policy = pulumi.Output.all(self.secret.arn, cluster.kms_key.arn).apply(
            lambda arns: iam.policy_document(
                {
                    "Sid": "ReadApiKey",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": arns[0],
                },
                {
                    "Sid": "DecryptApiKey",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": arns[1],
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{region.region}.amazonaws.com"
                        }
                    },
                },
            )
        )
        cluster.service_account_role(
            "external-secrets", secrets.NAMESPACE, secrets.SERVICE_ACCOUNT, policy_json=policy
        )
        self.grant = cluster.pod_identity_associations[
            f"{secrets.NAMESPACE}/{secrets.SERVICE_ACCOUNT}"
        ]
        self.store = {
            "aws": {"service": "SecretsManager", "region": region.region},
        }
        self.register_outputs({"secret_arn": self.secret.arn})
