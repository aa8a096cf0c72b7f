"""GcpCluster: a private regional GKE Standard cluster, its KMS key, node identity and pools."""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import Any

import pulumi
import pytest

from llmfleet.components import catalog
from llmfleet.components.gcp.cluster import GcpCluster, GcpClusterArgs, control_plane_cidr
from llmfleet.components.spec import GCP_CONTROL_PLANE_RANGE, FleetSpec, parse_fleet
from llmfleet.mock_outputs.gcp import PROJECT_NUMBER
from llmfleet.recorder import Recording

COMPONENT = "llmfleet:gcp:Cluster"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_GRANT = "gcp:projects/iAMMember:IAMMember"
K8S_PROVIDER = "pulumi:providers:kubernetes"

PROJECT = "llm-prod-serving"
REGION = "us-central1"
ZONES = ["us-central1-a", "us-central1-b", "us-central1-c"]
NODE_SUBNET = "10.30.0.0/20"
NETWORK_ID = f"projects/{PROJECT}/global/networks/llm-prod"
SUBNETWORK_ID = f"projects/{PROJECT}/regions/{REGION}/subnetworks/llm-prod-{REGION}"

GPU_POOLS = [
    {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "spot": True, "max_nodes": 4},
    {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 2},
]
HAS_TPU = {"tpu-v5e", "tpu-v6e"} <= set(catalog.accelerators())
TPU_POOLS = [
    {"name": "v5e", "accelerator": "tpu-v5e", "count": 4, "spot": True, "max_nodes": 2},
    # 16 chips on 4-chip hosts: a slice spanning four TPU VMs.
    {"name": "v5e-slice", "accelerator": "tpu-v5e", "count": 4, "tpu_topology": "4x4"},
    {"name": "v6e", "accelerator": "tpu-v6e", "count": 4},
]
needs_tpu = pytest.mark.skipif(not HAS_TPU, reason="the catalog has no TPU v5e / v6e machine types")

# Dev: a fleet name of the maximum 16 characters, in europe-west4, with a public API
# endpoint and its own release channel and version.
DEV_NAME = "llm-dev-platform"
DEV_REGION = "europe-west4"
DEV_PUBLIC_CIDR = "203.0.113.0/24"


def build(fleet: FleetSpec, region_name: str) -> None:
    """One region's cluster as the fleet wires it, and every output."""
    region = next(r for r in fleet.regions if r.region == region_name)
    cluster = GcpCluster(
        f"{fleet.name}-{region.region}",
        GcpClusterArgs(
            fleet=fleet,
            region=region,
            network_id=NETWORK_ID,
            subnetwork_id=SUBNETWORK_ID,
            pods_range_name="pods",
            services_range_name="services",
        ),
    )
    for attribute in ("cluster_name", "endpoint", "workload_pool", "kubeconfig"):
        pulumi.export(attribute, getattr(cluster, attribute))
    pulumi.export("kubeconfig_is_secret", pulumi.Output.from_input(cluster.kubeconfig.is_secret()))
    pulumi.export("kms_key_id", cluster.kms_key.id)
    pulumi.export("node_service_account", cluster.node_service_account.email)
    pulumi.export("provider_urn", cluster.provider.urn)
    pulumi.export("cluster_urn", cluster.cluster.urn)


def prod_with_pools(prod_config: dict[str, Any]) -> FleetSpec:
    config = copy.deepcopy(prod_config)
    region = next(r for r in config["regions"] if r["region"] == REGION)
    region["cluster"] = {"gpu_pools": GPU_POOLS + (TPU_POOLS if HAS_TPU else [])}
    return parse_fleet(config)


def dev_with_public_endpoint(prod_config: dict[str, Any]) -> FleetSpec:
    config = copy.deepcopy(prod_config)
    config.update(name=DEV_NAME, environment="dev")
    region = next(r for r in config["regions"] if r["region"] == DEV_REGION)
    region["cluster"] = {
        "public_access_cidrs": [DEV_PUBLIC_CIDR],
        "release_channel": "RAPID",
        "kubernetes_version": "1.34",
    }
    return parse_fleet(config)


