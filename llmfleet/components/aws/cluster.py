"""One EKS cluster per AWS region, ready for GPU serving.

The control plane keeps its API endpoint private unless the region lists public CIDRs,
encrypts Kubernetes secrets with a customer-managed KMS key (the same key encrypts node
volumes) and logs every control-plane stream. An always-on, on-demand system node group spread
over the private subnets runs the cluster add-ons; GPU nodes come from Karpenter
(``llmfleet.components.aws.karpenter``), which scales every GPU pool from zero.

Workloads get AWS credentials through EKS Pod Identity (``service_account_role``); the IAM OIDC
provider is registered too, for tools that only speak IRSA. Nodes require IMDSv2 with a hop
limit of 1, so pods cannot borrow a node's role from the instance metadata service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes

from llmfleet.components import catalog
from llmfleet.components.aws import iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.aws.karpenter import (
    DISCOVERY_TAG,
    KARPENTER_NAMESPACE,
    KARPENTER_SERVICE_ACCOUNT,
    METADATA_HOP_LIMIT,
    ROOT_DEVICE,
    Karpenter,
    KarpenterArgs,
    controller_policy,
    interruption_queue_arn,
)
from llmfleet.components.aws.network import cluster_name
from llmfleet.components.aws.storage import AwsModelStorage
from llmfleet.components.contracts import ModelStore
from llmfleet.components.k8s.kubeconfig import exec_kubeconfig
from llmfleet.components.k8s.scheduling import system_node_labels
from llmfleet.components.naming import fit_name
from llmfleet.components.spec import FleetSpec, RegionSpec, SystemPoolSpec

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every control-plane log stream; ``audit`` and ``authenticator`` answer who did what."""

KEY_DELETION_WINDOW_DAYS = 30
"""The longest window: a key scheduled for deletion by mistake can be recovered for 30 days."""

SYSTEM_ROOT_VOLUME_GIB = 100
"""Root volume of a system node: OS, add-on images and logs."""

ADDONS_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
"""Node daemons: nodes need pod networking to become Ready and the Pod Identity agent before
any workload asks for credentials. DaemonSets are healthy with no nodes, so they go first."""

EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
COREDNS_ADDON = "coredns"
"""CoreDNS and the EBS CSI controller are Deployments: they only become healthy on nodes."""

NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    # Pull images and nothing else, as upstream Karpenter's node role: ReadOnly also lists
    # and describes every repository of the account.
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
    # Session Manager is the break-glass shell: no SSH keys, no open ports.
    "AmazonSSMManagedInstanceCore",
)
"""AWS managed policies of every node role (system and Karpenter nodes)."""

REPLACED_NODE_POLICIES = {
    "AmazonEC2ContainerRegistryPullOnly": "AmazonEC2ContainerRegistryReadOnly"
}
"""Node policies that took the place of another: their attachments keep the old one's
resource (an alias), so state follows the rename."""

KUBERNETES_SYSTEM_NAMESPACE = "kube-system"


def pod_identity_trust_policy(
    account_id: str, cluster_name: str, namespace: str, service_account: str
) -> str:
    """Lets EKS Pod Identity assume the role for one service account of one cluster only.

    Pod Identity tags every session with the cluster, namespace and service account; matching
    them keeps a stray association (in another cluster or namespace) from using the role.
    """
    return iam.trust_policy(
        {"Service": "pods.eks.amazonaws.com"},
        ["sts:AssumeRole", "sts:TagSession"],
        {
            "StringEquals": {
                "aws:SourceAccount": account_id,
                "aws:RequestTag/eks-cluster-name": cluster_name,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }
        },
    )


