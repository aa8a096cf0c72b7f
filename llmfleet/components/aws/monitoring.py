"""Amazon Managed Service for Prometheus for an EKS region: collection, KEDA's queries, alerts.

Each region gets a workspace encrypted with its own customer key and an AWS managed collector
(agentless scraper) on the cluster, which scrapes the model servers, DCGM exporter and
kube-state-metrics once; KEDA reads the autoscaling signals from the same workspace (SigV4,
through EKS Pod Identity), so no Prometheus server runs in the cluster. The fleet's alerts
(llmfleet/components/observability.py) are the workspace's rule group, and its Alertmanager
sends them to an SNS topic: the stack file's own, or one the fleet creates, encrypted with the
region's key, with the stack file's email or webhook subscribed.

The collector reaches pods from network interfaces in the cluster's private subnets and reads
the Kubernetes API as the user ``aps-collector-user``: AMP creates its EKS access entry, the
ClusterRole here grants discovery and ``/metrics`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
import yaml

from llmfleet.components.aws import iam
from llmfleet.components.aws.cluster import KEY_DELETION_WINDOW_DAYS, AwsCluster
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.aws.karpenter import (
    KARPENTER_METRICS_PORT,
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE,
)
from llmfleet.components.k8s import kube_state_metrics
from llmfleet.components.k8s.autoscaling import (
    KEDA_NAMESPACE,
    KEDA_OPERATOR,
    POLLING_SECONDS,
    MetricsSource,
)
from llmfleet.components.k8s.nvidia import NVIDIA_NAMESPACE
from llmfleet.components.observability import (
    Alert,
    alerts,
    rule_groups,
    uptime_threshold,
)
from llmfleet.components.spec import UPTIME_ALARM_REGION, FleetSpec, RegionSpec

COLLECTOR_USER = "aps-collector-user"
"""The Kubernetes user AMP's managed collector acts as (its EKS access entry's username)."""

AMP_SERVICE = "aps.amazonaws.com"
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"

QUERY_ACTIONS = ("aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata")
"""What KEDA's operator may do with the workspace: read, nothing else."""


