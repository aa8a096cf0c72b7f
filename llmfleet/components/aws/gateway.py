"""AWS regional entries: the AWS Load Balancer Controller's Gateway API support (an internet-
facing ALB per serving cluster) with an ACM certificate.

The controller comes from its upstream chart, pinned, with the upstream IAM policy (vendored
unchanged in ``data/aws-load-balancer-controller-iam-policy.json``) on an EKS Pod Identity role.
It reconciles only once the Gateway API CRDs exist (upstream's standard-channel release, the one
the controller is built for) and picks up its own Gateway CRDs from the chart.

The ALB sends straight to pod IPs (target type ``ip``) from the public subnets, which is what the
serving NetworkPolicy admits, and health-checks vLLM's ``/health``. Its HTTPS listener takes the
ACM certificate for ``<region>.<domain>`` and ``<domain>`` with a TLS 1.2+ policy; no plain-HTTP
listener exists. The ALB's name is fixed, so once the Gateway reports its address (Pulumi waits
for it) its DNS name and zone are read by name: DNS records never race the controller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from llmfleet.components.aws.cluster import KUBERNETES_SYSTEM_NAMESPACE, AwsCluster
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.contracts import (
    CertificateRecord,
    DnsTarget,
    DnsZone,
    RegionalEntry,
    ServingCluster,
)
from llmfleet.components.k8s.gateway import BackendPolicy, GatewayObject
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.scheduling import SYSTEM_POOL, pool_node_selector
from llmfleet.components.k8s.serving import GRACE_SECONDS
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec, RegionSpec

LOAD_BALANCER_CONTROLLER = HelmChart(
    "aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0"
)
"""Chart 3.5.0 = controller v3.5.0: ALB Gateway API (HTTPRoute) support, built for Gateway API
v1.6."""

CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"

IAM_POLICY_FILE = (
    Path(__file__).parents[1] / "data" / "aws-load-balancer-controller-iam-policy.json"
)
"""Upstream ``docs/install/iam_policy.json`` of kubernetes-sigs/aws-load-balancer-controller at
v3.5.0, unchanged (Apache-2.0)."""

GATEWAY_API_CRDS = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml"
)
"""Gateway API standard channel, the release tests/schemas/gateway-api holds (EKS ships no
Gateway API CRDs; GKE installs its own)."""

GATEWAY_CLASS = "llmfleet-alb"
ALB_CONTROLLER = "gateway.k8s.aws/alb"
LB_API_VERSION = "gateway.k8s.aws/v1"
LB_CONFIGURATION = "llmfleet-alb"
TARGET_GROUPS = "llmfleet-backends"

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 with forward-secret ciphers only (ALB's recommended policy)."""

IDLE_TIMEOUT_SECONDS = 600
"""A whole non-streamed generation must fit in one idle period (the ALB default is 60 s)."""

ALB_NAME_MAX = 32


def controller_policy() -> str:
    """The controller's IAM policy: upstream's, as published."""
    return json.dumps(json.loads(IAM_POLICY_FILE.read_text()))


def alb_name(fleet: FleetSpec, region: RegionSpec) -> str:
    """The ALB's fixed name (ELB names are unique per account and region, 32 characters)."""
    return fit_name(f"{fleet.name}-{region.region}", ALB_NAME_MAX)


