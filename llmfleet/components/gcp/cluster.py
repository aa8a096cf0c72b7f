"""GKE: a private, regional GKE Standard cluster with a system pool and accelerator pools.

``GcpCluster`` builds one region's cluster the way production GKE should run:

- private nodes, and a control plane reachable only from the VPC (its private endpoint, global
  access, the node subnet) unless the spec lists public CIDRs;
- a Cloud KMS key per region encrypting Kubernetes Secrets in etcd and every node's boot disk,
  with the two Google service agents allowed to use that key and nothing else;
- a node service account holding only the roles nodes need to log, report metrics and pull
  images, instead of the project-editor default compute account;
- Workload Identity (``GKE_METADATA`` on every node), Shielded nodes with secure boot, Dataplane
  V2, managed Prometheus and GKE cost allocation;
- a system pool for add-ons and one tainted pool per GPU / TPU pool of the spec, scaling to zero
  when idle;
- an explicit ``kubernetes.Provider`` authenticating with ``gke-gcloud-auth-plugin``, so no
  ambient kubeconfig or long-lived credential is involved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as kubernetes

from llmfleet.components import catalog
from llmfleet.components.contracts import ModelStore
from llmfleet.components.gcp.component import GcpComponent
from llmfleet.components.gcp.project import (
    BINARY_AUTHORIZATION,
    CLOUD_KMS,
    COMPUTE,
    CONTAINER,
    CONTAINER_FILESYSTEM,
    IAM,
    LOGGING,
    MONITORING,
    RESOURCE_MANAGER,
)
from llmfleet.components.gcp.storage import GcpModelStorage
from llmfleet.components.k8s.kubeconfig import exec_kubeconfig
from llmfleet.components.k8s.scheduling import (
    SYSTEM_POOL,
    AcceleratorKind,
    accelerator_taint,
    model_cache_gib,
    pool_node_labels,
    system_node_labels,
)
from llmfleet.components.naming import autonamed, fit_name
from llmfleet.components.spec import (
    GCP_CONTROL_PLANE_RANGE,
    ClusterSpec,
    FleetSpec,
    GpuPoolSpec,
    RegionSpec,
)

CONTROL_PLANE_PREFIX = 28
"""GKE private control planes take a /28 of the VPC's address space."""

KEY_ROTATION_PERIOD = "7776000s"
"""90 days: new key versions encrypt new data; old versions stay to decrypt what they wrote."""

NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
    "roles/artifactregistry.reader",
)
"""What a node needs: ship logs and metrics, feed the autoscaler, pull images. Workloads get
their own permissions through Workload Identity, never through the node."""

KMS_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
"""With a dedicated service account, IAM roles bound the node's access, not OAuth scopes."""

GPU_DRIVER_VERSION = "LATEST"
"""vLLM images track recent CUDA releases, which need the newest driver GKE offers."""

SYSTEM_DISK_GB = 100
IMAGE_DISK_GB = 200
"""Room for multi-gigabyte serving images on accelerator nodes."""

LOCAL_SSD_GIB = 375
"""Size of one local NVMe SSD on the GPU machine types llmfleet uses."""

HYPERDISK_ONLY_FAMILIES = ("a3-ultragpu-", "a4-", "ct6e-")
"""Machine families whose boot disk must be Hyperdisk; the rest take Persistent Disk."""

ACCOUNT_ID_MAX = 30


def cluster_name(fleet: FleetSpec, region: RegionSpec) -> str:
    """``llm-prod-us-central1``: the GKE cluster's name, at most 40 characters (the spec bounds
    fleet names to 16 for this); Managed Service for Prometheus labels its metrics with it."""
    return f"{fleet.name}-{region.region}"


