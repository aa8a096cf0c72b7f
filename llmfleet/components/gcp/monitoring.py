"""Cloud Monitoring for a fleet's GKE regions: one notification channel, one PromQL alert policy
per alert, uptime checks of the fleet's endpoints, dashboards (a fleet view and one per serving
entry, the charts of llmfleet/components/observability.py), and the log-based metric counting
spot preemptions of the fleet's GKE nodes (Compute Engine logs them as audit events; no managed
collector exports them).

Google Managed Service for Prometheus keeps every GKE cluster's metrics in the project, so Cloud
Monitoring evaluates the fleet's Prometheus rules (llmfleet/components/observability.py) as alert
policies, each one condition, over all of them. Policies are project-wide; each selects its
cluster by the ``cluster`` label. Uptime checks probe any public URL, so a fleet with GCP regions
checks its AWS regions' endpoints here too.

Uptime checks send the fleet's API key: it is read from Secret Manager when the program runs
(the secret of the fleet's first GKE region; every region's secret holds the same key, which
the global endpoint accepts in any region), kept a Pulumi secret in the state and masked by
Cloud Monitoring (``mask_headers``), and each check requests an API path that demands it. Until
the secret has a value (llmfleet creates it empty) the checks request ``/health`` without a key
and the program warns; the next ``pulumi up`` after the key is added switches them over.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from llmfleet.components.gcp.api_key import api_key_id
from llmfleet.components.gcp.cluster import cluster_name
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import (
    LOGGING,
    MONITORING,
    RESOURCE_MANAGER,
    SECRET_MANAGER,
)
from llmfleet.components.observability import (
    API_KEY_HEADER,
    EVALUATION_SECONDS,
    Alert,
    Endpoint,
    Panel,
    alerts,
    dashboards,
    gke_preemption_filter,
    gke_preemption_metric,
    uptime_threshold,
)
from llmfleet.components.spec import FleetSpec, NotifySpec, RegionSpec

CHANNEL_TYPES = {"email": ("email", "email_address"), "pubsub_topic": ("pubsub", "topic")}
"""Channel kinds Cloud Monitoring takes with a plain label: kind -> (type, label)."""

WEBHOOK = "webhook_tokenauth"
PUBLISHER_ROLE = "roles/pubsub.publisher"
SEVERITY = {"page": "CRITICAL", "ticket": "WARNING"}
AUTO_CLOSE = "1800s"
"""An incident whose condition has had no data for half an hour closes by itself."""
UPTIME_LOCATIONS = ("USA", "EUROPE", "ASIA_PACIFIC")
"""Where uptime checks probe from (Cloud Monitoring needs at least three)."""
UPTIME_PERIOD_SECONDS = 60


def notification_agent(project_number: str) -> str:
    """Cloud Monitoring's notification service agent, which publishes to Pub/Sub channels."""
    return (
        f"serviceAccount:service-{project_number}"
        "@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
    )