def scrape_configuration(cluster: str) -> str:
    """The collector's Prometheus configuration: model servers (the pods' ``http`` port),
    DCGM exporter, kube-state-metrics and Karpenter's controller (nodes by capacity type, spot
    interruptions), each series labelled with the cluster's name."""
    cluster_label = {"target_label": "cluster", "replacement": cluster}

    def pods(namespace_label: bool) -> list[dict[str, Any]]:
        labels = [cluster_label]
        if namespace_label:
            labels += [
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ]
        return labels

    def keep(label: str, regex: str) -> dict[str, Any]:
        return {"source_labels": [label], "action": "keep", "regex": regex}

    document = {
        "global": {"scrape_interval": f"{POLLING_SECONDS}s"},
        "scrape_configs": [
            {
                "job_name": "vllm",
                "kubernetes_sd_configs": [{"role": "pod"}],
                "relabel_configs": [
                    keep("__meta_kubernetes_pod_label_app_kubernetes_io_name", "vllm"),
                    keep("__meta_kubernetes_pod_container_port_name", "http"),
                    *pods(namespace_label=True),
                ],
            },
            {
                # The exporter labels each GPU with the pod holding it: keep its labels.
                "job_name": "dcgm-exporter",
                "honor_labels": True,
                "kubernetes_sd_configs": [
                    {"role": "pod", "namespaces": {"names": [NVIDIA_NAMESPACE]}}
                ],
                "relabel_configs": [
                    keep("__meta_kubernetes_pod_container_port_name", "metrics"),
                    {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
                    *pods(namespace_label=False),
                ],
            },
            {
                "job_name": "kube-state-metrics",
                "honor_labels": True,
                "kubernetes_sd_configs": [
                    {"role": "endpoints", "namespaces": {"names": [kube_state_metrics.NAMESPACE]}}
                ],
                "relabel_configs": [
                    keep(
                        "__meta_kubernetes_service_name", kube_state_metrics.KUBE_STATE_METRICS.name
                    ),
                    keep("__meta_kubernetes_endpoint_port_name", kube_state_metrics.PORT),
                    *pods(namespace_label=False),
                ],
            },
            {
                # Both replicas are scraped; only the leader's controllers export node and
                # interruption series.
                "job_name": "karpenter",
                "kubernetes_sd_configs": [
                    {"role": "endpoints", "namespaces": {"names": [KARPENTER_NAMESPACE]}}
                ],
                "relabel_configs": [
                    keep("__meta_kubernetes_service_name", KARPENTER_SERVICE),
                    keep("__meta_kubernetes_endpoint_port_name", KARPENTER_METRICS_PORT),
                    *pods(namespace_label=False),
                ],
            },
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)


def key_policy(partition: str, account_id: str, publisher: str) -> str:
    """A monitoring key: the account administers it (AMP encrypts its workspace through grants
    it makes as the deploying principal, which IAM allows); ``publisher`` (AMP's Alertmanager,
    or CloudWatch alarms) publishes to the topic it encrypts."""
    return iam.policy_document(
        iam.account_root_admin_statement(partition, account_id),
        {
            "Sid": "PublishToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": publisher},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def alert_key(
    component: AwsComponent,
    name: str,
    description: str,
    partition: pulumi.Input[str],
    account_id: pulumi.Input[str],
    publisher: str,
    region: str,
    protect: bool,
) -> aws.kms.Key:
    """A rotating customer key (``key_policy``) for what ``publisher`` publishes to an alert
    topic and the data it sits beside."""
    return aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=pulumi.Output.all(partition, account_id).apply(
            lambda v: key_policy(v[0], v[1], publisher)
        ),
        region=region,
        tags=component._tags(name),
        opts=component._child(protect=protect),
    )


def query_policy(workspace_arn: str) -> str:
    """KEDA's operator: query the region's workspace only."""
    return iam.policy_document(
        {"Effect": "Allow", "Action": list(QUERY_ACTIONS), "Resource": workspace_arn}
    )


def topic_policy(topic_arn: str, account_id: str, publisher: str, source_arn: str) -> str:
    """Only ``publisher`` acting for ``source_arn`` (the region's workspace, or the fleet's
    alarms) publishes to an alert topic."""
    return iam.policy_document(
        {
            "Sid": "AlertsPublish",
            "Effect": "Allow",
            "Principal": {"Service": publisher},
            "Action": ["sns:Publish", "sns:GetTopicAttributes"],
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        }
    )


def alertmanager_definition(topic_arn: str) -> str:
    """AMP's Alertmanager configuration: every alert to the SNS topic, grouped per alert and
    region, repeated every four hours while it fires."""
    config = {
        "route": {
            "receiver": "sns",
            "group_by": ["alertname", "region", "serving"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "sns",
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        # The topic's own region (a stack file's topic may live elsewhere).
                        "sigv4": {"region": topic_arn.split(":")[3]},
                        "subject": "{{ .CommonAnnotations.summary }}",
                        "attributes": {"severity": "{{ .CommonLabels.severity }}"},
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(
        {"alertmanager_config": yaml.safe_dump(config, sort_keys=False)}, sort_keys=False
    )


class AwsManagedMetrics(AwsComponent):
    """One region's AMP workspace, its managed collector on the EKS cluster and KEDA's access."""

    key: aws.kms.Key
    workspace: aws.amp.Workspace
    scraper: aws.amp.Scraper
    source: MetricsSource
    """The query endpoint and how KEDA authenticates (SigV4 as its Pod Identity role)."""
    identity: list[pulumi.Resource]
    """KEDA's Pod Identity association: its pods start after it."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        region: RegionSpec,
        cluster: AwsCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:ManagedMetrics", name, fleet.labels(), opts)
        self._name = name
        self.region = region
        cluster_name = cluster.cluster_name
        self.key = alert_key(
            self,
            f"{name}-key",
            f"AMP workspace and alert topic of EKS {cluster_name}",
            cluster.partition,
            cluster.account_id,
            AMP_SERVICE,
            region.region,
            fleet.protect,
        )
        self.workspace = aws.amp.Workspace(
            f"{name}-workspace",
            alias=cluster_name,
            kms_key_arn=self.key.arn,
            region=region.region,
            # The collector tags its destination; stating the tag keeps it from drifting.
            tags=self._tags(f"{name}-workspace", {"AMPAgentlessScraper": ""}),
            opts=self._child(protect=fleet.protect),
        )
        k8s = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        collector_access = self._collector_access(k8s)
        kube_state = self._kube_state_metrics(k8s)
        self.scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=cluster_name,
            source=aws.amp.ScraperSourceArgs(
                eks=aws.amp.ScraperSourceEksArgs(
                    cluster_arn=cluster.cluster.arn,
                    subnet_ids=cluster.cluster.vpc_config.subnet_ids,
                    security_group_ids=[cluster.cluster.vpc_config.cluster_security_group_id],
                )
            ),
            destination=aws.amp.ScraperDestinationArgs(
                amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=self.workspace.arn)
            ),
            scrape_configuration=scrape_configuration(cluster_name),
            region=region.region,
            tags=self._tags(f"{name}-scraper"),
            opts=self._child(depends_on=[*collector_access, kube_state]),
        )
        cluster.service_account_role(
            "keda-operator",
            KEDA_NAMESPACE,
            KEDA_OPERATOR,
            policy_json=self.workspace.arn.apply(query_policy),
        )
        self.identity = [cluster.pod_identity_associations[f"{KEDA_NAMESPACE}/{KEDA_OPERATOR}"]]
        self.source = MetricsSource(
            # KEDA appends /api/v1/query to the address.
            server_address=self.workspace.prometheus_endpoint.apply(lambda url: url.rstrip("/")),
            pod_identity="aws",
            metadata={"awsRegion": region.region},
        )
        self.register_outputs(
            {"workspace_arn": self.workspace.arn, "scraper_arn": self.scraper.arn}
        )

    def _collector_access(self, k8s: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What the collector may read in the cluster: discovery and /metrics, nothing else."""
        role = kubernetes.rbac.v1.ClusterRole(
            f"{self._name}-collector",
            metadata={"name": "aps-collector-role"},
            rules=[
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["get", "list", "watch"],
                },
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ],
            opts=k8s,
        )
        binding = kubernetes.rbac.v1.ClusterRoleBinding(
            f"{self._name}-collector",
            metadata={"name": "aps-collector-user-role-binding"},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "aps-collector-role",
            },
            subjects=[
                {"kind": "User", "name": COLLECTOR_USER, "apiGroup": "rbac.authorization.k8s.io"}
            ],
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=[role])),
        )
        return [role, binding]

    def _kube_state_metrics(self, k8s: pulumi.ResourceOptions) -> kubernetes.helm.v3.Release:
        # Only what the fleet's alerts and dashboards read.
        return kube_state_metrics.install_kube_state_metrics(
            self._name, ["pods", "deployments"], k8s
        )


class AwsAlerting(AwsComponent):
    """One region's alerts: the fleet's rules in the workspace and their route to SNS."""

    alerts: list[Alert]
    topic_arn: pulumi.Output[str] | None
    """Where notifications go; None: no channel (alerts only in the workspace)."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        metrics: AwsManagedMetrics,
        cluster_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:Alerting", name, fleet.labels(), opts)
        self._name = name
        region = metrics.region
        workspace = metrics.workspace
        self.alerts = alerts(fleet, region, cluster_name)
        aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            name=f"{fleet.name}-serving",
            workspace_id=workspace.id,
            data=rule_groups(f"{fleet.name}-{region.region}", self.alerts),
            region=region.region,
            tags=self._tags(f"{name}-rules"),
            opts=self._child(),
        )
        self.topic_arn = alert_topic(
            self,
            name,
            fleet,
            region.region,
            f"{fleet.name}-alerts",
            key_arn=metrics.key.arn,
            publisher=AMP_SERVICE,
            source_arn=workspace.arn,
        )
        if self.topic_arn is not None:
            aws.amp.AlertManagerDefinition(
                f"{name}-alertmanager",
                workspace_id=workspace.id,
                definition=self.topic_arn.apply(alertmanager_definition),
                region=region.region,
                opts=self._child(),
            )
        self.register_outputs({"topic_arn": self.topic_arn, "alerts": len(self.alerts)})


UPTIME_REGION = UPTIME_ALARM_REGION
"""Route 53 publishes health-check metrics only in us-east-1: the alarms and their topic live
there."""


def alert_topic(
    component: AwsComponent,
    name: str,
    fleet: FleetSpec,
    region: str,
    topic_name: str,
    *,
    key_arn: pulumi.Input[str],
    publisher: str,
    source_arn: pulumi.Input[str],
) -> pulumi.Output[str] | None:
    """Where a region's alerts go: the stack file's SNS topic, or a topic of the region's own,
    encrypted with ``key_arn``, that only ``publisher`` (a service, acting for ``source_arn``)
    may publish to, with the stack file's email or webhook subscribed. None without a channel."""
    notify = fleet.observability.notify
    if notify is None:
        return None
    if notify.kind == "sns_topic_arn":
        return pulumi.Output.from_input(notify.target)
    topic = aws.sns.Topic(
        f"{name}-topic",
        name=topic_name,
        kms_master_key_id=key_arn,
        region=region,
        tags=component._tags(f"{name}-topic"),
        opts=component._child(),
    )
    aws.sns.TopicPolicy(
        f"{name}-topic",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, source_arn).apply(
            lambda v: topic_policy(v[0], v[0].split(":")[4], publisher, v[1])
        ),
        region=region,
        opts=component._child(),
    )
    aws.sns.TopicSubscription(
        f"{name}-subscription",
        topic=topic.arn,
        protocol="email" if notify.kind == "email" else "https",
        endpoint=notify.target,
        region=region,
        opts=component._child(),
    )
    return topic.arn