@pytest.fixture
def rec(recorded, prod_config) -> Recording:
    """The prod fleet's us-central1 cluster with L4, H100 (and TPU v5e) pools."""
    return recorded("prod", lambda: build(prod_with_pools(prod_config), REGION))


@pytest.fixture
def dev(recorded, prod_config) -> Recording:
    """A dev fleet's europe-west4 cluster, no accelerator pools, API open to one CIDR."""
    return recorded("dev", lambda: build(dev_with_public_endpoint(prod_config), DEV_REGION))


def cluster_of(rec: Recording) -> dict[str, Any]:
    return rec.one(CLUSTER).inputs


def pool(rec: Recording, name: str) -> dict[str, Any]:
    return next(r.inputs for r in rec.of_type(NODE_POOL) if r.inputs["name"] == name)


def key_id(rec: Recording) -> str:
    return rec.one(CRYPTO_KEY).outputs["id"]


# --- the cluster ------------------------------------------------------------------------


def test_regional_cluster_in_the_fleet_project(rec):
    inputs = cluster_of(rec)
    assert inputs["project"] == PROJECT
    assert inputs["location"] == REGION
    assert inputs["nodeLocations"] == ZONES
    assert inputs["name"] == "llm-prod-us-central1"


def test_default_node_pool_is_removed(rec):
    inputs = cluster_of(rec)
    assert inputs["removeDefaultNodePool"] is True
    assert inputs["initialNodeCount"] == 1
    assert "nodePools" not in inputs


def test_the_transient_default_pool_runs_as_the_node_account_not_the_compute_default(rec):
    inputs = cluster_of(rec)
    account = rec.one(ACCOUNT)
    assert inputs["nodeConfig"] == {
        "serviceAccount": account.outputs["email"],
        "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
    }
    # Its roles are granted before the cluster (and its default pool) is created.
    grants = {g.urn for g in rec.of_type(PROJECT_GRANT)}
    assert grants <= set(rec.one(CLUSTER).dependencies)
    # Only the creation uses it: a change never replaces the cluster.
    assert "nodeConfig" in rec.one(CLUSTER).ignore_changes


