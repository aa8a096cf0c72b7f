"""RegionalGateway: one HTTPS-only Gateway per serving cluster and one HTTPRoute per model, the
same on EKS and GKE; the cloud supplies class, address and certificates as data."""

from __future__ import annotations

import inspect
import json

import kubernetes_validate
import pulumi
import pulumi_kubernetes as kubernetes
import pytest

from llmfleet.components import fleet as fleet_module
from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s import gateway as gateway_module
from llmfleet.components.k8s.gateway import (
    GATEWAY_NAMESPACE,
    RegionalGateway,
    RegionalGatewayArgs,
    health_path,
    route_prefix,
)
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.recorder import record
from tests.components.routed_fleet import DOMAIN, routed
from tests.conftest import SCHEMAS
from tests.k8s_schemas import validate_custom_resource

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
GATEWAY_CLASS = "kubernetes:gateway.networking.k8s.io/v1:GatewayClass"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
REFERENCE_GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"
REGIONS = ("us-east-1", "us-west-2", "us-central1", "europe-west4")

CRDS = {
    "Gateway": SCHEMAS / "gateway-api" / "gateway.networking.k8s.io_gateways.yaml",
    "GatewayClass": SCHEMAS / "gateway-api" / "gateway.networking.k8s.io_gatewayclasses.yaml",
    "HTTPRoute": SCHEMAS / "gateway-api" / "gateway.networking.k8s.io_httproutes.yaml",
    "ReferenceGrant": SCHEMAS / "gateway-api" / "gateway.networking.k8s.io_referencegrants.yaml",
    "HealthCheckPolicy": SCHEMAS / "gke-gateway-api" / "networking.gke.io_healthcheckpolicies.yaml",
    "GCPBackendPolicy": SCHEMAS / "gke-gateway-api" / "networking.gke.io_gcpbackendpolicies.yaml",
    "GCPGatewayPolicy": SCHEMAS / "gke-gateway-api" / "networking.gke.io_gcpgatewaypolicies.yaml",
    "LoadBalancerConfiguration": SCHEMAS
    / "aws-load-balancer-controller"
    / "gateway.k8s.aws_loadbalancerconfigurations.yaml",
    "TargetGroupConfiguration": SCHEMAS
    / "aws-load-balancer-controller"
    / "gateway.k8s.aws_targetgroupconfigurations.yaml",
}


@pytest.fixture(scope="module")
def spec():
    return parse_fleet(routed())


@pytest.fixture(scope="module")
def rec(spec):
    return record(lambda: Fleet(spec.name, spec))


def in_region(rec, type_: str, region: str) -> list:
    return [r for r in rec.of_type(type_) if r.region == region]


def route(rec, region: str, serving: str) -> dict:
    (found,) = [
        r for r in in_region(rec, HTTP_ROUTE, region) if r.inputs["metadata"]["name"] == serving
    ]
    return found.inputs