def control_plane_cidr(region_name: str) -> IPv4Network:
    """The /28 a region's GKE control plane takes inside GCP_CONTROL_PLANE_RANGE.

    Derived from the region name alone, so adding or reordering fleet regions never moves an
    existing control plane (moving it replaces the cluster). Every catalog region gets a
    different /28 (tests hold that), so the regions of one fleet never collide in its VPC.
    """
    slots = 2 ** (CONTROL_PLANE_PREFIX - GCP_CONTROL_PLANE_RANGE.prefixlen)
    slot = int(hashlib.sha256(region_name.encode()).hexdigest(), 16) % slots
    size = 2 ** (32 - CONTROL_PLANE_PREFIX)
    first = int(GCP_CONTROL_PLANE_RANGE.network_address) + slot * size
    return ipaddress.ip_network((first, CONTROL_PLANE_PREFIX))


def _boot_disk_type(machine: catalog.InstanceType) -> str:
    if machine.name.startswith(HYPERDISK_ONLY_FAMILIES):
        return "hyperdisk-balanced"
    # GPU nodes pull large images and may cache weights on the boot disk: SSD throughput pays.
    return "pd-ssd" if _is_gpu(machine) else "pd-balanced"


def _boot_disk_gb(machine: catalog.InstanceType) -> int:
    """Images, plus the model cache when the machine has no local NVMe to hold it."""
    return IMAGE_DISK_GB + model_cache_gib(machine)


def _kind(machine: catalog.InstanceType) -> AcceleratorKind:
    return catalog.accelerator(machine.accelerator).kind


def _is_gpu(machine: catalog.InstanceType) -> bool:
    return _kind(machine) == "gpu"


def _slice_hosts(machine: catalog.InstanceType, topology: str) -> int:
    """How many TPU VMs a slice of ``topology`` (``2x4``) spans on ``machine``."""
    return math.prod(int(side) for side in topology.split("x")) // machine.accelerator_count


def _per_zone(total: int, zones: int) -> int:
    """GKE's initial_node_count counts nodes per zone."""
    return math.ceil(total / zones)


def _taint(kind: AcceleratorKind) -> gcp.container.NodePoolNodeConfigTaintArgs:
    """The scheduling contract's accelerator taint, in the node-pool API's spelling."""
    taint = accelerator_taint(kind)
    return gcp.container.NodePoolNodeConfigTaintArgs(
        key=taint["key"], value=taint["value"], effect="NO_SCHEDULE"
    )


RESERVATION_NAME_KEY = "compute.googleapis.com/reservation-name"
"""Reservation affinity key that names one specific reservation."""


def _capacity_settings(pool: GpuPoolSpec) -> dict:
    """Node settings of the pool's capacity kind (spec ``capacity``)."""
    settings: dict = {"spot": pool.capacity == "spot"}
    if pool.capacity == "flex-start":
        # Dynamic Workload Scheduler: nodes when capacity frees up, never from a reservation.
        settings["flex_start"] = True
        settings["reservation_affinity"] = gcp.container.NodePoolNodeConfigReservationAffinityArgs(
            consume_reservation_type="NO_RESERVATION"
        )
    elif pool.capacity == "reservation":
        settings["reservation_affinity"] = gcp.container.NodePoolNodeConfigReservationAffinityArgs(
            consume_reservation_type="SPECIFIC_RESERVATION",
            key=RESERVATION_NAME_KEY,
            values=[pool.reservation],
        )
    return settings


MAINTENANCE_ANCHOR_DATE = "2025-01-06"
"""A Monday in the past: GKE reads only the time of day and length of the recurring window."""