def key_policy(partition: str, account_id: str, region: str, cluster_name: str) -> str:
    """Policy of the cluster key: the account administers it through IAM; EC2 (node volumes)
    and CloudWatch Logs (the control-plane log group) use it on the account's behalf."""
    volumes_via_ec2 = {
        "StringEquals": {
            "kms:CallerAccount": account_id,
            "kms:ViaService": f"ec2.{region}.amazonaws.com",
        }
    }
    log_group = (
        f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name(cluster_name)}"
    )
    return iam.policy_document(
        iam.account_root_admin_statement(partition, account_id),
        # Node volumes are created by the Auto Scaling service-linked role (system nodes) and
        # by Karpenter (GPU nodes). The service-linked role takes no IAM policy, so, like the
        # AWS-managed aws/ebs key, the key admits any principal of this account, through EC2 only.
        {
            "Sid": "EncryptNodeVolumesThroughEc2",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            "Resource": "*",
            "Condition": volumes_via_ec2,
        },
        {
            "Sid": "GrantNodeVolumeAttachmentThroughEc2",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {**volumes_via_ec2, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {**iam.logs_key_statement(region, log_group), "Sid": "EncryptControlPlaneLogs"},
    )


def secrets_encryption_policy(key_arn: str) -> str:
    """What the control plane needs of the key to envelope-encrypt Kubernetes secrets."""
    return iam.policy_document(
        {
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
            "Resource": key_arn,
        }
    )


def log_group_name(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to (a fixed name, created here first so it
    gets a retention and the cluster key instead of never-expiring, default-encrypted logs)."""
    return f"/aws/eks/{cluster_name}/cluster"


@dataclass(frozen=True)
class AwsCliCredentials:
    """Who ``aws eks get-token`` runs as: the same profile and role as the stack's AWS provider,
    so the kubeconfig reaches the cluster as whoever created it (the cluster's admin)."""

    profile: str | None = None
    """Shared-config profile (the provider's ``aws:profile``); None for the CLI's default chain."""
    role_arn: str | None = None
    """Role the CLI assumes for the token (the provider's ``aws:assumeRoles``); None for none."""

    @classmethod
    def from_provider_config(
        cls, profile: str | None, assume_roles: str | None
    ) -> AwsCliCredentials:
        """From the AWS provider's config values as Pulumi passes them (``assumeRoles`` as a JSON
        list of ``{roleArn, ...}``). Of a chain of roles the CLI takes the last, the one the
        provider ends up acting as."""
        roles = json.loads(assume_roles) if assume_roles else []
        arns = [role["roleArn"] for role in roles if role.get("roleArn")]
        return cls(profile=profile or None, role_arn=arns[-1] if arns else None)

    @classmethod
    def of_stack(cls) -> AwsCliCredentials:
        """The stack's default AWS provider settings (``aws:profile``, ``aws:assumeRoles``)."""
        return cls.from_provider_config(aws.config.profile, aws.config.assume_roles)

    def cli_args(self) -> list[str]:
        """The ``aws`` CLI options selecting these credentials."""
        args = ["--role-arn", self.role_arn] if self.role_arn else []
        return args + (["--profile", self.profile] if self.profile else [])


def kubeconfig(
    cluster_name: str,
    region: str,
    endpoint: str,
    ca_data: str,
    credentials: AwsCliCredentials = AwsCliCredentials(),
) -> str:
    """A kubeconfig for one cluster whose user fetches a short-lived token with the AWS CLI,
    as the stack's AWS provider does (``credentials``): no static credentials, no ambient
    kubeconfig."""
    return exec_kubeconfig(
        cluster_name,
        endpoint,
        ca_data,
        "aws",
        [
            "eks",
            "get-token",
            "--cluster-name",
            cluster_name,
            "--region",
            region,
            *credentials.cli_args(),
            "--output",
            "json",
        ],
        interactive_mode="Never",
    )


_GRAVITON = re.compile(r"^[a-z]+\d+g")


def system_ami_type(instance_type: str) -> str:
    """The EKS-optimized AL2023 AMI matching the instance's CPU (Graviton ``m7g`` -> ARM)."""
    arch = "ARM_64" if _GRAVITON.match(instance_type) else "x86_64"
    return f"AL2023_{arch}_STANDARD"


@dataclass
class AwsClusterArgs:
    """What an AwsCluster is built from."""

    fleet: FleetSpec
    """The fleet: names, tags and whether stateful resources are protected."""
    region: RegionSpec
    """The AWS region: its zones and cluster spec (version, API access, system and GPU pools)."""
    vpc_id: pulumi.Input[str]
    """The region's VPC (AwsNetwork.vpc_id), kept as ``AwsCluster.vpc_id`` for add-ons that ask
    for it (a load balancer controller)."""
    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets, one per zone (AwsNetwork.private_subnet_ids): control-plane network
    interfaces and system nodes. Karpenter finds them by their ``karpenter.sh/discovery`` tag."""
    cli_credentials: AwsCliCredentials | None = None
    """Profile / role the kubeconfig's ``aws eks get-token`` uses; None: the stack's AWS provider
    settings (``aws:profile``, ``aws:assumeRoles``)."""


class AwsCluster(AwsComponent):
    """A region's EKS cluster: control plane, add-ons, system nodes and Karpenter GPU pools."""

    cluster: aws.eks.Cluster
    cluster_name: str
    endpoint: pulumi.Output[str]
    kms_key: aws.kms.Key
    """Encrypts Kubernetes secrets, node volumes and control-plane logs."""
    oidc_provider_arn: pulumi.Output[str]
    """The cluster's IAM OIDC provider, for IRSA roles."""
    node_role: aws.iam.Role
    """Role of the system node group."""
    karpenter_node_role: aws.iam.Role
    """Role of the GPU nodes Karpenter launches."""
    karpenter_controller_role: aws.iam.Role
    """Role of the Karpenter controller (Pod Identity of ``kube-system/karpenter``)."""
    kubeconfig: pulumi.Output[str]
    """Secret: a kubeconfig that fetches tokens with ``aws eks get-token``."""
    provider: kubernetes.Provider
    """The one Kubernetes provider for this cluster; every Kubernetes object here uses it."""
    pod_identity_associations: dict[str, aws.eks.PodIdentityAssociation]
    """By ``namespace/service-account``: depend on one before starting the pods that use it
    (Pod Identity injects credentials when a pod is created)."""
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    karpenter: Karpenter

    def __init__(self, name: str, args: AwsClusterArgs, opts: pulumi.ResourceOptions | None = None):
        if args.region.cloud != "aws":
            raise ValueError(f"AwsCluster needs an aws region, not {args.region.key}")
        super().__init__("llmfleet:aws:Cluster", name, args.fleet.labels(), opts)
        self._name = name
        self._fleet = args.fleet
        self._region = args.region.region
        spec = args.region.cluster
        self.cluster_name = cluster_name(args.fleet, args.region)
        self.vpc_id = pulumi.Output.from_input(args.vpc_id)
        self.pod_identity_associations = {}
        self.account_id, self.partition = iam.caller_account(self)

        self.kms_key = self._cluster_key()
        self.cluster = self._control_plane(args)
        self.endpoint = self.cluster.endpoint
        self.oidc_provider_arn = self._oidc_provider().arn
        credentials = args.cli_credentials or AwsCliCredentials.of_stack()
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.endpoint, self.cluster.certificate_authority.apply(lambda ca: ca.data)
            ).apply(lambda v: kubeconfig(self.cluster_name, self._region, v[0], v[1], credentials))
        )
        self.provider = kubernetes.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Only a new endpoint (a new cluster) replaces the provider and with it every
            # Kubernetes object; a change in how tokens are fetched is a plain update.
            cluster_identifier=self.cluster.endpoint,
            opts=self._child(),
        )

        node_daemons = [self._addon(addon) for addon in ADDONS_BEFORE_NODES]
        self.node_role, node_permissions = self._node_role("system-node")
        system_nodes = self._system_node_group(
            args, spec.system_pool, [*node_daemons, *node_permissions]
        )
        self.service_account_role(
            "ebs-csi-driver",
            KUBERNETES_SYSTEM_NAMESPACE,
            EBS_CSI_SERVICE_ACCOUNT,
            managed_policies=["service-role/AmazonEBSCSIDriverPolicy"],
        )
        ebs_csi_identity = self.pod_identity_associations[
            f"{KUBERNETES_SYSTEM_NAMESPACE}/{EBS_CSI_SERVICE_ACCOUNT}"
        ]
        addons = [
            *node_daemons,
            self._addon(COREDNS_ADDON, after=[system_nodes]),
            self._addon(EBS_CSI_ADDON, after=[system_nodes, ebs_csi_identity]),
        ]

        self.karpenter_node_role, karpenter_node_permissions = self._node_role("karpenter-node")
        # Managed node groups get their node role's access entry from EKS; Karpenter's nodes
        # need one so they can join.
        karpenter_access = aws.eks.AccessEntry(
            f"{name}-karpenter-nodes",
            cluster_name=self.cluster.name,
            principal_arn=self.karpenter_node_role.arn,
            type="EC2_LINUX",
            region=self._region,
            tags=self._tags(f"{name}-karpenter-nodes"),
            opts=self._child(),
        )
        # Karpenter finds the node security group (the one EKS made for the cluster) by tag.
        security_group_discovery = aws.ec2.Tag(
            f"{name}-cluster-sg-discovery",
            resource_id=self.cluster.vpc_config.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=self.cluster_name,
            region=self._region,
            opts=self._child(),
        )
        self.karpenter_controller_role = self._karpenter_controller_role()
        self.karpenter = Karpenter(
            f"{name}-karpenter",
            KarpenterArgs(
                fleet=args.fleet,
                region=args.region,
                cluster_name=self.cluster_name,
                cluster_endpoint=self.endpoint,
                provider=self.provider,
                node_role_name=self.karpenter_node_role.name,
                node_volume_key_arn=self.kms_key.arn,
                controller_identity=self.pod_identity_associations[
                    f"{KARPENTER_NAMESPACE}/{KARPENTER_SERVICE_ACCOUNT}"
                ],
                after=[
                    *addons,
                    system_nodes,
                    *karpenter_node_permissions,
                    karpenter_access,
                    security_group_discovery,
                ],
            ),
            opts=self._child(),
        )

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kms_key_arn": self.kms_key.arn,
                "oidc_provider_arn": self.oidc_provider_arn,
                "node_role_arn": self.node_role.arn,
                "karpenter_node_role_arn": self.karpenter_node_role.arn,
                "karpenter_controller_role_arn": self.karpenter_controller_role.arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def service_account_role(
        self,
        name: str,
        namespace: str,
        service_account: str,
        policy_json: pulumi.Input[str] | None = None,
        *,
        managed_policies: Sequence[str] = (),
    ) -> aws.iam.Role:
        """An IAM role for one Kubernetes service account of this cluster, through Pod Identity.

        ``policy_json`` becomes the role's inline policy; ``managed_policies`` are AWS managed
        policy names (``service-role/AmazonEBSCSIDriverPolicy``). The Pod Identity association
        lands in ``pod_identity_associations[f"{namespace}/{service_account}"]``. The role is
        named ``<cluster>-<name>``, shortened with a hash where IAM's 64 characters require.
        """
        resource = f"{self._name}-{name}"
        role = aws.iam.Role(
            resource,
            name=self._role_name(name),
            description=f"{namespace}/{service_account} on EKS cluster {self.cluster_name}",
            assume_role_policy=self.account_id.apply(
                lambda account: pod_identity_trust_policy(
                    account, self.cluster_name, namespace, service_account
                )
            ),
            tags=self._tags(resource),
            opts=self._child(),
        )
        permissions: list[pulumi.Resource] = []
        if policy_json is not None:
            permissions.append(
                aws.iam.RolePolicy(resource, role=role.id, policy=policy_json, opts=self._child())
            )
        permissions += [
            self._attach(f"{resource}-{p.rsplit('/', 1)[-1]}", role, p) for p in managed_policies
        ]
        self.pod_identity_associations[f"{namespace}/{service_account}"] = (
            aws.eks.PodIdentityAssociation(
                resource,
                cluster_name=self.cluster.name,
                namespace=namespace,
                service_account=service_account,
                role_arn=role.arn,
                region=self._region,
                tags=self._tags(resource),
                # Pods that find the association may call AWS at once: permissions first.
                opts=self._child(depends_on=permissions),
            )
        )
        return role

    def grant_model_read(
        self, name: str, namespace: str, service_account: str, store: ModelStore
    ) -> pulumi.Resource:
        """ServingCluster: a Pod Identity role for ``namespace/service_account`` that reads this
        region's models in ``store`` only; returns the association pods wait for."""
        if not isinstance(store, AwsModelStorage):
            raise TypeError(
                f"EKS cluster {self.cluster_name} reads models from AWS model storage, "
                f"not {type(store).__name__}"
            )
        self.service_account_role(
            name, namespace, service_account, policy_json=store.reader_policy(self._region)
        )
        return self.pod_identity_associations[f"{namespace}/{service_account}"]

    def _karpenter_controller_role(self) -> aws.iam.Role:
        """The controller's role: launch and remove nodes of this cluster only, read its
        interruption queue and pass only the Karpenter node role."""
        return self.service_account_role(
            "karpenter-controller",
            KARPENTER_NAMESPACE,
            KARPENTER_SERVICE_ACCOUNT,
            policy_json=pulumi.Output.all(
                self.partition, self.account_id, self.karpenter_node_role.arn
            ).apply(
                lambda v: controller_policy(
                    v[0],
                    v[1],
                    self._region,
                    self.cluster_name,
                    interruption_queue_arn(v[0], v[1], self._region, self.cluster_name),
                    v[2],
                )
            ),
        )

    def _role_name(self, purpose: str) -> str:
        """IAM role names are account-wide: the cluster name (fleet and region) scopes them."""
        return fit_name(f"{self.cluster_name}-{purpose}", iam.ROLE_NAME_MAX_LENGTH)

    def _managed_policy_arn(self, policy: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:", self.partition, ":iam::aws:policy/", policy)

    def _attach(
        self, resource: str, role: aws.iam.Role, policy: str, *, formerly: str | None = None
    ) -> aws.iam.RolePolicyAttachment:
        """Attach an AWS managed policy; ``formerly`` names the resource's previous name."""
        aliases = [pulumi.Alias(name=formerly)] if formerly else None
        return aws.iam.RolePolicyAttachment(
            resource,
            role=role.name,
            policy_arn=self._managed_policy_arn(policy),
            opts=self._child(aliases=aliases),
        )

    def _cluster_key(self) -> aws.kms.Key:
        key = aws.kms.Key(
            f"{self._name}-key",
            description=f"EKS {self.cluster_name}: secrets, node volumes, control-plane logs",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(self.partition, self.account_id).apply(
                lambda v: key_policy(v[0], v[1], self._region, self.cluster_name)
            ),
            region=self._region,
            tags=self._tags(f"{self._name}-key"),
            opts=self._child(protect=self._fleet.protect),
        )
        aws.kms.Alias(
            f"{self._name}-key",
            name=f"alias/{self.cluster_name}-eks",
            target_key_id=key.key_id,
            region=self._region,
            opts=self._child(),
        )
        return key

    def _control_plane(self, args: AwsClusterArgs) -> aws.eks.Cluster:
        name = self._name
        spec = args.region.cluster
        role = aws.iam.Role(
            f"{name}-cluster-role",
            name=self._role_name("cluster"),
            assume_role_policy=iam.trust_policy({"Service": "eks.amazonaws.com"}),
            tags=self._tags(f"{name}-cluster-role"),
            opts=self._child(),
        )
        role_permissions = [
            self._attach(f"{name}-cluster-role-eks", role, "AmazonEKSClusterPolicy"),
            aws.iam.RolePolicy(
                f"{name}-cluster-role-secrets-key",
                role=role.id,
                policy=self.kms_key.arn.apply(secrets_encryption_policy),
                opts=self._child(),
            ),
        ]
        logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=log_group_name(self.cluster_name),
            retention_in_days=self._fleet.log_retention_days,
            kms_key_id=self.kms_key.arn,
            deletion_protection_enabled=self._fleet.protect,
            region=self._region,
            tags=self._tags(f"{name}-control-plane-logs"),
            opts=self._child(protect=self._fleet.protect),
        )
        public_cidrs = [str(cidr) for cidr in spec.public_access_cidrs]
        return aws.eks.Cluster(
            f"{name}-cluster",
            name=self.cluster_name,
            version=spec.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=bool(public_cidrs),
                public_access_cidrs=public_cidrs or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The principal running `pulumi up` gets cluster-admin through an access entry,
                # which is how the provider below installs add-ons and Karpenter.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn),
            ),
            # EXTENDED (prod): a version past standard support keeps running until the spec
            # raises it, so EKS never upgrades the control plane behind the stack's back (and
            # the next `pulumi up` never tries to downgrade it). STANDARD: see the README.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=spec.eks_support),
            deletion_protection=self._fleet.protect,
            region=self._region,
            tags=self._tags(self.cluster_name),
            opts=self._child(protect=self._fleet.protect, depends_on=[*role_permissions, logs]),
        )

    def _oidc_provider(self) -> aws.iam.OpenIdConnectProvider:
        # IAM trusts the EKS OIDC issuers through its own root CAs, so no thumbprint is pinned.
        return aws.iam.OpenIdConnectProvider(
            f"{self._name}-oidc",
            url=self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer),
            client_id_lists=["sts.amazonaws.com"],
            tags=self._tags(f"{self._name}-oidc"),
            opts=self._child(),
        )

    def _addon(self, addon: str, after: Sequence[pulumi.Resource] = ()) -> aws.eks.Addon:
        # The default version for the cluster's Kubernetes version: a cluster upgrade moves the
        # add-ons along with it.
        version = aws.eks.get_addon_version_output(
            addon_name=addon,
            kubernetes_version=self.cluster.version,
            region=self._region,
            opts=self._invoke(),
        ).version
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=version,
            # EKS installs vpc-cni, kube-proxy and CoreDNS itself; the managed add-on takes them
            # over, and the configuration here stays the source of truth afterwards.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            region=self._region,
            tags=self._tags(f"{self._name}-{addon}"),
            opts=self._child(depends_on=list(after)),
        )

    def _node_role(self, purpose: str) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """A role for EC2 nodes and its policy attachments (nodes join only once they exist)."""
        resource = f"{self._name}-{purpose}-role"
        role = aws.iam.Role(
            resource,
            name=self._role_name(purpose),
            assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
            tags=self._tags(resource),
            opts=self._child(),
        )
        return role, [
            self._attach(
                f"{resource}-{p}",
                role,
                p,
                formerly=f"{resource}-{REPLACED_NODE_POLICIES[p]}"
                if p in REPLACED_NODE_POLICIES
                else None,
            )
            for p in NODE_POLICIES
        ]

    def _system_node_group(
        self, args: AwsClusterArgs, pool: SystemPoolSpec, after: Sequence[pulumi.Resource]
    ) -> aws.eks.NodeGroup:
        """On-demand nodes in every private subnet; ``after``: what nodes need to join."""
        name = f"{self._name}-system"
        instance_type = pool.instance_type or catalog.default_system_instance_type("aws")
        template = aws.ec2.LaunchTemplate(
            name,
            description=f"System nodes of EKS {self.cluster_name}",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=METADATA_HOP_LIMIT,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=SYSTEM_ROOT_VOLUME_GIB,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=self.kms_key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # Node group tags stay on the node group; these reach the instances and volumes.
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags=self._tags(name)
                )
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            region=self._region,
            tags=self._tags(name),
            opts=self._child(),
        )
        return aws.eks.NodeGroup(
            name,
            cluster_name=self.cluster.name,
            node_role_arn=self.node_role.arn,
            subnet_ids=args.private_subnet_ids,
            capacity_type="ON_DEMAND",
            instance_types=[instance_type],
            ami_type=system_ami_type(instance_type),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_nodes, desired_size=pool.min_nodes, max_size=pool.max_nodes
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels=system_node_labels(),
            region=self._region,
            tags=self._tags(name),
            opts=self._child(depends_on=list(after)),
        )
