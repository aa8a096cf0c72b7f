"""GPU capacity for an EKS cluster: Karpenter, one NodePool per GPU pool, NVIDIA node agents.

Karpenter launches GPU nodes when pods ask for them and removes them when they are empty, so
every GPU pool scales from zero and nothing GPU-shaped runs idle. Each pool is pinned to one
instance type (from the catalog, or the pool's explicit override), taints its nodes for GPU
workloads only and caps its size by ``max_nodes``. An SQS queue fed by EventBridge tells
Karpenter about Spot interruptions, rebalance recommendations, instance state changes and
scheduled AWS Health events, so it drains a node before EC2 takes it away.

GPU nodes run the EKS-optimized AL2023 AMI (``al2023@latest``): Karpenter picks its NVIDIA
variant for GPU instance types, with the driver, container toolkit and EFA preinstalled, and
supports ``instanceStorePolicy: RAID0`` so the local NVMe of types like ``p5.48xlarge`` backs the
container runtime and the model cache. The AMI leaves the NVIDIA device plugin to the cluster,
so its version is pinned here (Bottlerocket bundles its own, which would make two plugins
advertise the same GPUs); DCGM exporter publishes GPU health and utilisation metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from components import catalog
from components.aws import iam
from components.naming import fit_name
from components.spec import FleetSpec, GpuPoolSpec, RegionSpec

if TYPE_CHECKING:
    from components.aws.cluster import AwsCluster

KARPENTER_VERSION = "1.14.1"
"""Chart and controller version; the NodePool / EC2NodeClass schemas here follow it."""
KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_CRD_CHART = "oci://public.ecr.aws/karpenter/karpenter-crd"
"""Helm installs a chart's bundled CRDs once and never upgrades them; Karpenter's own CRD
chart keeps them in step with the controller on every version bump."""
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
KARPENTER_REPLICAS = 2

DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag (value: the cluster name) on the private subnets and the cluster security group."""

POOL_LABEL = "llmfleet.io/pool"
SYSTEM_POOL = "system"
"""``llmfleet.io/pool`` of the system node group, where Karpenter itself runs."""
ACCELERATOR_LABEL = "llmfleet.io/accelerator"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT = {"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}
"""Keeps everything that does not ask for a GPU off GPU nodes."""
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
GPU_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {
                            "key": "karpenter.k8s.aws/instance-gpu-manufacturer",
                            "operator": "In",
                            "values": ["nvidia"],
                        }
                    ]
                }
            ]
        }
    }
}
"""NVIDIA nodes only; replaces the device plugin chart's default affinity, which expects
node-feature-discovery labels that these nodes do not carry."""

AMI_ALIAS = "al2023@latest"
"""New AMIs roll out as drift, within the pools' disruption budget."""
ROOT_DEVICE = "/dev/xvda"
"""Root device name of the EKS-optimized AL2023 AMIs (system and GPU nodes)."""
METADATA_HOP_LIMIT = 1
"""IMDSv2 hop limit of every node. Responses do not survive the extra hop into a pod's network
namespace: pods get credentials from Pod Identity (or IRSA), never from the node role, while the
host-network daemons that read instance metadata (VPC CNI, kube-proxy, EBS CSI node) sit on the
node's own hop."""
OS_VOLUME_GIB = 100
"""Root volume when the instance store takes the container runtime and model cache."""
CONSOLIDATE_AFTER = "15m"
"""How long a GPU node stays empty or underused before Karpenter removes or replaces it: long
enough to ride out a dip in traffic without reloading model weights on a fresh node."""

INTERRUPTION_EVENTS = {
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "scheduled-change": ("aws.health", "AWS Health Event"),
}
"""EventBridge rules feeding the interruption queue: rule suffix -> (source, detail-type)."""
EVENT_RULE_NAME_MAX_LENGTH = 64
"""EventBridge refuses longer rule names."""
INTERRUPTION_MESSAGE_RETENTION_SECONDS = 300
"""Interruption notices are useless after the two-minute Spot warning; old ones are dropped."""