@pytest.mark.parametrize("region", REGIONS)
def test_one_https_only_gateway_per_serving_cluster(rec, region):
    (gateway,) = in_region(rec, GATEWAY, region)
    spec = gateway.inputs["spec"]
    assert [(lst["protocol"], lst["port"]) for lst in spec["listeners"]] == [("HTTPS", 443)]
    assert gateway.inputs["metadata"]["namespace"] == GATEWAY_NAMESPACE
    # Pulumi waits for the implementation's address before DNS records are made from it.
    annotations = gateway.inputs["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == "jsonpath={.status.addresses[0].value}"


def test_gateway_class_per_cloud(rec):
    classes = {r: in_region(rec, GATEWAY, r)[0].inputs["spec"]["gatewayClassName"] for r in REGIONS}
    assert classes == {
        "us-east-1": "llmfleet-alb",
        "us-west-2": "llmfleet-alb",
        "us-central1": "gke-l7-global-external-managed",
        "europe-west4": "gke-l7-global-external-managed",
    }
    # EKS gets its GatewayClass for the ALB controller; GKE provides its own classes.
    (aws_class,) = in_region(rec, GATEWAY_CLASS, "us-east-1")
    assert aws_class.inputs["spec"] == {"controllerName": "gateway.k8s.aws/alb"}
    assert not in_region(rec, GATEWAY_CLASS, "us-central1")


@pytest.mark.parametrize("region", REGIONS)
def test_one_route_per_model_with_regional_and_global_names(rec, spec, region):
    region_spec = next(r for r in spec.regions if r.region == region)
    served = sorted(s.name for s in spec.served_in(region_spec))
    routes = sorted(r.inputs["metadata"]["name"] for r in in_region(rec, HTTP_ROUTE, region))
    assert routes == served
    for serving in served:
        inputs = route(rec, region, serving)
        assert inputs["metadata"]["namespace"] == serving
        assert inputs["spec"]["hostnames"] == [f"{region}.{DOMAIN}", DOMAIN]
        (parent,) = inputs["spec"]["parentRefs"]
        assert (parent["namespace"], parent["sectionName"]) == (GATEWAY_NAMESPACE, "https")


@pytest.mark.parametrize("region", REGIONS)
def test_canary_weights_sum_to_100(rec, region):
    (rule,) = route(rec, region, "chat")["spec"]["rules"]
    weights = {b["name"]: b["weight"] for b in rule["backendRefs"]}
    assert weights == {"chat-v1": 90, "chat-v2": 10}
    assert sum(weights.values()) == 100


def test_a_model_is_addressed_by_its_path_prefix_which_the_route_strips(rec):
    (rule,) = route(rec, "us-central1", "chat")["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/chat"}}]
    assert rule["filters"][0] == {
        "type": "URLRewrite",
        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
    }
    assert route_prefix("chat") == "/chat"
    assert health_path("chat") == "/chat/health"