class AwsEdge(AwsComponent):
    """The fleet's AWS regional entries. Every certificate of one account proves control of a
    name with the same ACM record, so the global name's record is made once, from the first
    entry's certificate, and the others wait for it."""

    def __init__(
        self, name: str, fleet: FleetSpec, zone: DnsZone, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:aws:Edge", name, fleet.labels(), opts)
        self._name = name
        self.fleet = fleet
        self.zone = zone
        self._global_record: pulumi.Resource | None = None
        self.register_outputs({})

    def global_record(self, record: CertificateRecord) -> pulumi.Resource:
        """The ACM validation record of ``<domain>``, made from the first certificate asking."""
        if self._global_record is None:
            self._global_record = self.zone.validation_record(
                f"{self._name}-global-validation", record
            )
        return self._global_record

    def entry(
        self, name: str, region: RegionSpec, cluster: ServingCluster, opts: pulumi.ResourceOptions
    ) -> RegionalEntry:
        if not isinstance(cluster, AwsCluster):
            raise TypeError(f"{region.key}: an AWS regional entry needs an EKS cluster")
        return AwsEntry(name, self, region, cluster, opts)


class AwsEntry(AwsComponent):
    """One EKS cluster's entry: the load balancer controller, its certificate and the Gateway's
    settings."""

    controller: kubernetes.helm.v3.Release
    certificate: aws.acm.Certificate
    validation: aws.acm.CertificateValidation

    gateway_class = GATEWAY_CLASS
    class_controller = ALB_CONTROLLER
    addresses: tuple = ()
    annotations: dict = {}
    backend_policies: tuple[BackendPolicy, ...]

    def __init__(
        self,
        name: str,
        edge: AwsEdge,
        region: RegionSpec,
        cluster: AwsCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:RegionalEntry", name, edge.fleet.labels(), opts)
        self._name = name
        self._region = region.region
        self._alb_name = alb_name(edge.fleet, region)
        self.controller = self._controller(cluster)
        self.certificate, self.validation = self._certificate(
            edge, edge.fleet.routing.hostnames(region.region)
        )
        self.infrastructure = {
            "parametersRef": {
                "group": LB_API_VERSION.split("/")[0],
                "kind": "LoadBalancerConfiguration",
                "name": LB_CONFIGURATION,
            }
        }
        self.objects = (
            GatewayObject(
                LB_API_VERSION, "TargetGroupConfiguration", TARGET_GROUPS, _target_groups()
            ),
            GatewayObject(
                LB_API_VERSION,
                "LoadBalancerConfiguration",
                LB_CONFIGURATION,
                self.validation.certificate_arn.apply(self._load_balancer),
            ),
        )
        self.backend_policies = (HEALTH_CHECK,)
        # The controller reconciles the Gateway; the listener needs an issued certificate.
        self.ready = [self.controller, self.validation]
        self.register_outputs(
            {"certificate_arn": self.certificate.arn, "load_balancer": self._alb_name}
        )

    def _controller(self, cluster: AwsCluster) -> kubernetes.helm.v3.Release:
        cluster.service_account_role(
            "load-balancer-controller",
            KUBERNETES_SYSTEM_NAMESPACE,
            CONTROLLER_SERVICE_ACCOUNT,
            policy_json=controller_policy(),
        )
        identity = cluster.pod_identity_associations[
            f"{KUBERNETES_SYSTEM_NAMESPACE}/{CONTROLLER_SERVICE_ACCOUNT}"
        ]
        k8s = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        crds = kubernetes.yaml.v2.ConfigFile(
            f"{self._name}-gateway-api-crds", file=GATEWAY_API_CRDS, opts=k8s
        )
        return helm_release(
            f"{self._name}-load-balancer-controller",
            LOAD_BALANCER_CONTROLLER,
            {
                "clusterName": cluster.cluster_name,
                "region": self._region,
                "vpcId": cluster.vpc_id,
                "serviceAccount": {"create": True, "name": CONTROLLER_SERVICE_ACCOUNT},
                "replicaCount": 2,
                "podDisruptionBudget": {"maxUnavailable": 1},
                "nodeSelector": {"kubernetes.io/os": "linux", **pool_node_selector(SYSTEM_POOL)},
                # Gateways only: Services of type LoadBalancer keep their default handling.
                "enableServiceMutatorWebhook": False,
                "createIngressClassResource": False,
                "controllerConfig": {
                    "featureGates": {"ALBGatewayAPI": True, "NLBGatewayAPI": False}
                },
            },
            KUBERNETES_SYSTEM_NAMESPACE,
            # The controller detects Gateway API CRDs at start: they come first.
            pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[crds, identity])),
        )

    def _certificate(
        self, edge: AwsEdge, hostnames: list[str]
    ) -> tuple[aws.acm.Certificate, aws.acm.CertificateValidation]:
        regional, global_name = hostnames
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            domain_name=regional,
            subject_alternative_names=[global_name],
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            region=self._region,
            tags=self._tags(f"{self._name}-certificate"),
            opts=self._child(),
        )
        records = [
            edge.zone.validation_record(
                f"{self._name}-validation", _validation(certificate, regional)
            ),
            edge.global_record(_validation(certificate, global_name)),
        ]
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate",
            certificate_arn=certificate.arn,
            region=self._region,
            opts=self._child(depends_on=records),
        )
        return certificate, validation

    def _load_balancer(self, certificate_arn: str) -> dict[str, Any]:
        return {
            "loadBalancerName": self._alb_name,
            "scheme": "internet-facing",
            "listenerConfigurations": [
                {
                    "protocolPort": "HTTPS:443",
                    "defaultCertificate": certificate_arn,
                    "sslPolicy": TLS_POLICY,
                }
            ],
            "loadBalancerAttributes": [
                {"key": "idle_timeout.timeout_seconds", "value": str(IDLE_TIMEOUT_SECONDS)},
                {"key": "routing.http.drop_invalid_header_fields.enabled", "value": "true"},
            ],
            "defaultTargetGroupConfiguration": {"name": TARGET_GROUPS},
        }

    def dns_target(self, gateway: pulumi.Resource) -> DnsTarget:
        # Read once the Gateway has its address: the ALB exists by then.
        alb = aws.lb.get_load_balancer_output(
            name=self._alb_name,
            region=self._region,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[gateway]),
        )
        return DnsTarget(region=self._region, alias_name=alb.dns_name, alias_zone_id=alb.zone_id)


def _validation(certificate: aws.acm.Certificate, domain: str) -> CertificateRecord:
    option = certificate.domain_validation_options.apply(
        lambda options: next(o for o in options if o.domain_name == domain)
    )
    return CertificateRecord(
        name=option.apply(lambda o: o.resource_record_name),
        type=option.apply(lambda o: o.resource_record_type),
        value=option.apply(lambda o: o.resource_record_value),
    )


def _target_groups() -> dict[str, Any]:
    """Every backend of the Gateway: pod IPs, with in-flight requests drained for as long as
    the pods' termination grace."""
    return {
        "defaultConfiguration": {
            "targetType": "ip",
            "targetGroupAttributes": [
                {"key": "deregistration_delay.timeout_seconds", "value": str(GRACE_SECONDS)}
            ],
        }
    }


HEALTH_CHECK = BackendPolicy(
    api_version=LB_API_VERSION,
    kind="TargetGroupConfiguration",
    spec=lambda backend: {
        "targetReference": {"kind": "Service", "name": backend.name},
        # Only the check differs per Service; target type and draining come from the
        # Gateway's default configuration.
        "defaultConfiguration": {
            "healthCheckConfig": {
                "healthCheckPath": backend.health_path,
                "healthCheckPort": str(backend.health_port),
                "healthCheckProtocol": "HTTP",
                "healthCheckInterval": 10,
                "healthCheckTimeout": 5,
                "healthyThresholdCount": 2,
                "unhealthyThresholdCount": 3,
                "matcher": {"httpCode": "200"},
            }
        },
    },
)
"""The ALB checks each Service's pods on their health endpoint (vLLM's /health, or a wake-up
proxy's readiness)."""