NVIDIA_NAMESPACE = "nvidia"


@dataclass(frozen=True)
class HelmChart:
    """An upstream Helm chart pinned to one version."""

    name: str
    repo: str
    version: str


NVIDIA_DEVICE_PLUGIN = HelmChart(
    "nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.18.2"
)
DCGM_EXPORTER = HelmChart(
    "dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.8.1"
)


def gpu_instance_type(pool: GpuPoolSpec, region: RegionSpec) -> catalog.InstanceType:
    """The pool's instance type: its explicit override, else the catalog's cheapest fit.

    An override must be in the catalog too: the pool's limits, volume layout and cost estimate
    come from the type's shape.
    """
    if pool.instance_type is not None:
        return catalog.instance_type("aws", pool.instance_type)
    return catalog.resolve("aws", pool.accelerator, pool.count, region.region)


def capacity_types(pool: GpuPoolSpec) -> list[str]:
    """Karpenter capacity types; with both allowed it launches Spot and falls back to on-demand."""
    if not pool.spot:
        return ["on-demand"]
    return ["spot", "on-demand"] if pool.on_demand_fallback else ["spot"]


def root_volume_gib(instance: catalog.InstanceType) -> int:
    """Root volume of a GPU node.

    With local NVMe the instance store holds images and model weights, and the root volume only
    the OS. Without, the root volume also holds the serving image and the model cache: weights
    fit in GPU memory, and twice that lets a new model version download beside the one serving.
    """
    if instance.local_nvme_gib > 0:
        return OS_VOLUME_GIB
    return OS_VOLUME_GIB + 2 * instance.gpu_memory_gib


def _quantity_gib(gib: float) -> str:
    return f"{int(gib)}Gi" if float(gib).is_integer() else f"{round(gib * 1024)}Mi"


def node_pool_spec(
    pool: GpuPoolSpec, region: RegionSpec, instance: catalog.InstanceType
) -> dict[str, Any]:
    """The ``karpenter.sh/v1`` NodePool spec of one GPU pool (its EC2NodeClass shares its name)."""
    return {
        "template": {
            "metadata": {"labels": {POOL_LABEL: pool.name, ACCELERATOR_LABEL: pool.accelerator}},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": pool.name,
                },
                "requirements": [
                    {
                        "key": "node.kubernetes.io/instance-type",
                        "operator": "In",
                        "values": [instance.name],
                    },
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": capacity_types(pool),
                    },
                    {
                        "key": "topology.kubernetes.io/zone",
                        "operator": "In",
                        "values": list(region.zone_names),
                    },
                ],
                "taints": [GPU_TAINT],
            },
        },
        # Karpenter counts what its nodes carry: these allow exactly max_nodes of the type.
        "limits": {
            GPU_RESOURCE: pool.max_nodes * pool.count,
            "cpu": pool.max_nodes * instance.vcpu,
            "memory": _quantity_gib(pool.max_nodes * instance.memory_gib),
        },
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": CONSOLIDATE_AFTER,
            # Empty nodes go at once (they only cost money); nodes still serving are replaced
            # one at a time, so a pool never loses more than one node's capacity to a move.
            "budgets": [{"nodes": "1", "reasons": ["Underutilized", "Drifted"]}],
        },
    }