def maintenance_policy(spec: ClusterSpec) -> gcp.container.ClusterMaintenancePolicyArgs:
    """GKE upgrades (control plane and nodes) only inside the spec's weekly window and never in
    its exclusions; the release channel decides which versions arrive."""
    window = spec.maintenance_window
    start = dt.datetime.fromisoformat(f"{MAINTENANCE_ANCHOR_DATE}T{window.start}:00+00:00")
    end = start + dt.timedelta(hours=window.hours)
    return gcp.container.ClusterMaintenancePolicyArgs(
        recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
            start_time=_rfc3339(start),
            end_time=_rfc3339(end),
            recurrence=f"FREQ=WEEKLY;BYDAY={','.join(window.days)}",
        ),
        maintenance_exclusions=[
            gcp.container.ClusterMaintenancePolicyMaintenanceExclusionArgs(
                exclusion_name=exclusion.name,
                start_time=_rfc3339(exclusion.start),
                end_time=_rfc3339(exclusion.end),
                exclusion_options=(
                    gcp.container.ClusterMaintenancePolicyMaintenanceExclusionExclusionOptionsArgs(
                        scope=exclusion.scope
                    )
                ),
            )
            for exclusion in spec.maintenance_exclusions
        ]
        or None,
    )


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kubeconfig(cluster_name: str, dns_endpoint: str) -> str:
    """A kubeconfig for the DNS-based endpoint (a publicly trusted certificate, so no CA bundle)
    that asks gke-gcloud-auth-plugin for short-lived tokens on every call."""
    return exec_kubeconfig(
        cluster_name,
        f"https://{dns_endpoint}",
        None,
        "gke-gcloud-auth-plugin",
        install_hint="Install gke-gcloud-auth-plugin: "
        "gcloud components install gke-gcloud-auth-plugin",
        provide_cluster_info=True,
    )


@dataclass
class GcpClusterArgs:
    fleet: FleetSpec
    """The fleet: project, labels, and whether stateful resources are protected."""
    region: RegionSpec
    """The GCP region the cluster serves; its ``cluster`` holds versions, access and pools."""
    network_id: pulumi.Input[str]
    """The fleet VPC (GcpVpc.network_id)."""
    subnetwork_id: pulumi.Input[str]
    """The region's node subnet (GcpRegionNetwork.subnetwork_id)."""
    pods_range_name: str
    """Secondary range of the subnet that pod IPs come from."""
    services_range_name: str
    """Secondary range of the subnet that Service cluster IPs come from."""