def test_the_gateway_admits_routes_only_from_serving_namespaces(rec):
    (gateway,) = in_region(rec, GATEWAY, "us-east-1")
    allowed = gateway.inputs["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]
    assert allowed["from"] == "Selector"
    labels = allowed["selector"]["matchLabels"]
    (namespace,) = [
        n
        for n in rec.of_type("kubernetes:core/v1:Namespace")
        if n.region == "us-east-1" and n.inputs["metadata"]["name"] == "chat"
    ]
    assert labels.items() <= namespace.inputs["metadata"]["labels"].items()


def test_a_route_to_the_wake_up_proxy_waits_for_its_reference_grant(rec):
    # batch scales to zero: its route goes to the KEDA HTTP add-on's interceptor.
    (http_route,) = [
        r
        for r in in_region(rec, HTTP_ROUTE, "us-central1")
        if r.inputs["metadata"]["name"] == "batch"
    ]
    (backend,) = http_route.inputs["spec"]["rules"][0]["backendRefs"]
    assert backend["namespace"] != "batch"
    (grant,) = [
        g
        for g in in_region(rec, REFERENCE_GRANT, "us-central1")
        if g.inputs["metadata"]["namespace"] == backend["namespace"]
        and g.inputs["spec"]["from"][0]["namespace"] == "batch"
    ]
    assert grant.urn in http_route.dependencies
    validate_custom_resource(manifest(grant), CRDS["ReferenceGrant"])


def test_backends_are_checked_where_they_answer(rec):
    policies = {
        (p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"]): p.inputs["spec"]
        for p in in_region(rec, "kubernetes:networking.gke.io/v1:HealthCheckPolicy", "us-central1")
    }
    vllm = policies[("chat", "chat-v1")]["default"]["config"]["httpHealthCheck"]
    assert (vllm["port"], vllm["requestPath"]) == (8000, "/health")
    (proxy,) = [spec for (ns, _), spec in policies.items() if ns not in ("chat", "batch")]
    check = proxy["default"]["config"]["httpHealthCheck"]
    # The interceptor's proxy port answers only routed requests; its admin port has readiness.
    assert (check["port"], check["requestPath"]) == (9090, "/readyz")
    targets = {
        (t.inputs["metadata"]["namespace"], t.inputs["spec"]["targetReference"]["name"]): t
        for t in in_region(
            rec, "kubernetes:gateway.k8s.aws/v1:TargetGroupConfiguration", "us-east-1"
        )
        if "targetReference" in t.inputs["spec"]
    }
    health = targets[("chat", "chat-v2")].inputs["spec"]["defaultConfiguration"]
    assert health["healthCheckConfig"]["healthCheckPath"] == "/health"
    assert health["healthCheckConfig"]["healthCheckPort"] == "8000"


def test_every_gateway_object_validates_against_its_crd(rec):
    checked = set()
    for resource in rec.resources:
        kind = resource.type.rsplit(":", 1)[-1]
        if resource.type.startswith("kubernetes:") and kind in CRDS:
            validate_custom_resource(json.loads(json.dumps(manifest(resource))), CRDS[kind])
            checked.add(kind)
    assert checked == set(CRDS)


def test_the_gateway_namespace_validates_strictly(rec):
    for resource in rec.of_type("kubernetes:core/v1:Namespace"):
        if resource.inputs["metadata"]["name"] == GATEWAY_NAMESPACE:
            kubernetes_validate.validate(manifest(resource), "1.33.0", strict=True)


class _Server(pulumi.ComponentResource):
    """A model server routing to another namespace (a shared proxy), with or without the
    ReferenceGrant that allows it."""

    def __init__(self, name: str, provider: kubernetes.Provider, *, granted: bool) -> None:
        super().__init__("test:index:Server", name)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace = kubernetes.core.v1.Namespace(
            f"{name}-ns", metadata={"name": "chat"}, opts=child
        )
        self.services = {}
        self.interceptor_routes = {}
        self.reference_grants = (
            [
                kubernetes.apiextensions.CustomResource(
                    f"{name}-grant",
                    api_version="gateway.networking.k8s.io/v1beta1",
                    kind="ReferenceGrant",
                    metadata={"name": "chat", "namespace": "proxy"},
                    spec={},
                    opts=child,
                )
            ]
            if granted
            else []
        )

    def route_backends(self) -> list[dict]:
        return [
            {
                "group": "",
                "kind": "Service",
                "name": "proxy",
                "namespace": "proxy",
                "port": 8080,
                "weight": 100,
            }
        ]

    def route_filters(self) -> list[dict]:
        header = {"name": "X-Route", "value": "chat"}
        return [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [header]}}]

    def route_health(self) -> tuple[int, str]:
        return 9090, "/readyz"


def crossing(granted: bool):
    def program():
        provider = kubernetes.Provider("k8s", kubeconfig="{}")
        RegionalGateway(
            "gw",
            RegionalGatewayArgs(
                hostnames=["us-east-1.llm.example.com", "llm.example.com"],
                gateway_class="test",
                servers={"chat": _Server("chat", provider, granted=granted)},
                provider=provider,
            ),
        )

    return record(program)


def test_the_servers_own_filters_follow_the_prefix_rewrite():
    rec = crossing(granted=True)
    (http_route,) = rec.of_type(HTTP_ROUTE)
    (rule,) = http_route.inputs["spec"]["rules"]
    assert [f["type"] for f in rule["filters"]] == ["URLRewrite", "RequestHeaderModifier"]
    assert rule["backendRefs"][0]["name"] == "proxy"
    (grant,) = rec.of_type(REFERENCE_GRANT)
    assert grant.urn in http_route.dependencies


def test_a_route_to_another_namespace_without_a_grant_is_refused():
    with pytest.raises(Exception, match="routes to namespace proxy without a ReferenceGrant"):
        crossing(granted=False)


def test_no_cloud_branches_in_the_gateway_or_the_fleet():
    for module in (gateway_module, fleet_module):
        source = inspect.getsource(module)
        assert "cloud ==" not in source and '== "aws"' not in source and '== "gcp"' not in source
