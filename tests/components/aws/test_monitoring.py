"""Amazon Managed Service for Prometheus on EKS: an encrypted workspace per region, the managed
collector on the cluster, KEDA's read-only access, the fleet's rules and their route to SNS."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import parse_fleet
from tests.components.k8s.test_serving import config
from tests.conftest import DEV_FLEET

WORKSPACE = "aws:amp/workspace:Workspace"
SCRAPER = "aws:amp/scraper:Scraper"
RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERTMANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KEY = "aws:kms/key:Key"


def in_region(rec, type_: str, region: str):
    return [r for r in rec.of_type(type_) if r.region == region]


@pytest.fixture(scope="module")
def prod(recorded):
    spec = parse_fleet(config())
    return recorded("prod", lambda: Fleet(spec.name, spec))


def aws_dev(notify: dict | None) -> dict:
    fleet = copy.deepcopy(DEV_FLEET)
    fleet["regions"][0]["cluster"] = {
        "gpu_pools": [{"name": "l4", "accelerator": "nvidia-l4", "max_nodes": 2}]
    }
    fleet["models"] = [
        {"name": "llama", "version": "v1", "source": "hf://meta/llama", "parameters_b": 8}
    ]
    fleet["serving"] = [{"name": "chat", "model": "llama", "version": "v1", "pool": "l4"}]
    if notify is not None:
        fleet["observability"] = {"notify": notify}
    return fleet


def test_each_region_has_an_encrypted_protected_workspace(prod):
    for region in ("us-east-1", "us-west-2"):
        (workspace,) = in_region(prod, WORKSPACE, region)
        key = next(k for k in in_region(prod, KEY, region) if k.urn in workspace.dependencies)
        assert workspace.inputs["kmsKeyArn"] == key.outputs["arn"]
        assert key.inputs["enableKeyRotation"] is True
        assert workspace.protect and key.protect  # prod keeps its metrics history
        assert workspace.inputs["alias"] == f"llm-prod-{region}"


def test_the_managed_collector_scrapes_the_cluster_once_with_its_name(prod):
    (scraper,) = in_region(prod, SCRAPER, "us-east-1")
    (cluster,) = in_region(prod, "aws:eks/cluster:Cluster", "us-east-1")
    (workspace,) = in_region(prod, WORKSPACE, "us-east-1")
    eks = scraper.inputs["source"]["eks"]
    assert eks["clusterArn"] == cluster.outputs["arn"]
    assert eks["subnetIds"] == cluster.inputs["vpcConfig"]["subnetIds"]
    assert eks["securityGroupIds"] == [cluster.outputs["vpcConfig"]["clusterSecurityGroupId"]]
    assert scraper.inputs["destination"]["amp"]["workspaceArn"] == workspace.outputs["arn"]
    config = yaml.safe_load(scraper.inputs["scrapeConfiguration"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"vllm", "dcgm-exporter", "kube-state-metrics", "karpenter"}
    for job in jobs.values():
        assert {"target_label": "cluster", "replacement": "llm-prod-us-east-1"} in job[
            "relabel_configs"
        ]
    # No in-cluster Prometheus server collects a second copy.
    charts = {
        r.inputs["chart"] for r in in_region(prod, "kubernetes:helm.sh/v3:Release", "us-east-1")
    }
    assert "prometheus" not in charts and "kube-state-metrics" in charts


def test_the_collector_scrapes_karpenters_metrics_port_for_capacity_signals(prod):
    (scraper,) = in_region(prod, SCRAPER, "us-east-1")
    config = yaml.safe_load(scraper.inputs["scrapeConfiguration"])
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "karpenter"]
    assert job["kubernetes_sd_configs"] == [
        {"role": "endpoints", "namespaces": {"names": ["kube-system"]}}
    ]
    keep = {
        r["source_labels"][0]: r["regex"]
        for r in job["relabel_configs"]
        if r.get("action") == "keep"
    }
    # The chart's Service (named after the release) and its metrics port.
    assert keep == {
        "__meta_kubernetes_service_name": "karpenter",
        "__meta_kubernetes_endpoint_port_name": "http-metrics",
    }
    (release,) = [
        r
        for r in in_region(prod, "kubernetes:helm.sh/v3:Release", "us-east-1")
        if r.inputs["chart"].endswith("/karpenter")
    ]
    assert release.inputs["name"] == "karpenter"
    assert release.inputs["namespace"] == "kube-system"


def test_the_collector_reads_discovery_and_metrics_only(prod):
    roles = [
        r
        for r in prod.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        if r.region == "us-east-1" and r.inputs["metadata"]["name"] == "aps-collector-role"
    ]
    (role,) = roles
    resources = {res for rule in role.inputs["rules"] for res in rule.get("resources", [])}
    assert "secrets" not in resources and "configmaps" not in resources
    verbs = {v for rule in role.inputs["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    (binding,) = [
        r
        for r in prod.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
        if r.region == "us-east-1" and r.inputs["roleRef"]["name"] == "aps-collector-role"
    ]
    assert binding.inputs["subjects"] == [
        {"kind": "User", "name": "aps-collector-user", "apiGroup": "rbac.authorization.k8s.io"}
    ]


def test_keda_may_only_query_its_region_workspace(prod):
    (workspace,) = in_region(prod, WORKSPACE, "us-west-2")
    (policy,) = [
        r
        for r in prod.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == "llm-prod-aws-us-west-2-cluster-keda-operator"
    ]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Resource"] == workspace.outputs["arn"]
    assert all(action.startswith("aps:") for action in statement["Action"])
    assert "aps:RemoteWrite" not in statement["Action"]


def test_rules_and_alertmanager_route_to_an_encrypted_topic_with_the_email(prod):
    (workspace,) = in_region(prod, WORKSPACE, "us-east-1")
    (rules,) = in_region(prod, RULES, "us-east-1")
    assert rules.inputs["workspaceId"] == workspace.outputs["id"]
    assert yaml.safe_load(rules.inputs["data"])["groups"][0]["rules"]
    (topic,) = in_region(prod, TOPIC, "us-east-1")
    key = next(k for k in in_region(prod, KEY, "us-east-1") if k.urn in workspace.dependencies)
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    (subscription,) = in_region(prod, SUBSCRIPTION, "us-east-1")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "oncall-ml@example.com",
    )
    (definition,) = in_region(prod, ALERTMANAGER, "us-east-1")
    config = yaml.safe_load(yaml.safe_load(definition.inputs["definition"])["alertmanager_config"])
    (receiver,) = config["receivers"]
    assert receiver["sns_configs"][0]["topic_arn"] == topic.outputs["arn"]
    assert receiver["sns_configs"][0]["sigv4"] == {"region": "us-east-1"}
    (policy,) = in_region(prod, TOPIC_POLICY, "us-east-1")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "aps.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == workspace.outputs["arn"]


def test_the_monitoring_key_lets_alertmanager_publish_encrypted(prod):
    (workspace,) = in_region(prod, WORKSPACE, "us-east-1")
    key = next(k for k in in_region(prod, KEY, "us-east-1") if k.urn in workspace.dependencies)
    statements = json.loads(key.inputs["policy"])["Statement"]
    (aps,) = [s for s in statements if s.get("Principal") == {"Service": "aps.amazonaws.com"}]
    assert set(aps["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_an_existing_sns_topic_is_used_as_it_is(run):
    topic = "arn:aws:sns:us-east-1:123456789012:llm-paging"
    spec = parse_fleet(aws_dev({"sns_topic_arn": topic}))
    rec = run(lambda: Fleet(spec.name, spec))
    assert rec.of_type(TOPIC) == [] and rec.of_type(SUBSCRIPTION) == []
    (definition,) = rec.of_type(ALERTMANAGER)
    assert topic in definition.inputs["definition"]


def test_without_a_channel_rules_still_evaluate_but_route_nowhere(run):
    spec = parse_fleet(aws_dev(None))
    rec = run(lambda: Fleet(spec.name, spec))
    assert len(rec.of_type(RULES)) == 1
    assert rec.of_type(ALERTMANAGER) == [] and rec.of_type(TOPIC) == []


# --- uptime alarms of an AWS-only fleet -------------------------------------------------------

HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def routed(recorded):
    config = aws_dev({"email": "oncall@example.com"})
    config["regions"].append({"cloud": "aws", "region": "us-west-2", "cidr": "10.11.0.0/16"})
    config["regions"][1]["cluster"] = config["regions"][0]["cluster"]
    config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABCDEFGHIJ"}
    spec = parse_fleet(config)
    return recorded("routed", lambda: Fleet(spec.name, spec)), spec


def test_each_regions_route53_check_pages_through_a_us_east_1_alarm(routed):
    rec, spec = routed
    alarms = [a for a in rec.of_type(ALARM) if a.inputs["namespace"] == "AWS/Route53"]
    checks = {c.urn: c for c in rec.of_type(HEALTH_CHECK)}
    # The routing's own checks: no second set of Route 53 probes (the API with the key is the
    # canaries', tests/components/aws/test_canary.py).
    assert len(alarms) == 2
    assert len(rec.of_type("aws:synthetics/canary:Canary")) == 2
    (topic,) = [t for t in rec.of_type(TOPIC) if t.inputs["name"] == "llm-dev-uptime-alerts"]
    assert topic.region == "us-east-1"
    key = next(k for k in rec.of_type(KEY) if k.urn in topic.dependencies)
    statements = json.loads(key.inputs["policy"])["Statement"]
    assert {"Service": "cloudwatch.amazonaws.com"} in [s.get("Principal") for s in statements]
    for alarm in alarms:
        (check,) = [checks[urn] for urn in alarm.dependencies if urn in checks]
        assert alarm.inputs["dimensions"] == {"HealthCheckId": check.outputs["id"]}
        assert alarm.inputs["region"] == "us-east-1"
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (
            "AWS/Route53",
            "HealthCheckStatus",
        )
        assert alarm.inputs["evaluationPeriods"] == spec.observability.health_check_minutes
        assert alarm.inputs["treatMissingData"] == "breaching"
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]]
    assert rec.of_type("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig") == []