def test_vpc_native_on_the_fleet_network(rec):
    inputs = cluster_of(rec)
    assert inputs["network"] == NETWORK_ID
    assert inputs["subnetwork"] == SUBNETWORK_ID
    assert inputs["networkingMode"] == "VPC_NATIVE"
    assert inputs["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }


def test_private_nodes_and_a_private_only_endpoint_without_public_cidrs(rec):
    private = cluster_of(rec)["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert private["enablePrivateEndpoint"] is True
    assert private["masterGlobalAccessConfig"] == {"enabled": True}
    assert private["masterIpv4CidrBlock"] == str(control_plane_cidr(REGION))


OTHER_GCP_SUBNET = "10.31.0.0/20"
"""europe-west4's node subnet in the prod fleet."""


def test_only_the_fleets_gcp_node_subnets_reach_a_private_ip_endpoint(rec):
    authorized = cluster_of(rec)["masterAuthorizedNetworksConfig"]
    # This region's nodes, and the fleet's other GCP region over global access.
    assert [block["cidrBlock"] for block in authorized["cidrBlocks"]] == [
        NODE_SUBNET,
        OTHER_GCP_SUBNET,
    ]
    assert cluster_of(rec)["privateClusterConfig"]["masterGlobalAccessConfig"] == {"enabled": True}
    assert authorized["gcpPublicCidrsAccessEnabled"] is False


def test_public_cidrs_open_a_public_ip_endpoint_to_them_alone(dev):
    inputs = cluster_of(dev)
    assert inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert inputs["privateClusterConfig"]["enablePrivateEndpoint"] is False
    blocks = inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [block["cidrBlock"] for block in blocks] == [
        NODE_SUBNET,
        OTHER_GCP_SUBNET,
        DEV_PUBLIC_CIDR,
    ]


def test_the_dns_endpoint_admits_any_runner_with_iam_access(rec):
    config = cluster_of(rec)["controlPlaneEndpointsConfig"]
    assert config == {
        "dnsEndpointConfig": {"allowExternalTraffic": True},
        "ipEndpointsConfig": {"enabled": True},
    }


def test_every_catalog_region_gets_its_own_control_plane_range():
    ranges = {name: control_plane_cidr(name) for name in catalog.regions("gcp")}
    assert len(set(ranges.values())) == len(ranges), ranges
    for network in ranges.values():
        assert network.prefixlen == 28
        assert network.subnet_of(GCP_CONTROL_PLANE_RANGE)


def test_control_plane_range_depends_on_the_region_alone():
    assert control_plane_cidr(REGION) == control_plane_cidr(REGION)
    assert control_plane_cidr(REGION) != control_plane_cidr(DEV_REGION)


def test_workload_identity_uses_the_project_pool(rec):
    pool_name = f"{PROJECT}.svc.id.goog"
    assert cluster_of(rec)["workloadIdentityConfig"] == {"workloadPool": pool_name}
    assert rec.exports["workload_pool"] == pool_name


def test_hardened_control_plane_and_dataplane(rec):
    inputs = cluster_of(rec)
    assert inputs["enableShieldedNodes"] is True
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert inputs["securityPostureConfig"] == {"mode": "BASIC"}


def test_cost_allocation_and_managed_prometheus(rec):
    inputs = cluster_of(rec)
    assert inputs["costManagementConfig"] == {"enabled": True}
    assert inputs["monitoringConfig"]["managedPrometheus"] == {"enabled": True}
    assert "SYSTEM_COMPONENTS" in inputs["monitoringConfig"]["enableComponents"]
    assert set(inputs["loggingConfig"]["enableComponents"]) == {"SYSTEM_COMPONENTS", "WORKLOADS"}


def test_storage_csi_drivers_for_model_loading(rec):
    addons = cluster_of(rec)["addonsConfig"]
    assert addons["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert addons["gcsFuseCsiDriverConfig"] == {"enabled": True}


def test_release_channel_and_version_come_from_the_spec(rec, dev):
    assert cluster_of(rec)["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster_of(rec)["minMasterVersion"] == "1.35"
    assert cluster_of(dev)["releaseChannel"] == {"channel": "RAPID"}
    assert cluster_of(dev)["minMasterVersion"] == "1.34"


def test_cluster_carries_the_fleet_labels(rec, prod_fleet):
    assert cluster_of(rec)["resourceLabels"] == prod_fleet.labels()


def test_names_fit_gke_and_iam_limits(dev):
    cluster_name = cluster_of(dev)["name"]
    account_id = dev.one(ACCOUNT, f"{DEV_NAME}-{DEV_REGION}-nodes").inputs["accountId"]
    assert cluster_name == f"{DEV_NAME}-{DEV_REGION}"
    # "<fleet>-<region>-nodes" is too long for an account id: a prefix plus a stable hash.
    assert account_id.startswith(f"{DEV_NAME}-euro-")
    assert len(account_id) == 30


def test_deletion_protection_in_prod_only(rec, dev):
    assert cluster_of(rec)["deletionProtection"] is True
    assert cluster_of(dev)["deletionProtection"] is False
    for type_ in (CLUSTER, KEY_RING, CRYPTO_KEY):
        assert rec.one(type_).protect is True, type_
        assert dev.one(type_).protect is False, type_


# --- encryption -------------------------------------------------------------------------


def test_secrets_are_encrypted_with_the_regional_key(rec):
    cluster = rec.one(CLUSTER)
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key_id(rec)}
    assert rec.one(CRYPTO_KEY).urn in cluster.dependencies
    ring = rec.one(KEY_RING)
    assert ring.inputs["location"] == REGION
    assert ring.inputs["project"] == PROJECT
    assert rec.one(CRYPTO_KEY).inputs["keyRing"] == ring.outputs["id"]


def test_key_rotates_every_90_days(rec, prod_fleet):
    key = rec.one(CRYPTO_KEY).inputs
    assert key["rotationPeriod"] == "7776000s"
    assert key["purpose"] == "ENCRYPT_DECRYPT"
    assert key["labels"] == prod_fleet.labels()


def test_only_the_gke_and_compute_service_agents_may_use_the_key(rec):
    grants = {g.inputs["member"]: g for g in rec.of_type(KEY_GRANT)}
    gke = f"serviceAccount:service-{PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com"
    compute = f"serviceAccount:service-{PROJECT_NUMBER}@compute-system.iam.gserviceaccount.com"
    assert set(grants) == {gke, compute}
    for grant in grants.values():
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        assert grant.inputs["cryptoKeyId"] == key_id(rec)
    # The agents must hold the key before GKE encrypts etcd and Compute Engine the boot disks.
    assert grants[gke].urn in rec.one(CLUSTER).dependencies
    for node_pool in rec.of_type(NODE_POOL):
        assert grants[compute].urn in node_pool.dependencies, node_pool.name


# --- node identity ----------------------------------------------------------------------


def test_nodes_run_as_a_least_privilege_service_account(rec):
    account = rec.one(ACCOUNT, "llm-prod-us-central1-nodes")
    assert account.inputs["project"] == PROJECT
    grants = rec.of_type(PROJECT_GRANT)
    assert {g.inputs["role"] for g in grants} == {
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
        "roles/autoscaling.metricsWriter",
        "roles/artifactregistry.reader",
    }
    assert len(grants) == 6
    for grant in grants:
        assert grant.inputs["member"] == account.outputs["member"]
        assert grant.inputs["project"] == PROJECT
    for node_pool in rec.of_type(NODE_POOL):
        assert node_pool.inputs["nodeConfig"]["serviceAccount"] == account.outputs["email"]
        assert {g.urn for g in grants} <= set(node_pool.dependencies), node_pool.name


# --- node pools -------------------------------------------------------------------------


def test_one_pool_per_spec_pool_plus_the_system_pool(rec):
    expected = {"system"} | {p["name"] for p in GPU_POOLS + (TPU_POOLS if HAS_TPU else [])}
    names = [r.inputs["name"] for r in rec.of_type(NODE_POOL)]
    assert sorted(names) == sorted(expected)
    for node_pool in rec.of_type(NODE_POOL):
        assert node_pool.inputs["cluster"] == rec.one(CLUSTER).outputs["name"]
        assert node_pool.inputs["location"] == REGION
        assert node_pool.inputs["project"] == PROJECT


def test_every_pool_has_the_hardened_baseline(rec, prod_fleet):
    for node_pool in rec.of_type(NODE_POOL):
        inputs = node_pool.inputs
        config = inputs["nodeConfig"]
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert config["shieldedInstanceConfig"] == {
            "enableSecureBoot": True,
            "enableIntegrityMonitoring": True,
        }
        assert config["imageType"] == "COS_CONTAINERD"
        assert config["kubeletConfig"] == {"insecureKubeletReadonlyPortEnabled": "FALSE"}
        assert config["bootDiskKmsKey"] == key_id(rec)
        assert config["resourceLabels"] == prod_fleet.labels()
        assert inputs["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_system_pool_runs_add_ons_across_zones(rec, prod_fleet):
    spec = next(r for r in prod_fleet.regions if r.region == REGION).cluster.system_pool
    inputs = pool(rec, "system")
    config = inputs["nodeConfig"]
    assert config["machineType"] == catalog.default_system_instance_type("gcp")
    assert config["diskType"] == "pd-balanced"
    assert config["labels"] == {"llmfleet.io/pool": "system"}
    assert "taints" not in config
    assert "guestAccelerators" not in config
    assert "gvnic" not in config
    assert inputs["nodeLocations"] == ZONES
    assert inputs["autoscaling"] == {
        "totalMinNodeCount": spec.min_nodes,
        "totalMaxNodeCount": spec.max_nodes,
        "locationPolicy": "BALANCED",
    }
    # Per zone: one node in each of three zones covers the minimum of two.
    assert inputs["initialNodeCount"] == 1
    assert inputs["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


@pytest.mark.parametrize("spec", GPU_POOLS, ids=lambda spec: spec["name"])
def test_gpu_pool_machine_and_accelerator_come_from_the_catalog(rec, spec):
    machine = catalog.resolve("gcp", spec["accelerator"], spec["count"], REGION)
    config = pool(rec, spec["name"])["nodeConfig"]
    assert config["machineType"] == machine.name
    assert config["guestAccelerators"] == [
        {
            "type": machine.gke_accelerator,
            "count": machine.accelerator_count,
            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        }
    ]
    assert config["labels"] == {
        "llmfleet.io/pool": spec["name"],
        "llmfleet.io/accelerator": spec["accelerator"],
    }
    assert config["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
    ]
    assert config["spot"] is spec.get("spot", False)
    assert config["diskType"] == "pd-ssd"
    # A3 machine types support gVNIC only.
    assert config["gvnic"] == {"enabled": True}


@pytest.mark.parametrize("spec", GPU_POOLS, ids=lambda spec: spec["name"])
def test_gpu_pool_scales_from_zero_wherever_capacity_is(rec, spec):
    inputs = pool(rec, spec["name"])
    assert inputs["nodeLocations"] == ZONES
    assert inputs["initialNodeCount"] == 0
    assert inputs["autoscaling"] == {
        "totalMinNodeCount": 0,
        "totalMaxNodeCount": spec["max_nodes"],
        "locationPolicy": "ANY",
    }
    # Upgrades never wait for a spare accelerator machine.
    assert inputs["upgradeSettings"]["maxSurge"] == 0
    assert inputs["upgradeSettings"]["maxUnavailable"] == 1


def test_local_nvme_holds_the_model_cache_where_the_machine_has_it(rec):
    h100 = catalog.resolve("gcp", "nvidia-h100-80gb", 8, REGION)
    l4 = catalog.resolve("gcp", "nvidia-l4", 1, REGION)
    assert h100.local_nvme_gib and not l4.local_nvme_gib
    h100_config = pool(rec, "h100")["nodeConfig"]
    assert h100_config["ephemeralStorageLocalSsdConfig"] == {
        "localSsdCount": h100.local_nvme_gib // 375
    }
    assert h100_config["diskSizeGb"] == 200
    # Without local NVMe the boot disk also caches weights: two accelerator memories' worth.
    l4_config = pool(rec, "l4")["nodeConfig"]
    assert "ephemeralStorageLocalSsdConfig" not in l4_config
    assert l4_config["diskSizeGb"] == 200 + 2 * l4.gpu_memory_gib


@needs_tpu
def test_tpu_pool_is_a_compact_single_host_slice_scaling_from_zero(rec):
    machine = catalog.resolve("gcp", "tpu-v5e", 4, REGION)
    inputs = pool(rec, "v5e")
    config = inputs["nodeConfig"]
    assert config["machineType"] == machine.name
    assert "guestAccelerators" not in config
    assert config["taints"] == [
        {"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"}
    ]
    assert config["spot"] is True
    assert config["labels"] == {"llmfleet.io/pool": "v5e", "llmfleet.io/accelerator": "tpu-v5e"}
    assert inputs["placementPolicy"] == {"type": "COMPACT", "tpuTopology": machine.tpu_topology}
    assert config["diskType"] == "pd-balanced"
    assert inputs["nodeLocations"] == ZONES[:1]
    assert inputs["initialNodeCount"] == 0
    assert inputs["autoscaling"] == {
        "totalMinNodeCount": 0,
        "totalMaxNodeCount": 2,
        "locationPolicy": "ANY",
    }


@needs_tpu
def test_multi_host_tpu_slice_has_the_host_count_of_its_topology(rec):
    inputs = pool(rec, "v5e-slice")
    assert inputs["placementPolicy"] == {"type": "COMPACT", "tpuTopology": "4x4"}
    assert inputs["initialNodeCount"] == 16 // 4
    assert "autoscaling" not in inputs


@needs_tpu
def test_trillium_boots_from_hyperdisk(rec):
    machine = catalog.resolve("gcp", "tpu-v6e", 4, REGION)
    config = pool(rec, "v6e")["nodeConfig"]
    assert config["machineType"] == machine.name
    assert config["diskType"] == "hyperdisk-balanced"
    assert config["bootDiskKmsKey"] == key_id(rec)


# --- Kubernetes access and wiring -------------------------------------------------------


def test_one_kubernetes_provider_authenticating_through_the_gke_plugin(rec):
    provider = rec.one(K8S_PROVIDER)
    cluster = rec.one(CLUSTER).outputs
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    # The DNS endpoint: reachable with IAM from any runner, publicly trusted certificate.
    dns_endpoint = cluster["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"]
    assert kubeconfig["clusters"][0]["cluster"] == {"server": f"https://{dns_endpoint}"}
    assert dns_endpoint.endswith(f".{REGION}.gke.goog")
    # A new way to the same cluster never replaces the Kubernetes objects.
    assert provider.inputs["clusterIdentifier"] == cluster["id"]
    (user,) = kubeconfig["users"]
    assert set(user["user"]) == {"exec"}
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert provider.parent == rec.one(COMPONENT).urn
    # Add-ons installed through the provider have nodes to land on.
    assert rec.one(NODE_POOL, "llm-prod-us-central1-system").urn in provider.dependencies


def test_private_endpoint_is_inside_the_control_plane_range(rec):
    endpoint = ipaddress.ip_address(rec.exports["endpoint"])
    assert endpoint in control_plane_cidr(REGION)


def test_outputs_are_the_cluster_and_its_resources(rec):
    cluster = rec.one(CLUSTER)
    assert rec.exports["cluster_urn"] == cluster.urn
    assert rec.exports["cluster_name"] == cluster.outputs["name"]
    assert rec.exports["endpoint"] == cluster.outputs["endpoint"]
    assert rec.exports["kms_key_id"] == key_id(rec)
    assert (
        rec.exports["node_service_account"]
        == rec.one(ACCOUNT, "llm-prod-us-central1-nodes").outputs["email"]
    )
    assert rec.exports["provider_urn"] == rec.one(K8S_PROVIDER).urn
    assert rec.exports["kubeconfig"] == rec.one(K8S_PROVIDER).inputs["kubeconfig"]
    assert rec.exports["kubeconfig_is_secret"] is True


def test_every_child_belongs_to_the_component(rec):
    component = rec.one(COMPONENT)
    apis = rec.one("llmfleet:gcp:ProjectApis")
    project_wide = {apis.urn, *(r.urn for r in rec.descendants(apis))}
    for resource in rec.resources:
        if resource is not component and resource.urn not in project_wide:
            assert resource.parent == component.urn, resource.name
            assert resource.region == REGION, resource.name


# --- placement and capacity -------------------------------------------------------------

CAPACITY_REGION = "europe-west4"
CAPACITY_POOLS = [
    # a3-highgpu-8g: europe-west4-b and -c only.
    {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "capacity": "flex-start"},
    # A3 Ultra is never plain on-demand; europe-west4-a only.
    {
        "name": "h200",
        "accelerator": "nvidia-h200",
        "count": 8,
        "capacity": "reservation",
        "reservation": "projects/shared-capacity/reservations/h200-block",
    },
    {"name": "l4", "accelerator": "nvidia-l4", "count": 1},
]


@pytest.fixture
def capacity(recorded, prod_config) -> Recording:
    """The prod fleet's europe-west4 cluster with flex-start, reserved and on-demand pools."""
    config = copy.deepcopy(prod_config)
    region = next(r for r in config["regions"] if r["region"] == CAPACITY_REGION)
    region["cluster"] = {"gpu_pools": CAPACITY_POOLS}
    return recorded("capacity", lambda: build(parse_fleet(config), CAPACITY_REGION))


@pytest.mark.parametrize(
    ("name", "zones"),
    [
        ("h100", ["europe-west4-b", "europe-west4-c"]),
        ("h200", ["europe-west4-a"]),
        ("l4", ["europe-west4-a", "europe-west4-b", "europe-west4-c"]),
    ],
)
def test_gpu_pools_span_exactly_the_cluster_zones_offering_their_machine(capacity, name, zones):
    inputs = pool(capacity, name)
    assert inputs["nodeLocations"] == zones
    machine = catalog.instance_type("gcp", inputs["nodeConfig"]["machineType"])
    assert set(inputs["nodeLocations"]) <= set(machine.zones_in(CAPACITY_REGION))


@needs_tpu
def test_a_tpu_slice_goes_to_a_zone_that_offers_it(rec):
    # TPU v6e is offered in us-central1-b, not in the region's first zone.
    assert pool(rec, "v6e")["nodeLocations"] == ["us-central1-b"]


def test_flex_start_pools_take_dws_capacity_and_no_reservation(capacity):
    config = pool(capacity, "h100")["nodeConfig"]
    assert config["flexStart"] is True
    assert config["spot"] is False
    assert config["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}


def test_reserved_pools_consume_their_named_reservation_only(capacity):
    config = pool(capacity, "h200")["nodeConfig"]
    assert config["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION",
        "key": "compute.googleapis.com/reservation-name",
        "values": ["projects/shared-capacity/reservations/h200-block"],
    }
    assert "flexStart" not in config


def test_on_demand_pools_take_neither_spot_nor_flex_start(capacity):
    config = pool(capacity, "l4")["nodeConfig"]
    assert config["spot"] is False
    assert "flexStart" not in config
    assert "reservationAffinity" not in config


# --- day-2 operations ---------------------------------------------------------------------


def test_gpu_metrics_come_from_gkes_managed_dcgm(rec):
    monitoring = cluster_of(rec)["monitoringConfig"]
    assert "DCGM" in monitoring["enableComponents"]
    assert monitoring["managedPrometheus"] == {"enabled": True}


def test_upgrades_wait_for_the_weekly_maintenance_window(rec):
    policy = cluster_of(rec)["maintenancePolicy"]
    # The default window: Saturday and Sunday, 02:00-10:00 UTC.
    assert policy["recurringWindow"] == {
        "startTime": "2025-01-06T02:00:00Z",
        "endTime": "2025-01-06T10:00:00Z",
        "recurrence": "FREQ=WEEKLY;BYDAY=SA,SU",
    }
    assert "maintenanceExclusions" not in policy


def test_maintenance_exclusions_hold_upgrades_back(recorded, prod_config):
    config = copy.deepcopy(prod_config)
    region = next(r for r in config["regions"] if r["region"] == DEV_REGION)
    region["cluster"] = {
        "maintenance_window": {"days": ["TU"], "start": "23:00", "hours": 12},
        "maintenance_exclusions": [
            {
                "name": "year-end-freeze",
                "start": "2026-12-20T00:00:00Z",
                "end": "2027-01-04T00:00:00+01:00",
            }
        ],
    }
    rec = recorded("maintenance", lambda: build(parse_fleet(config), DEV_REGION))
    policy = cluster_of(rec)["maintenancePolicy"]
    assert policy["recurringWindow"] == {
        "startTime": "2025-01-06T23:00:00Z",
        "endTime": "2025-01-07T11:00:00Z",
        "recurrence": "FREQ=WEEKLY;BYDAY=TU",
    }
    assert policy["maintenanceExclusions"] == [
        {
            "exclusionName": "year-end-freeze",
            "startTime": "2026-12-20T00:00:00Z",
            "endTime": "2027-01-03T23:00:00Z",
            "exclusionOptions": {"scope": "NO_MINOR_OR_NODE_UPGRADES"},
        }
    ]