def node_class_spec(
    instance: catalog.InstanceType,
    cluster_name: str,
    node_role_name: pulumi.Input[str],
    volume_kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
) -> dict[str, Any]:
    """The ``karpenter.k8s.aws/v1`` EC2NodeClass spec for nodes of one instance type."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    spec: dict[str, Any] = {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": AMI_ALIAS}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": METADATA_HOP_LIMIT,
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{root_volume_gib(instance)}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "kmsKeyID": volume_kms_key_arn,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": tags,
    }
    if instance.local_nvme_gib > 0:
        spec["instanceStorePolicy"] = "RAID0"
    return spec


def _statement(
    sid: str, action: str | list[str], resource: str | list[str], **condition: Any
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def controller_policy(
    partition: str,
    account_id: str,
    region: str,
    cluster_name: str,
    queue_arn: str,
    node_role_arn: str,
) -> str:
    """The Karpenter controller's permissions, after the upstream CloudFormation policies of
    ``KARPENTER_VERSION``, less launching into capacity reservations and placement groups (no
    pool selects them) and zonal shift (off by default).

    Everything it creates must carry the cluster's ownership tags, everything it deletes must
    already carry them, it reads only its own region, and it passes only the node role.
    """
    ec2 = f"arn:{partition}:ec2:{region}"
    profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    owned = f"kubernetes.io/cluster/{cluster_name}"
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    request_owned = {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    resource_owned = {f"aws:ResourceTag/{owned}": "owned"}
    of_node_pool = {"StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}
    for_node_pool = {"StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}
    in_region = {"aws:ResourceTag/topology.kubernetes.io/region": region}
    for_node_class = {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    of_node_class = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    return iam.policy_document(
        _statement(
            "AllowScopedEC2InstanceAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
            ],
        ),
        _statement(
            "AllowScopedEC2LaunchTemplateAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            f"{ec2}:*:launch-template/*",
            StringEquals=resource_owned,
            **of_node_pool,
        ),
        _statement(
            "AllowScopedEC2InstanceActionsWithTags",
            ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            launched,
            StringEquals=request_owned,
            **for_node_pool,
        ),
        _statement(
            "AllowScopedResourceCreationTagging",
            "ec2:CreateTags",
            launched,
            StringEquals={
                **request_owned,
                "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
            },
            **for_node_pool,
        ),
        _statement(
            "AllowScopedResourceTagging",
            "ec2:CreateTags",
            f"{ec2}:*:instance/*",
            StringEquals=resource_owned,
            StringLike={"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            StringEqualsIfExists={"aws:RequestTag/eks:eks-cluster-name": cluster_name},
            **{
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                }
            },
        ),
        _statement(
            "AllowScopedDeletion",
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            StringEquals=resource_owned,
            **of_node_pool,
        ),
        _statement(
            "AllowRegionalReadActions",
            [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                # Since 1.12 the interruption controller checks instance status (health).
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "*",
            StringEquals={"aws:RequestedRegion": region},
        ),
        _statement(
            "AllowSSMReadActions",
            "ssm:GetParameter",
            f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
        ),
        _statement("AllowPricingReadActions", "pricing:GetProducts", "*"),
        _statement(
            "AllowInterruptionQueueActions",
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            queue_arn,
        ),
        _statement(
            "AllowPassingInstanceRole",
            "iam:PassRole",
            node_role_arn,
            StringEquals={"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        _statement(
            "AllowScopedInstanceProfileCreationActions",
            "iam:CreateInstanceProfile",
            profiles,
            StringEquals={
                **request_owned,
                "aws:RequestTag/topology.kubernetes.io/region": region,
            },
            StringLike=for_node_class,
        ),
        _statement(
            "AllowScopedInstanceProfileTagActions",
            "iam:TagInstanceProfile",
            profiles,
            StringEquals={
                **resource_owned,
                **in_region,
                **request_owned,
                "aws:RequestTag/topology.kubernetes.io/region": region,
            },
            StringLike={**of_node_class, **for_node_class},
        ),
        _statement(
            "AllowScopedInstanceProfileActions",
            [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            profiles,
            StringEquals={**resource_owned, **in_region},
            StringLike=of_node_class,
        ),
        _statement("AllowInstanceProfileReadActions", "iam:GetInstanceProfile", profiles),
        # The instance-profile garbage collector lists every profile; IAM cannot scope a List.
        _statement("AllowUnscopedInstanceProfileListAction", "iam:ListInstanceProfiles", "*"),
        _statement(
            "AllowAPIServerEndpointDiscovery",
            "eks:DescribeCluster",
            f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}",
        ),
    )


def interruption_queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send to the queue; nobody may use it without TLS."""
    return iam.policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        policy_id="EC2InterruptionPolicy",
    )