class GcpCluster(GcpComponent):
    """A private regional GKE Standard cluster, its node pools and a Kubernetes provider."""

    APIS = (
        CONTAINER,
        COMPUTE,
        CONTAINER_FILESYSTEM,
        BINARY_AUTHORIZATION,
        CLOUD_KMS,
        IAM,
        RESOURCE_MANAGER,
        MONITORING,
        LOGGING,
    )

    cluster: gcp.container.Cluster
    kms_key: gcp.kms.CryptoKey
    node_service_account: gcp.serviceaccount.Account
    system_pool: gcp.container.NodePool
    accelerator_pools: dict[str, gcp.container.NodePool]
    """Node pools by spec pool name."""
    provider: kubernetes.Provider
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    workload_pool: pulumi.Output[str]
    """``<project>.svc.id.goog``, read from the cluster so bindings wait until it exists."""
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: GcpClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llmfleet:gcp:Cluster", name, args.fleet.gcp_project, opts)
        self._name = name
        self._fleet = args.fleet
        self._region = args.region
        self._project = args.fleet.gcp_project

        project_number = gcp.organizations.get_project_output(
            project_id=self._project, opts=self._invoke()
        ).number
        self.kms_key = self._kms_key()
        gke_can_encrypt = self._grant_key(
            "gke-agent", project_number, "container-engine-robot.iam.gserviceaccount.com"
        )
        disks_can_encrypt = self._grant_key(
            "compute-agent", project_number, "compute-system.iam.gserviceaccount.com"
        )
        self.node_service_account, node_roles = self._node_service_account()

        # The transient default pool runs as the node account: its roles come first.
        self.cluster = self._cluster(args, depends_on=[gke_can_encrypt, *node_roles])
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.workload_pool = self.cluster.workload_identity_config.workload_pool

        pools_wait_for = [disks_can_encrypt, *node_roles]
        self.system_pool = self._system_pool(pools_wait_for)
        self.accelerator_pools = {
            pool.name: self._accelerator_pool(pool, pools_wait_for)
            for pool in self._region.cluster.gpu_pools
        }

        dns_endpoint = self.cluster.control_plane_endpoints_config.apply(
            lambda config: config.dns_endpoint_config.endpoint
        )
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, dns_endpoint).apply(
                lambda values: _kubeconfig(*values)
            )
        )
        self.provider = kubernetes.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Only a new cluster replaces the provider (and every Kubernetes object); a change
            # of how the provider reaches the same cluster is a plain update.
            cluster_identifier=self.cluster.id,
            # Add-ons installed through this provider need nodes to run on.
            opts=self._child(depends_on=[self.system_pool]),
        )

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "workload_pool": self.workload_pool,
                "kubeconfig": self.kubeconfig,
                "kms_key_id": self.kms_key.id,
                "node_service_account_email": self.node_service_account.email,
            }
        )

    # --- encryption -----------------------------------------------------------------------

    def _kms_key(self) -> gcp.kms.CryptoKey:
        # Key rings and keys can never be deleted in GCP: Pulumi's auto-naming keeps a
        # recreated stack from colliding with the remains of an earlier one.
        protected = self._child(protect=self._fleet.protect)
        ring = gcp.kms.KeyRing(
            autonamed(f"{self._name}-keyring"),
            project=self._project,
            location=self._region.region,
            opts=protected,
        )
        return gcp.kms.CryptoKey(
            autonamed(f"{self._name}-key"),
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION_PERIOD,
            labels=self._fleet.labels(),
            opts=protected,
        )

    def _grant_key(
        self, agent: str, project_number: pulumi.Output[str], domain: str
    ) -> gcp.kms.CryptoKeyIAMMember:
        """Let a Google service agent of the project use the cluster key, and only that key."""
        return gcp.kms.CryptoKeyIAMMember(
            f"{self._name}-key-{agent}",
            crypto_key_id=self.kms_key.id,
            role=KMS_USER_ROLE,
            member=project_number.apply(lambda number: f"serviceAccount:service-{number}@{domain}"),
            opts=self._child(),
        )

    # --- node identity --------------------------------------------------------------------

    def _node_service_account(
        self,
    ) -> tuple[gcp.serviceaccount.Account, list[gcp.projects.IAMMember]]:
        account = gcp.serviceaccount.Account(
            f"{self._name}-nodes",
            project=self._project,
            account_id=fit_name(f"{self._fleet.name}-{self._region.region}-nodes", ACCOUNT_ID_MAX),
            display_name=f"GKE nodes of {self._fleet.name} in {self._region.region}",
            opts=self._child(),
        )
        grants = [
            gcp.projects.IAMMember(
                f"{self._name}-nodes-{role.removeprefix('roles/').replace('.', '-')}",
                project=self._project,
                role=role,
                member=account.member,
                opts=self._child(),
            )
            for role in NODE_ROLES
        ]
        return account, grants

    def grant_model_read(
        self, name: str, namespace: str, service_account: str, store: ModelStore
    ) -> pulumi.Resource:
        """ServingCluster: let ``namespace/service_account`` of this cluster read the bucket
        serving its region in ``store``, through Workload Identity Federation (the grant waits
        for this cluster, whose first Workload Identity cluster creates the project's pool).
        ``name`` is unused: the bucket grant is named by bucket, namespace and account, and
        shared by the regions of a dual-region bucket."""
        if not isinstance(store, GcpModelStorage):
            raise TypeError(
                f"GKE cluster {self._name} reads models from GCP model storage, "
                f"not {type(store).__name__}"
            )
        return store.grant_reader(
            self._region.region, namespace, service_account, self.workload_pool
        )

    # --- the cluster ----------------------------------------------------------------------

    def _cluster(
        self, args: GcpClusterArgs, depends_on: list[pulumi.Resource]
    ) -> gcp.container.Cluster:
        fleet, region = self._fleet, self._region
        spec = region.cluster
        return gcp.container.Cluster(
            f"{self._name}-gke",
            name=cluster_name(fleet, region),
            project=self._project,
            location=region.region,
            node_locations=list(region.zone_names),
            network=args.network_id,
            subnetwork=args.subnetwork_id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=args.pods_range_name,
                services_secondary_range_name=args.services_range_name,
            ),
            # Pools are managed as their own resources; the default pool only exists because
            # GKE cannot create a cluster without one.
            remove_default_node_pool=True,
            initial_node_count=1,
            # The transient default pool runs as the node service account too, never as the
            # project-editor default compute account. Only creation uses it (the pool is removed
            # at once), so a change never replaces the cluster.
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=self.node_service_account.email,
                oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            ),
            private_cluster_config=self._private_cluster_config(),
            control_plane_endpoints_config=self._control_plane_endpoints(),
            master_authorized_networks_config=self._authorized_networks(),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{self._project}.svc.id.goog"
            ),
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(
                state="ENCRYPTED", key_name=self.kms_key.id
            ),
            enable_shielded_nodes=True,
            # CIS GKE 5.8.2: no legacy client certificates, said explicitly.
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                    issue_client_certificate=False
                )
            ),
            # CIS GKE 5.10.5: images are admitted by the project's Binary Authorization policy.
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE"
            ),
            # Dataplane V2 (eBPF) sees pod-to-pod traffic on a node itself; intranode
            # visibility (CIS GKE 5.6.1) is for the legacy dataplane.
            datapath_provider="ADVANCED_DATAPATH",
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=spec.release_channel),
            min_master_version=spec.kubernetes_version,
            maintenance_policy=maintenance_policy(spec),
            cost_management_config=gcp.container.ClusterCostManagementConfigArgs(enabled=True),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=[
                    "SYSTEM_COMPONENTS",
                    "APISERVER",
                    "SCHEDULER",
                    "CONTROLLER_MANAGER",
                    # GPU health and utilisation from GKE's managed DCGM exporter, as EKS gets
                    # from its DCGM exporter chart.
                    "DCGM",
                    # Managed kube-state-metrics: unschedulable serving pods (a GPU stock-out)
                    # and replica counts, which the fleet's alerts and dashboards read.
                    "POD",
                    "DEPLOYMENT",
                ],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(
                    enabled=True
                ),
            ),
            logging_config=gcp.container.ClusterLoggingConfigArgs(
                enable_components=["SYSTEM_COMPONENTS", "WORKLOADS"]
            ),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gce_persistent_disk_csi_driver_config={"enabled": True},
                # Serving pods mount model buckets read-only through Cloud Storage FUSE.
                gcs_fuse_csi_driver_config={"enabled": True},
            ),
            security_posture_config=gcp.container.ClusterSecurityPostureConfigArgs(mode="BASIC"),
            # The GKE Gateway controller and the standard Gateway API CRDs: the regional entry
            # (an in-place update of an existing cluster, never a replacement).
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(
                channel="CHANNEL_STANDARD"
            ),
            resource_labels=fleet.labels(),
            deletion_protection=fleet.protect,
            opts=self._child(
                protect=fleet.protect,
                depends_on=depends_on,
                # The name is fixed (unique per project and region): a replacement frees it first.
                delete_before_replace=True,
                ignore_changes=["nodeConfig"],
            ),
        )

    def _control_plane_endpoints(self) -> gcp.container.ClusterControlPlaneEndpointsConfigArgs:
        """The DNS-based endpoint, authorised by IAM (``container.clusters.connect``) rather
        than by network: `pulumi up` and kubectl reach the control plane from any runner with
        IAM access, no VPN and no allow-listed CIDR. The IP endpoints stay for the nodes."""
        return gcp.container.ClusterControlPlaneEndpointsConfigArgs(
            dns_endpoint_config=(
                gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                    allow_external_traffic=True
                )
            ),
            ip_endpoints_config=(
                gcp.container.ClusterControlPlaneEndpointsConfigIpEndpointsConfigArgs(enabled=True)
            ),
        )

    def _private_cluster_config(self) -> gcp.container.ClusterPrivateClusterConfigArgs:
        public = bool(self._region.cluster.public_access_cidrs)
        return gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            # Without public CIDRs the API server has no public endpoint at all.
            enable_private_endpoint=not public,
            master_ipv4_cidr_block=str(control_plane_cidr(self._region.region)),
            # The private endpoint answers clients in every region of the global VPC; the
            # authorized networks below admit the fleet's GCP node subnets among them.
            master_global_access_config={"enabled": True},
        )

    def _authorized_networks(self) -> gcp.container.ClusterMasterAuthorizedNetworksConfigArgs:
        """Who reaches the IP endpoints: the node subnets of every GCP region of the fleet
        (this region's nodes, and in-cluster tooling elsewhere in the fleet over global access)
        and the spec's public CIDRs. The DNS endpoint is authorised by IAM instead."""
        region = self._region
        blocks = [
            *(
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=str(other.cidr), display_name=f"{other.region} node subnet"
                )
                for other in self._fleet.regions_of("gcp")
            ),
            *(
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=str(cidr), display_name=f"public_access_cidrs[{i}]"
                )
                for i, cidr in enumerate(region.cluster.public_access_cidrs)
            ),
        ]
        return gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=blocks,
            # Any VM with a Google Cloud public IP would otherwise reach the endpoint.
            gcp_public_cidrs_access_enabled=False,
        )

    # --- node pools -----------------------------------------------------------------------

    def _node_config(self, **settings) -> gcp.container.NodePoolNodeConfigArgs:
        """Every pool's hardened baseline, plus the pool's own ``settings``."""
        return gcp.container.NodePoolNodeConfigArgs(
            service_account=self.node_service_account.email,
            oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            image_type="COS_CONTAINERD",
            # Pods see the Workload Identity metadata server, never the node's credentials.
            workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                mode="GKE_METADATA"
            ),
            shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
            kubelet_config=gcp.container.NodePoolNodeConfigKubeletConfigArgs(
                insecure_kubelet_readonly_port_enabled="FALSE"
            ),
            boot_disk_kms_key=self.kms_key.id,
            resource_labels=self._fleet.labels(),
            **settings,
        )

    def _node_pool(
        self,
        pool_name: str,
        depends_on: list[pulumi.Resource],
        **settings,
    ) -> gcp.container.NodePool:
        return gcp.container.NodePool(
            f"{self._name}-{pool_name}",
            name=pool_name,
            project=self._project,
            location=self._region.region,
            cluster=self.cluster.name,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            opts=self._child(
                depends_on=depends_on,
                # The name is fixed (unique in the cluster): a replacement frees it first.
                delete_before_replace=True,
                # Only the creation uses it; afterwards the autoscaler owns the size.
                ignore_changes=["initialNodeCount"],
            ),
            **settings,
        )

    def _system_pool(self, depends_on: list[pulumi.Resource]) -> gcp.container.NodePool:
        spec = self._region.cluster.system_pool
        zones = list(self._region.zone_names)
        return self._node_pool(
            SYSTEM_POOL,
            depends_on,
            node_locations=zones,
            initial_node_count=_per_zone(spec.min_nodes, len(zones)),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=spec.min_nodes,
                total_max_node_count=spec.max_nodes,
                location_policy="BALANCED",
            ),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE", max_surge=1, max_unavailable=0
            ),
            node_config=self._node_config(
                machine_type=spec.instance_type or catalog.default_system_instance_type("gcp"),
                disk_type="pd-balanced",
                disk_size_gb=SYSTEM_DISK_GB,
                labels=system_node_labels(),
            ),
        )

    def _accelerator_pool(
        self, pool: GpuPoolSpec, depends_on: list[pulumi.Resource]
    ) -> gcp.container.NodePool:
        machine = self._region.instance_type_for(pool)
        placement = (
            self._gpu_placement(pool) if _is_gpu(machine) else self._tpu_placement(pool, machine)
        )
        return self._node_pool(
            pool.name,
            depends_on,
            **placement,
            # Scarce accelerators: upgrade in place, one node at a time, instead of needing a
            # spare machine to surge onto.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE", max_surge=0, max_unavailable=1
            ),
            node_config=self._node_config(
                machine_type=machine.name,
                disk_type=_boot_disk_type(machine),
                disk_size_gb=_boot_disk_gb(machine),
                labels=pool_node_labels(pool.name, machine.accelerator),
                **_capacity_settings(pool),
                **self._accelerator_settings(machine),
            ),
        )

    def _accelerator_settings(self, machine: catalog.InstanceType) -> dict:
        """Accelerator, taint and local storage of a GPU or TPU node."""
        if not _is_gpu(machine):
            # TPU chips come with the machine type; only serving pods tolerate the taint.
            return {"taints": [_taint("tpu")]}
        settings: dict = {
            "guest_accelerators": [
                gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=machine.gke_accelerator,
                    count=machine.accelerator_count,
                    gpu_driver_installation_config={"gpu_driver_version": GPU_DRIVER_VERSION},
                )
            ],
            # GKE taints GPU nodes itself only when the cluster already has a non-GPU pool,
            # which a new cluster, its default pool just removed, may not have yet.
            "taints": [_taint("gpu")],
            # Image streaming starts multi-gigabyte serving images before they are pulled.
            "gcfs_config": gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True),
            # A3 machine types support gVNIC only; on every GPU machine it raises the bandwidth
            # image pulls and weight downloads get.
            "gvnic": gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True),
        }
        if machine.local_nvme_gib:
            # The machine's NVMe SSDs back ephemeral storage: the model cache reads from there.
            settings["ephemeral_storage_local_ssd_config"] = (
                gcp.container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgs(
                    local_ssd_count=machine.local_nvme_gib // LOCAL_SSD_GIB
                )
            )
        return settings

    def _gpu_placement(self, pool: GpuPoolSpec) -> dict:
        """Spread over the cluster's zones that offer the machine type (GKE refuses a pool when
        one of its locations lacks it), scaling in whichever zone has capacity."""
        zones = list(self._region.pool_zones(pool))
        return {
            "node_locations": zones,
            "initial_node_count": _per_zone(pool.min_nodes, len(zones)),
            "autoscaling": gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes,
                total_max_node_count=pool.max_nodes,
                # Spot and scarce GPUs: take capacity wherever it is, not balanced zones.
                location_policy="ANY",
            ),
        }

    def _tpu_placement(self, pool: GpuPoolSpec, machine: catalog.InstanceType) -> dict:
        """A compact slice in the first cluster zone that offers the TPU type.

        A single-host slice scales like any pool. A multi-host slice is provisioned and
        repaired as one unit, so its size is the host count of its topology and the pool's
        min_nodes / max_nodes do not apply.
        """
        topology = pool.tpu_topology or machine.tpu_topology
        placement = {
            "node_locations": list(self._region.pool_zones(pool)),
            "placement_policy": gcp.container.NodePoolPlacementPolicyArgs(
                type="COMPACT", tpu_topology=topology
            ),
        }
        hosts = _slice_hosts(machine, topology)
        if hosts > 1:
            return {**placement, "initial_node_count": hosts}
        return {
            **placement,
            "initial_node_count": pool.min_nodes,
            "autoscaling": gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes,
                total_max_node_count=pool.max_nodes,
                location_policy="ANY",
            ),
        }
