"""GPU capacity for an EKS cluster: Karpenter, one NodePool per GPU pool, NVIDIA node agents.

Karpenter launches GPU nodes when pods ask for them and removes them when they are empty, so
every GPU pool scales from zero and nothing GPU-shaped runs idle. Each pool is pinned to one
instance type (from the catalog, or the pool's explicit override), taints its nodes for GPU
workloads only and caps its size by ``max_nodes``. An SQS queue fed by EventBridge tells
Karpenter about Spot interruptions, rebalance recommendations, instance state changes and
scheduled AWS Health events, so it drains a node before EC2 takes it away.

GPU nodes run a pinned release of the EKS-optimized AL2023 AMI (spec ``node_image``, e.g.
``al2023@v20260520``; new releases roll out as drift, only inside the maintenance window, one
node at a time): Karpenter picks its NVIDIA
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
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from llmfleet.components import catalog
from llmfleet.components.aws import iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.k8s.helm import HelmChart, helm_release
from llmfleet.components.k8s.nvidia import install_nvidia_node_agents
from llmfleet.components.k8s.scheduling import (
    KARPENTER_CAPACITY_TYPE,
    SYSTEM_POOL,
    accelerator_resource,
    accelerator_taint,
    model_cache_gib,
    pool_node_labels,
    pool_node_selector,
)
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import (
    WEEKDAYS,
    FleetSpec,
    GpuPoolSpec,
    MaintenanceWindowSpec,
    RegionSpec,
)

KARPENTER_VERSION = "1.14.1"
"""Chart and controller version; the NodePool / EC2NodeClass schemas here follow it."""
KARPENTER = HelmChart(
    "karpenter", None, KARPENTER_VERSION, chart="oci://public.ecr.aws/karpenter/karpenter"
)
KARPENTER_CRDS = HelmChart(
    "karpenter-crd", None, KARPENTER_VERSION, chart="oci://public.ecr.aws/karpenter/karpenter-crd"
)
"""Helm installs a chart's bundled CRDs once and never upgrades them; Karpenter's own CRD
chart keeps them in step with the controller on every version bump."""
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
KARPENTER_SERVICE = "karpenter"
"""The chart's Service: its full name, the release being named after the chart."""
KARPENTER_METRICS_PORT = "http-metrics"
"""The Service port serving the controller's Prometheus metrics (8080)."""
KARPENTER_REPLICAS = 2

DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag (value: the cluster name) on the private subnets and the cluster security group."""

NVIDIA_NODE_AFFINITY = {
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
"""NVIDIA nodes only, by the label Karpenter puts on every node it launches."""

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
    # Interruptible capacity reservations and ending capacity blocks reclaim their instances.
    "capacity-reservation-interruption": (
        "aws.ec2",
        "EC2 Capacity Reservation Instance Interruption Warning",
    ),
}
"""EventBridge rules feeding the interruption queue: rule suffix -> (source, detail-type)."""
EVENT_RULE_NAME_MAX_LENGTH = 64
"""EventBridge refuses longer rule names."""
INTERRUPTION_MESSAGE_RETENTION_SECONDS = 300
"""Interruption notices are useless after the two-minute Spot warning; old ones are dropped."""


def interruption_queue_arn(partition: str, account_id: str, region: str, cluster_name: str) -> str:
    """The interruption queue's ARN: the queue is named after the cluster, so the controller's
    policy can name it before the queue exists."""
    return f"arn:{partition}:sqs:{region}:{account_id}:{cluster_name}"


def capacity_types(pool: GpuPoolSpec) -> list[str]:
    """Karpenter capacity types of the pool's capacity kind. With two allowed, Karpenter takes
    the first (reserved or Spot) while it lasts and falls back to on-demand."""
    if pool.capacity == "capacity-block":
        return ["reserved"]
    first = {"spot": "spot", "reservation": "reserved"}.get(pool.capacity)
    if first is None:
        return ["on-demand"]
    return [first, "on-demand"] if pool.on_demand_fallback else [first]


def _requirement(key: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": values}


def root_volume_gib(instance: catalog.InstanceType) -> int:
    """Root volume of a GPU node: the OS and images, plus the model cache when the instance has
    no local NVMe to hold it (``RAID0`` instance store takes images and cache there)."""
    return OS_VOLUME_GIB + model_cache_gib(instance)


def _quantity_gib(gib: float) -> str:
    return f"{int(gib)}Gi" if float(gib).is_integer() else f"{round(gib * 1024)}Mi"


MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def drift_budgets(window: MaintenanceWindowSpec) -> list[dict[str, Any]]:
    """Disruption budgets allowing no drift replacements outside the maintenance window.

    Karpenter applies the most restrictive active budget; a budget with a schedule is active
    from each cron time for its duration. One zero budget per gap between window openings
    blocks drift everywhere but inside the window.
    """
    hour, minute = map(int, window.start.split(":"))
    opens = sorted(
        WEEKDAYS.index(day) * MINUTES_PER_DAY + hour * 60 + minute for day in window.days
    )
    budgets = []
    for i, start in enumerate(opens):
        closes = start + window.hours * 60
        next_open = opens[(i + 1) % len(opens)] + (MINUTES_PER_WEEK if i + 1 == len(opens) else 0)
        gap = next_open - closes
        if gap <= 0:
            continue
        at = closes % MINUTES_PER_WEEK
        day, minute_of_day = divmod(at, MINUTES_PER_DAY)
        budgets.append(
            {
                "nodes": "0",
                "reasons": ["Drifted"],
                "schedule": f"{minute_of_day % 60} {minute_of_day // 60} * * {CRON_DAYS[day]}",
                "duration": f"{gap // 60}h{gap % 60}m" if gap % 60 else f"{gap // 60}h",
            }
        )
    return budgets


def node_requirements(
    pool: GpuPoolSpec, region: RegionSpec, instance: catalog.InstanceType
) -> list[dict[str, Any]]:
    """What every node of the pool must be: its type and capacity, in the cluster's zones and,
    where the catalog knows them, in the zone IDs offering the type (zone names map to other
    physical zones in every account; zone IDs do not)."""
    requirements = [
        _requirement("node.kubernetes.io/instance-type", [instance.name]),
        _requirement(KARPENTER_CAPACITY_TYPE, capacity_types(pool)),
        _requirement("topology.kubernetes.io/zone", list(region.zone_names)),
    ]
    offered = instance.zones_in(region.region)
    if offered:
        requirements.append(_requirement("topology.k8s.aws/zone-id", list(offered)))
    if pool.capacity == "capacity-block":
        requirements.append(
            _requirement("karpenter.k8s.aws/capacity-reservation-type", ["capacity-block"])
        )
    return requirements


def node_pool_spec(
    pool: GpuPoolSpec, region: RegionSpec, instance: catalog.InstanceType
) -> dict[str, Any]:
    """The ``karpenter.sh/v1`` NodePool spec of one GPU pool (its EC2NodeClass shares its name)."""
    return {
        "template": {
            "metadata": {"labels": pool_node_labels(pool.name, pool.accelerator)},
            "spec": {
                "nodeClassRef": {
                    "group": "karpenter.k8s.aws",
                    "kind": "EC2NodeClass",
                    "name": pool.name,
                },
                "requirements": node_requirements(pool, region, instance),
                "taints": [accelerator_taint("gpu")],
            },
        },
        # Karpenter counts what its nodes carry: these allow exactly max_nodes of the type.
        "limits": {
            accelerator_resource("gpu"): pool.max_nodes * pool.count,
            "cpu": pool.max_nodes * instance.vcpu,
            "memory": _quantity_gib(pool.max_nodes * instance.memory_gib),
        },
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": CONSOLIDATE_AFTER,
            # Empty nodes go at once (they only cost money); nodes still serving are replaced
            # one at a time, so a pool never loses more than one node's capacity to a move,
            # and a new node image rolls only inside the maintenance window.
            "budgets": [
                {"nodes": "1", "reasons": ["Underutilized", "Drifted"]},
                *drift_budgets(region.cluster.maintenance_window),
            ],
        },
    }


def node_class_spec(
    instance: catalog.InstanceType,
    node_image: str,
    cluster_name: str,
    node_role_name: pulumi.Input[str],
    volume_kms_key_arn: pulumi.Input[str],
    tags: dict[str, str],
    reservation: str | None = None,
) -> dict[str, Any]:
    """The ``karpenter.k8s.aws/v1`` EC2NodeClass spec for nodes of one instance type running
    the AMI alias ``node_image`` (``al2023@v20260520``; its NVIDIA variant on GPU types),
    launched into the EC2 capacity reservation or capacity block ``reservation`` where given."""
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    spec: dict[str, Any] = {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": node_image}],
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
    if reservation is not None:
        spec["capacityReservationSelectorTerms"] = [{"id": reservation}]
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
    ``KARPENTER_VERSION``, less launching into placement groups (no pool selects them) and
    zonal shift (off by default).

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
                # Pools with capacity reservation or capacity-block launch into their reservation.
                f"{ec2}:*:capacity-reservation/*",
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
    """What Karpenter is installed from: plain values of the cluster it serves."""

    fleet: FleetSpec
    """The fleet: tags."""
    region: RegionSpec
    """The AWS region: its zones and GPU pools."""
    cluster_name: str
    """The EKS cluster Karpenter launches nodes for (also its interruption queue's name)."""
    cluster_endpoint: pulumi.Input[str]
    """The cluster's API server endpoint."""
    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider."""
    node_role_name: pulumi.Input[str]
    """The IAM role of the nodes Karpenter launches (its instance profile's role)."""
    node_volume_key_arn: pulumi.Input[str]
    """The KMS key encrypting the nodes' EBS volumes."""
    controller_identity: pulumi.Resource
    """The Pod Identity association giving the controller's service account
    (``kube-system/karpenter``) its role; the controller starts after it."""
    after: Sequence[pulumi.Resource]
    """What must exist before Karpenter runs: add-ons (DNS, Pod Identity agent), system nodes,
    and what its nodes need to join (node role policies, access entry, security group tag)."""


class Karpenter(AwsComponent):
    """Karpenter, its interruption queue, one EC2NodeClass + NodePool per GPU pool, and the
    NVIDIA device plugin and DCGM exporter on GPU nodes."""

    interruption_queue: aws.sqs.Queue
    release: kubernetes.helm.v3.Release
    node_classes: dict[str, kubernetes.apiextensions.CustomResource]
    """By GPU pool name."""
    node_pools: dict[str, kubernetes.apiextensions.CustomResource]
    """By GPU pool name."""

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llmfleet:aws:Karpenter", name, args.fleet.labels(), opts)
        self._name = name
        self._args = args
        self._region = args.region.region

        self.interruption_queue = self._interruption_queue()
        crds = helm_release(f"{name}-crd", KARPENTER_CRDS, {}, KARPENTER_NAMESPACE, self._k8s())
        self.release = helm_release(
            name,
            KARPENTER,
            self._controller_values(),
            KARPENTER_NAMESPACE,
            self._k8s(depends_on=[*args.after, args.controller_identity, crds]),
            skip_crds=True,
        )

        self.node_classes = {}
        self.node_pools = {}
        for pool in args.region.cluster.gpu_pools:
            self._gpu_pool(pool, args.region)
        install_nvidia_node_agents(name, NVIDIA_NODE_AFFINITY, self, args.provider)
        self.register_outputs(
            {
                "interruption_queue_url": self.interruption_queue.url,
                "node_pools": list(self.node_pools),
            }
        )

    def _k8s(self, **options: Any) -> pulumi.ResourceOptions:
        return self._child(provider=self._args.provider, **options)

    def _interruption_queue(self) -> aws.sqs.Queue:
        cluster_name = self._args.cluster_name
        queue = aws.sqs.Queue(
            f"{self._name}-interruption",
            name=cluster_name,
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
                name=fit_name(f"{cluster_name}-karpenter-{event}", EVENT_RULE_NAME_MAX_LENGTH),
                description=f"{detail_type} -> Karpenter of {cluster_name}",
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
                "clusterName": self._args.cluster_name,
                "clusterEndpoint": self._args.cluster_endpoint,
                "interruptionQueue": self.interruption_queue.name,
                # Launches into EC2 capacity reservations and capacity blocks ("reserved").
                "featureGates": {"reservedCapacity": True},
            },
            "serviceAccount": {"create": True, "name": KARPENTER_SERVICE_ACCOUNT},
            "replicas": KARPENTER_REPLICAS,
            "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            # Karpenter must not run on nodes it may remove: it lives on the system pool.
            "nodeSelector": {"kubernetes.io/os": "linux", **pool_node_selector(SYSTEM_POOL)},
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

    def _gpu_pool(self, pool: GpuPoolSpec, region: RegionSpec) -> None:
        instance = region.instance_type_for(pool)
        resource = f"{self._name}-{pool.name}"
        node_class = kubernetes.apiextensions.CustomResource(
            resource,
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": pool.name},
            spec=node_class_spec(
                instance,
                region.cluster.node_image,
                self._args.cluster_name,
                self._args.node_role_name,
                self._args.node_volume_key_arn,
                self._labels,
                reservation=pool.reservation,
            ),
            opts=self._k8s(depends_on=[self.release]),
        )
        self.node_classes[pool.name] = node_class
        self.node_pools[pool.name] = kubernetes.apiextensions.CustomResource(
            resource,
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": pool.name},
            spec=node_pool_spec(pool, region, instance),
            opts=self._k8s(depends_on=[self.release, node_class]),
        )