@dataclass
class KarpenterArgs:
    """What Karpenter is installed from."""

    fleet: FleetSpec
    """The fleet: tags."""
    region: RegionSpec
    """The AWS region: its zones and GPU pools."""
    cluster: AwsCluster
    """The cluster Karpenter runs in and launches nodes for: its name, endpoint, key,
    Kubernetes provider, Karpenter node role and Pod Identity roles."""
    after: Sequence[pulumi.Resource]
    """What must exist before Karpenter runs: add-ons (DNS, Pod Identity agent), system nodes,
    and what its nodes need to join (node role policies, access entry, security group tag)."""


class Karpenter(pulumi.ComponentResource):
    """Karpenter, its interruption queue, one EC2NodeClass + NodePool per GPU pool, and the
    NVIDIA device plugin and DCGM exporter on GPU nodes."""

    interruption_queue: aws.sqs.Queue
    controller_role: aws.iam.Role
    release: kubernetes.helm.v3.Release
    node_classes: dict[str, kubernetes.apiextensions.CustomResource]
    """By GPU pool name."""
    node_pools: dict[str, kubernetes.apiextensions.CustomResource]
    """By GPU pool name."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:aws:Karpenter", name, None, opts)
        self._name = name
        self._fleet = args.fleet
        self._region = args.region.region
        self._cluster = args.cluster
        cluster = args.cluster

        self.interruption_queue = self._interruption_queue()
        self.controller_role = cluster.service_account_role(
            "karpenter-controller",
            KARPENTER_NAMESPACE,
            KARPENTER_SERVICE_ACCOUNT,
            policy_json=pulumi.Output.all(
                cluster.partition,
                cluster.account_id,
                self.interruption_queue.arn,
                cluster.karpenter_node_role.arn,
            ).apply(
                lambda v: controller_policy(
                    v[0], v[1], self._region, cluster.cluster_name, v[2], v[3]
                )
            ),
        )
        identity = cluster.pod_identity_associations[
            f"{KARPENTER_NAMESPACE}/{KARPENTER_SERVICE_ACCOUNT}"
        ]
        crds = self._release(
            f"{name}-crd", "karpenter-crd", KARPENTER_CRD_CHART, KARPENTER_VERSION, {}
        )
        self.release = self._release(
            name,
            "karpenter",
            KARPENTER_CHART,
            KARPENTER_VERSION,
            self._controller_values(),
            skip_crds=True,
            depends_on=[*args.after, identity, crds],
        )

        self.node_classes = {}
        self.node_pools = {}
        for pool in args.region.cluster.gpu_pools:
            self._gpu_pool(pool, args.region)
        self._nvidia_node_agents()
        self.register_outputs(
            {
                "interruption_queue_url": self.interruption_queue.url,
                "controller_role_arn": self.controller_role.arn,
                "node_pools": list(self.node_pools),
            }
        )

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _kubernetes(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return self._child(provider=self._cluster.provider, **kwargs)

    def _tags(self, name: str) -> dict[str, str]:
        return {**self._fleet.labels(), "Name": name}

    def _interruption_queue(self) -> aws.sqs.Queue:
        queue = aws.sqs.Queue(
            f"{self._name}-interruption",
            name=self._cluster.cluster_name,
            message_retention_seconds=INTERRUPTION_MESSAGE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            region=self._region,
            tags=self._tags(f"{self._name}-interruption"),
            opts=self._child(),
        )
        aws.sqs.QueuePolicy(
            f"{self._name}-interruption",
            queue_url=queue.url,
            policy=queue.arn.apply(interruption_queue_policy),
            region=self._region,
            opts=self._child(),
        )
        for event, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{self._name}-{event}",
                name=fit_name(
                    f"{self._cluster.cluster_name}-karpenter-{event}", EVENT_RULE_NAME_MAX_LENGTH
                ),
                description=f"{detail_type} -> Karpenter of {self._cluster.cluster_name}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                region=self._region,
                tags=self._tags(f"{self._name}-{event}"),
                opts=self._child(),
            )
            aws.cloudwatch.EventTarget(
                f"{self._name}-{event}",
                rule=rule.name,
                arn=queue.arn,
                target_id="KarpenterInterruptionQueueTarget",
                region=self._region,
                opts=self._child(),
            )
        return queue

    def _controller_values(self) -> dict[str, Any]:
        return {
            "settings": {
                "clusterName": self._cluster.cluster_name,
                "clusterEndpoint": self._cluster.endpoint,
                "interruptionQueue": self.interruption_queue.name,
            },
            "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT},
            "replicas": KARPENTER_REPLICAS,
            "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            # Karpenter must not run on nodes it may remove: it lives on the system pool.
            "nodeSelector": {"kubernetes.io/os": "linux", POOL_LABEL: SYSTEM_POOL},
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            "controller": {
                # The hop limit keeps pods away from instance metadata, where the SDK would
                # otherwise look up the region.
                "env": [{"name": "AWS_REGION", "value": self._region}],
                "resources": {
                    "requests": {"cpu": "1", "memory": "1Gi"},
                    "limits": {"memory": "1Gi"},
                },
            },
        }

    def _release(
        self,
        resource: str,
        release: str,
        chart: str,
        version: str,
        values: dict[str, Any],
        namespace: pulumi.Input[str] = KARPENTER_NAMESPACE,
        repo: str | None = None,
        skip_crds: bool = False,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> kubernetes.helm.v3.Release:
        return kubernetes.helm.v3.Release(
            resource,
            name=release,
            chart=chart,
            version=version,
            repository_opts=kubernetes.helm.v3.RepositoryOptsArgs(repo=repo) if repo else None,
            namespace=namespace,
            values=values,
            skip_crds=skip_crds,
            opts=self._kubernetes(depends_on=list(depends_on)),
        )

    def _gpu_pool(self, pool: GpuPoolSpec, region: RegionSpec) -> None:
        instance = gpu_instance_type(pool, region)
        resource = f"{self._name}-{pool.name}"
        cluster = self._cluster
        node_class = kubernetes.apiextensions.CustomResource(
            resource,
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": pool.name},
            spec=node_class_spec(
                instance,
                cluster.cluster_name,
                cluster.karpenter_node_role.name,
                cluster.kms_key.arn,
                self._fleet.labels(),
            ),
            opts=self._kubernetes(depends_on=[self.release]),
        )
        self.node_classes[pool.name] = node_class
        self.node_pools[pool.name] = kubernetes.apiextensions.CustomResource(
            resource,
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": pool.name},
            spec=node_pool_spec(pool, region, instance),
            opts=self._kubernetes(depends_on=[self.release, node_class]),
        )

    def _nvidia_node_agents(self) -> None:
        namespace = kubernetes.core.v1.Namespace(
            f"{self._name}-{NVIDIA_NAMESPACE}",
            metadata={
                "name": NVIDIA_NAMESPACE,
                # The device plugin mounts the kubelet's device-plugin socket directory and the
                # exporter needs SYS_ADMIN for profiling metrics: both are privileged pods.
                "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
            },
            opts=self._kubernetes(),
        )
        on_gpu_nodes = {"affinity": GPU_NODE_AFFINITY, "tolerations": [GPU_TOLERATION]}
        for chart, values in (
            (NVIDIA_DEVICE_PLUGIN, on_gpu_nodes),
            # No Prometheus operator is installed here, so no ServiceMonitor: scrape the Service.
            (DCGM_EXPORTER, {**on_gpu_nodes, "serviceMonitor": {"enabled": False}}),
        ):
            self._release(
                f"{self._name}-{chart.name}",
                chart.name,
                chart.name,
                chart.version,
                values,
                namespace=namespace.metadata.name,
                repo=chart.repo,
            )