class GcpMonitoring(GcpComponent):
    """The fleet's alert policies on GCP and the channel they notify."""

    APIS = (MONITORING, LOGGING, SECRET_MANAGER, RESOURCE_MANAGER)

    alerts: list[Alert]
    """Every alert built, one policy each."""
    channel: gcp.monitoring.NotificationChannel | None
    policies: dict[str, gcp.monitoring.AlertPolicy]
    """Alert policies by ``<region>/<alert key>``."""
    uptime_checks: dict[str, gcp.monitoring.UptimeCheckConfig]
    """Uptime checks by endpoint scope (``global`` or a region)."""
    dashboards: dict[str, gcp.monitoring.Dashboard]
    """The fleet view (``fleet``) and one per serving entry with GKE regions, by name."""
    preemptions: gcp.logging.Metric
    """Counts preemptions of the fleet's GKE nodes; the spot-interruption alerts and chart read
    it."""

    def __init__(
        self,
        name: str,
        fleet: FleetSpec,
        regions: list[RegionSpec],
        endpoints: Sequence[Endpoint] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmfleet:gcp:Monitoring", name, fleet.gcp_project, opts)
        self._name = name
        self._fleet = fleet
        self._project = fleet.gcp_project
        notify = fleet.observability.notify
        self.channel = self._channel(notify) if notify is not None else None
        channels = [self.channel.id] if self.channel is not None else []
        self.preemptions = gcp.logging.Metric(
            f"{name}-spot-preemptions",
            project=self._project,
            name=gke_preemption_metric(fleet),
            description=f"Spot preemptions of the GKE nodes of {fleet.name}",
            filter=gke_preemption_filter(fleet),
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                metric_kind="DELTA", value_type="INT64", unit="1"
            ),
            opts=self._child(),
        )
        self.alerts = [a for r in regions for a in alerts(fleet, r, cluster_name(fleet, r))]
        self.policies = {
            f"{a.region.region}/{a.key}": self._policy(a, channels) for a in self.alerts
        }
        api_key = self._api_key(regions) if any(e.api_path for e in endpoints) else None
        self.uptime_checks = {e.scope: self._uptime(e, channels, api_key) for e in endpoints}
        self._dashboards(regions, endpoints)
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

    def _api_key(self, regions: list[RegionSpec]) -> pulumi.Output[str] | None:
        """The fleet's API key from Secret Manager, as a Pulumi secret; None (with a warning)
        while it cannot be read: the secret has no value yet, or does not exist yet."""
        secret = api_key_id(self._fleet, regions[0])
        try:
            found = gcp.secretmanager.get_secret_version_access(
                project=self._project, secret=secret, opts=pulumi.InvokeOptions(parent=self)
            )
        except Exception as error:  # the invoke reports every failure as a plain Exception
            reason = str(error)
        else:
            if found.secret_data:
                return pulumi.Output.secret(found.secret_data)
            reason = "the secret has no value"
        pulumi.log.warn(
            f"uptime checks of {self._fleet.name} probe /health without the API key: secret "
            f"{secret} of project {self._project} cannot be read yet ({reason}); add its value "
            "and run `pulumi up` again",
            resource=self,
        )
        return None

    def _uptime(
        self,
        endpoint: Endpoint,
        channels: list[pulumi.Output[str]],
        api_key: pulumi.Output[str] | None,
    ) -> gcp.monitoring.UptimeCheckConfig:
        """An uptime check of ``endpoint`` from several continents (an API request with the
        key when there is one) and the policy paging when it fails from more than one location
        for ``health_check_minutes``."""
        fleet = self._fleet
        name = f"{self._name}-uptime-{endpoint.scope}"
        path, headers = endpoint.path, None
        if api_key is not None and endpoint.api_path:
            path = endpoint.api_path
            headers = {API_KEY_HEADER: api_key.apply(lambda key: f"Bearer {key}")}
        check = gcp.monitoring.UptimeCheckConfig(
            name,
            project=self._project,
            display_name=f"{fleet.name} {endpoint.scope} {endpoint.host}",
            period=f"{UPTIME_PERIOD_SECONDS}s",
            timeout="10s",
            selected_regions=list(UPTIME_LOCATIONS),
            checker_type="STATIC_IP_CHECKERS",
            http_check=(
                gcp.monitoring.UptimeCheckConfigHttpCheckArgs(
                    path=path,
                    port=443,
                    use_ssl=True,
                    validate_ssl=True,
                    request_method="GET",
                    headers=headers,
                    # Cloud Monitoring shows masked headers as ******.
                    mask_headers=True if headers else None,
                )
                if path
                else None
            ),
            tcp_check=None if path else gcp.monitoring.UptimeCheckConfigTcpCheckArgs(port=443),
            monitored_resource=gcp.monitoring.UptimeCheckConfigMonitoredResourceArgs(
                type="uptime_url", labels={"host": endpoint.host, "project_id": self._project}
            ),
            user_labels=fleet.labels(),
            opts=self._child(),
        )
        minutes = fleet.observability.health_check_minutes
        gcp.monitoring.AlertPolicy(
            name,
            project=self._project,
            display_name=f"{fleet.name} {endpoint.scope}: endpoint-down",
            combiner="OR",
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(
                    display_name=f"{endpoint.host}{path or ':443'} fails",
                    condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                        filter=check.uptime_check_id.apply(
                            lambda check_id: (
                                'metric.type="monitoring.googleapis.com/uptime_check/check_passed"'
                                ' AND resource.type="uptime_url"'
                                f' AND metric.label.check_id="{check_id}"'
                            )
                        ),
                        comparison="COMPARISON_GT",
                        # More than one location failing: one probe's network hiccup is not an
                        # outage.
                        threshold_value=1,
                        duration=f"{minutes * 60}s",
                        aggregations=[
                            gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                                alignment_period=f"{UPTIME_PERIOD_SECONDS}s",
                                per_series_aligner="ALIGN_NEXT_OLDER",
                                cross_series_reducer="REDUCE_COUNT_FALSE",
                                group_by_fields=["resource.label.host"],
                            )
                        ],
                        trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(
                            count=1
                        ),
                    ),
                )
            ],
            severity=SEVERITY["page"],
            notification_channels=channels,
            alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close=AUTO_CLOSE),
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                content=f"{endpoint.host} fails its uptime check ({uptime_threshold(fleet)})",
                mime_type="text/markdown",
            ),
            user_labels=fleet.labels(),
            opts=self._child(),
        )
        return check

    def _dashboards(self, regions: list[RegionSpec], endpoints: Sequence[Endpoint]) -> None:
        """A fleet view and one dashboard per serving entry with GKE regions, PromQL over the
        project's managed Prometheus."""
        clusters = {r.region: cluster_name(self._fleet, r) for r in regions}
        uptime = [_uptime_widget()] if endpoints else []
        self.dashboards = {
            key: self._dashboard(
                key, board.title, board.panels, extra=uptime if key == "fleet" else ()
            )
            for key, board in dashboards(self._fleet, {"gcp": clusters}).items()
        }

    def _dashboard(
        self, key: str, title: str, panels: list[Panel], extra: Sequence[dict] = ()
    ) -> gcp.monitoring.Dashboard:
        widgets = [_chart(panel) for panel in panels] + list(extra)
        tiles = [
            {
                "xPos": (i % 2) * TILE_WIDTH,
                "yPos": (i // 2) * TILE_HEIGHT,
                "width": TILE_WIDTH,
                "height": TILE_HEIGHT,
                "widget": widget,
            }
            for i, widget in enumerate(widgets)
        ]
        layout = {"displayName": title, "mosaicLayout": {"columns": 2 * TILE_WIDTH, "tiles": tiles}}
        return gcp.monitoring.Dashboard(
            f"{self._name}-dashboard-{key}",
            project=self._project,
            dashboard_json=json.dumps(layout, sort_keys=True),
            opts=self._child(),
        )


TILE_WIDTH = 24
"""Half of the dashboard grid's 48 columns: two charts per row."""
TILE_HEIGHT = 16


def _chart(panel: Panel) -> dict:
    """A Cloud Monitoring line chart of a panel's PromQL queries."""
    return {
        "title": panel.title,
        "xyChart": {
            "dataSets": [
                {
                    "timeSeriesQuery": {
                        "prometheusQuery": query,
                        **({"unitOverride": panel.unit} if panel.unit else {}),
                    },
                    "plotType": "LINE",
                }
                for query in panel.queries
            ],
            "yAxis": {"scale": "LINEAR", "label": panel.unit},
        },
    }


def _uptime_widget() -> dict:
    """Share of uptime checks passing per endpoint (regional health)."""
    return {
        "title": "endpoints: share of uptime checks passing",
        "xyChart": {
            "dataSets": [
                {
                    "timeSeriesQuery": {
                        "timeSeriesFilter": {
                            "filter": 'metric.type="monitoring.googleapis.com/uptime_check/'
                            'check_passed" resource.type="uptime_url"',
                            "aggregation": {
                                "alignmentPeriod": "60s",
                                "perSeriesAligner": "ALIGN_FRACTION_TRUE",
                                "crossSeriesReducer": "REDUCE_MEAN",
                                "groupByFields": ["resource.label.host"],
                            },
                        }
                    },
                    "plotType": "LINE",
                }
            ],
            "yAxis": {"scale": "LINEAR", "label": "1"},
        },
    }
