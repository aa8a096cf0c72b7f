"""The stack enables the GCP APIs its resources use, and every GCP resource waits for its API."""

from __future__ import annotations

import pulumi
import pytest

from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.network import GcpVpc, GcpVpcArgs
from llmfleet.components.gcp.project import COMPUTE, STORAGE, project_apis
from llmfleet.components.spec import parse_fleet
from llmfleet.plan import run_program
from llmfleet.stackfile import find_project, load_stack
from tests.conftest import REPO

SERVICE = "gcp:projects/service:Service"
APIS = "llmfleet:gcp:ProjectApis"
GCP_ENTRY = "llmfleet:gcp:RegionalEntry"

API_OF_TYPE = {
    "gcp:compute/": "compute.googleapis.com",
    "gcp:container/": "container.googleapis.com",
    "gcp:kms/": "cloudkms.googleapis.com",
    "gcp:serviceaccount/": "iam.googleapis.com",
    "gcp:projects/iAMMember:": "cloudresourcemanager.googleapis.com",
    "gcp:storage/transferJob:": "storagetransfer.googleapis.com",
    "gcp:storage/": "storage.googleapis.com",
    "gcp:secretmanager/": "secretmanager.googleapis.com",
    "gcp:certificatemanager/": "certificatemanager.googleapis.com",
    "gcp:dns/": "dns.googleapis.com",
    "gcp:monitoring/": "monitoring.googleapis.com",
    "gcp:logging/": "logging.googleapis.com",
}
"""The API each GCP resource type calls, by type-token prefix (the first match counts)."""

CLUSTER_APIS = {
    "container.googleapis.com",
    "compute.googleapis.com",
    "containerfilesystem.googleapis.com",
    "binaryauthorization.googleapis.com",
    "cloudkms.googleapis.com",
    "iam.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "monitoring.googleapis.com",
    "logging.googleapis.com",
}


def _api_of(type_: str) -> str:
    for prefix, api in API_OF_TYPE.items():
        if type_.startswith(prefix):
            return api
    raise AssertionError(f"{type_}: which API does it call? Add it to API_OF_TYPE and to APIS")


@pytest.fixture(scope="module", params=["prod-gcp", "hybrid"])
def stack(request):
    project = find_project(REPO)
    return run_program(project, load_stack(project, request.param))


def _services(recording) -> dict[str, str]:
    """URN -> API of every enabled API."""
    return {r.urn: r.inputs["service"] for r in recording.of_type(SERVICE)}


def test_every_gcp_resource_waits_for_the_api_it_calls(stack):
    services = _services(stack)
    checked = 0
    for resource in stack.custom():
        if not resource.type.startswith("gcp:") or resource.type == SERVICE:
            continue
        waits_for = {services[urn] for urn in resource.dependencies if urn in services}
        assert _api_of(resource.type) in waits_for, resource.urn
        checked += 1
    assert checked > 30


def test_the_cluster_waits_for_every_api_gke_uses(stack):
    services = _services(stack)
    for cluster in stack.of_type("gcp:container/cluster:Cluster"):
        assert {services[u] for u in cluster.dependencies if u in services} == CLUSTER_APIS


def test_the_stack_enables_exactly_the_apis_its_resources_use_once_and_never_disables_them(stack):
    services = stack.of_type(SERVICE)
    used = {
        _api_of(r.type) for r in stack.custom() if r.type.startswith("gcp:") and r.type != SERVICE
    }
    enabled = [s.inputs["service"] for s in services]
    assert len(enabled) == len(set(enabled))
    assert used <= set(enabled)
    # A GCP regional entry (hybrid has routing) adds Certificate Manager.
    entry = {"certificatemanager.googleapis.com"} if stack.of_type(GCP_ENTRY) else set()
    assert set(enabled) == CLUSTER_APIS | entry | {
        "iamcredentials.googleapis.com",
        "secretmanager.googleapis.com",
        "storage.googleapis.com",
        "storagetransfer.googleapis.com",
    }
    component = stack.one(APIS)
    assert component.parent is None  # the project's, not one fleet's
    for service in services:
        assert service.parent == component.urn
        assert service.inputs["disableOnDestroy"] is False
        assert service.inputs["disableDependentServices"] is False
        assert service.inputs["project"] == component.name.removesuffix("-apis")
        assert not service.protect


def test_an_aws_only_stack_enables_no_gcp_api():
    project = find_project(REPO)
    recording = run_program(project, load_stack(project, "prod-aws"))
    assert recording.of_type(SERVICE) == []
    assert recording.of_type(APIS) == []


class _Probe(GcpComponent):
    APIS = (STORAGE, COMPUTE)

    def __init__(self, name: str, project: str | None):
        super().__init__("test:index:Probe", name, project)
        pulumi.CustomResource("test:index:Child", f"{name}-child", {}, opts=self._child())
        self.register_outputs({})


def test_components_of_one_project_share_its_apis_and_each_waits_only_for_its_own(run):
    def program():
        _Probe("first", "proj-a")
        _Probe("second", "proj-a")
        _Probe("other", "proj-b")
        project_apis("proj-a").enabled((COMPUTE,))

    rec = run(program)
    assert sorted(r.name for r in rec.of_type(APIS)) == ["proj-a-apis", "proj-b-apis"]
    assert sorted(r.name for r in rec.of_type(SERVICE)) == [
        "proj-a-apis-compute",
        "proj-a-apis-storage",
        "proj-b-apis-compute",
        "proj-b-apis-storage",
    ]
    by_name = {r.name: r.urn for r in rec.of_type(SERVICE)}
    child = rec.one("test:index:Child", "first-child")
    assert child.dependencies == sorted(
        [by_name["proj-a-apis-storage"], by_name["proj-a-apis-compute"]]
    )
    other = rec.one("test:index:Child", "other-child")
    assert by_name["proj-b-apis-storage"] in other.dependencies


def test_each_program_run_gets_its_own_apis(run):
    # A second stack run in the same process must not reuse the first run's resources.
    first = run(lambda: _Probe("p", "proj-a"))
    second = run(lambda: _Probe("p", "proj-a"))
    assert len(first.of_type(SERVICE)) == len(second.of_type(SERVICE)) == 2


def test_a_gcp_component_without_a_project_is_refused(run, dev_config):
    dev_config["regions"] = [
        {
            "cloud": "gcp",
            "region": "us-central1",
            "cidr": "10.30.0.0/20",
            "pods_cidr": "10.128.0.0/14",
            "services_cidr": "10.30.16.0/20",
        }
    ]
    dev_config["gcp_project"] = "llm-dev"
    fleet = parse_fleet(dev_config).model_copy(update={"gcp_project": None})
    with pytest.raises(ValueError, match="llm-dev-vpc: GCP resources need the fleet's gcp_project"):
        run(lambda: GcpVpc("llm-dev-vpc", GcpVpcArgs(fleet)))