class AwsDnsHealthAlarms(AwsComponent):
    """A CloudWatch alarm in us-east-1 on each region's Route 53 health check (the checks the
    global endpoint routes by), notifying the fleet's channel: the fleet's uptime alerts when no
    GCP region runs Cloud Monitoring uptime checks. The probes are the routing's own, so each
    name is probed once.

    Route 53 health checks send no request headers (a path, optionally a string to search the
    body for, nothing else), so they cannot present the fleet's API key: they probe vLLM's
    ``/health``, which needs none, and each serving region's Synthetics canary requests the API
    with the key (llmfleet/components/aws/canary.py). Fleets with a GCP region get Cloud
    Monitoring checks that send the key (llmfleet/components/gcp/monitoring.py)."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """By region."""
    topic_arn: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        health_checks: Mapping[str, aws.route53.HealthCheck],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:aws:DnsHealthAlarms", name, fleet.labels(), opts)
        self._name = name
        self._fleet = fleet
        account_id, partition = iam.caller_account(self)
        notify = fleet.observability.notify
        self.topic_arn = None
        if notify is not None:
            key_arn: pulumi.Input[str] = ""
            if notify.kind != "sns_topic_arn":
                key_arn = alert_key(
                    self,
                    f"{name}-key",
                    f"Uptime alert topic of {fleet.name}",
                    partition,
                    account_id,
                    CLOUDWATCH_SERVICE,
                    UPTIME_REGION,
                    fleet.protect,
                ).arn
            alarms = pulumi.Output.all(partition, account_id).apply(
                lambda v: f"arn:{v[0]}:cloudwatch:{UPTIME_REGION}:{v[1]}:alarm:{fleet.name}-*"
            )
            self.topic_arn = alert_topic(
                self,
                name,
                fleet,
                UPTIME_REGION,
                f"{fleet.name}-uptime-alerts",
                key_arn=key_arn,
                publisher=CLOUDWATCH_SERVICE,
                source_arn=alarms,
            )
        self.alarms = {
            region: self._alarm(region, check) for region, check in health_checks.items()
        }
        self.register_outputs({"topic_arn": self.topic_arn})

    def _alarm(self, region: str, check: aws.route53.HealthCheck) -> aws.cloudwatch.MetricAlarm:
        name = f"{self._name}-{region}"
        actions = [self.topic_arn] if self.topic_arn is not None else []
        return aws.cloudwatch.MetricAlarm(
            name,
            name=f"{self._fleet.name}-{region}-endpoint-down",
            alarm_description=(
                f"{region}.{self._fleet.routing.domain}: {uptime_threshold(self._fleet)} "
                "(Route 53 health check)"
            ),
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            dimensions={"HealthCheckId": check.id},
            statistic="Minimum",
            period=60,
            evaluation_periods=self._fleet.observability.health_check_minutes,
            comparison_operator="LessThanThreshold",
            threshold=1,
            # A check that reports nothing is not a healthy one.
            treat_missing_data="breaching",
            alarm_actions=actions,
            ok_actions=actions,
            region=UPTIME_REGION,
            tags=self._tags(name),
            opts=self._child(),
        )
