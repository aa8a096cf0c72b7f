"""Cloud Monitoring alerting for a fleet's GKE regions: one notification channel and one
PromQL alert policy per alert.

Google Managed Service for Prometheus keeps every GKE cluster's metrics in the project, so Cloud
Monitoring evaluates the fleet's Prometheus rules (llmfleet/components/observability.py) as alert
policies, each one condition, over all of them. Policies are project-wide; each selects its
cluster by the ``cluster`` label.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.gcp.cluster import cluster_name
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import MONITORING, RESOURCE_MANAGER
from llmfleet.components.observability import EVALUATION_SECONDS, Alert, alerts
from llmfleet.components.spec import FleetSpec, NotifySpec, RegionSpec

CHANNEL_TYPES = {"email": ("email", "email_address"), "pubsub_topic": ("pubsub", "topic")}
"""Channel kinds Cloud Monitoring takes with a plain label: kind -> (type, label)."""

WEBHOOK = "webhook_tokenauth"
PUBLISHER_ROLE = "roles/pubsub.publisher"
SEVERITY = {"page": "CRITICAL", "ticket": "WARNING"}
AUTO_CLOSE = "1800s"
"""An incident whose condition has had no data for half an hour closes by itself."""


def notification_agent(project_number: str) -> str:
    """Cloud Monitoring's notification service agent, which publishes to Pub/Sub channels."""
    return (
        f"serviceAccount:service-{project_number}"
        "@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
    )


class GcpMonitoring(GcpComponent):
    """The fleet's alert policies on GCP and the channel they notify."""

    APIS = (MONITORING, RESOURCE_MANAGER)

    alerts: list[Alert]
    """Every alert built, one policy each."""
    channel: gcp.monitoring.NotificationChannel | None
    policies: dict[str, gcp.monitoring.AlertPolicy]
    """Alert policies by ``<region>/<alert key>``."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        regions: list[RegionSpec],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:Monitoring", name, fleet.gcp_project, opts)
        self._name = name
        self._fleet = fleet
        self._project = fleet.gcp_project
        notify = fleet.observability.notify
        self.channel = self._channel(notify) if notify is not None else None
        channels = [self.channel.id] if self.channel is not None else []
        self.alerts = [a for r in regions for a in alerts(fleet, r, cluster_name(fleet, r))]
        self.policies = {
            f"{a.region.region}/{a.key}": self._policy(a, channels) for a in self.alerts
        }
        self.register_outputs(
            {"channel": self.channel.id if self.channel else None, "policies": len(self.alerts)}
        )

    def _channel(self, notify: NotifySpec) -> gcp.monitoring.NotificationChannel | None:
        if notify.kind == "sns_topic_arn":
            return None  # the spec refuses it for fleets with GCP regions
        if notify.kind == "webhook":
            kind, labels = WEBHOOK, {"url": notify.target}
        else:
            kind, label = CHANNEL_TYPES[notify.kind]
            labels = {label: notify.target}
        after = []
        if notify.kind == "pubsub_topic":
            after.append(self._let_monitoring_publish(notify.target))
        return gcp.monitoring.NotificationChannel(
            f"{self._name}-channel",
            project=self._project,
            type=kind,
            display_name=f"{self._fleet.name} alerts ({notify.kind})",
            labels=labels,
            user_labels=self._fleet.labels(),
            opts=self._child(depends_on=after),
        )

    def _let_monitoring_publish(self, topic: str) -> gcp.pubsub.TopicIAMMember:
        """Cloud Monitoring publishes through its notification agent, which needs the
        publisher role on the (existing) topic."""
        number = gcp.organizations.get_project_output(
            project_id=self._project, opts=self._invoke()
        ).number
        project, _, name = topic.removeprefix("projects/").partition("/topics/")
        return gcp.pubsub.TopicIAMMember(
            f"{self._name}-channel-publisher",
            project=project,
            topic=name,
            role=PUBLISHER_ROLE,
            member=number.apply(notification_agent),
            opts=self._child(),
        )

    def _policy(
        self, alert: Alert, channels: list[pulumi.Output[str]]
    ) -> gcp.monitoring.AlertPolicy:
        return gcp.monitoring.AlertPolicy(
            f"{self._name}-{alert.region.key}-{alert.key}",
            project=self._project,
            display_name=alert.title,
            combiner="OR",
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(
                    display_name=alert.summary,
                    condition_prometheus_query_language=(
                        gcp.monitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                            query=alert.expr,
                            duration=f"{alert.for_seconds}s",
                            evaluation_interval=f"{EVALUATION_SECONDS}s",
                            alert_rule=alert.key.replace("-", "_"),
                            rule_group=f"{self._fleet.name}-{alert.region.region}",
                            labels=alert.rule()["labels"],
                            # Serving metrics appear only once a server has run: the policy
                            # exists before them.
                            disable_metric_validation=True,
                        )
                    ),
                )
            ],
            severity=SEVERITY[alert.severity],
            notification_channels=channels,
            alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close=AUTO_CLOSE),
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                content=alert.summary, mime_type="text/markdown"
            ),
            user_labels=self._fleet.labels(),
            opts=self._child(),
        )
