"""One VPC per AWS region, laid out for GPU clusters (EKS with the VPC CNI and Karpenter).

The VPC CNI gives every pod a VPC address, so the private subnets, where nodes and pods live,
take as much of the VPC as the layout allows; the public subnets only hold NAT gateways and
internet-facing load balancers and stay small. Nodes reach the internet through NAT gateways,
S3 (model weights) through a gateway endpoint and, where asked, ECR, STS and EC2 through
interface endpoints, so the bulk of a node's traffic never pays for or depends on a NAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from llmfleet.components.aws import iam
from llmfleet.components.aws.component import AwsComponent
from llmfleet.components.spec import FleetSpec, RegionSpec

ZONE_BLOCK_BITS = 3
"""The VPC splits into 2**3 equal blocks: one private subnet per zone (a /19 of a /16), and the
last block holds the public subnets."""

PUBLIC_SUBNET_BITS = 3
"""The last block splits into 2**3 public subnets (a /22 of a /16)."""

MAX_ZONES = 2**ZONE_BLOCK_BITS - 1
"""Zones the layout has room for: every block but the public one."""

INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "sts", "eks-auth", "ec2")
"""Services private nodes reach through interface endpoints instead of the NAT: ECR for image
pulls (its layers come from S3, through the gateway endpoint), STS and EKS Auth for pod
credentials (IRSA and EKS Pod Identity) and EC2 for the VPC CNI's address management and
Karpenter's node launches. Each endpoint is
billed per zone-hour, so rarer callers (SSM, SQS, ELB) keep using the NAT."""

ANYWHERE = "0.0.0.0/0"
HTTPS = 443


def cluster_name(fleet: FleetSpec, region: RegionSpec) -> str:
    """The region's EKS cluster name; Karpenter finds the private subnets by this tag value."""
    return f"{fleet.name}-{region.region}"


@dataclass(frozen=True)
class SubnetLayout:
    """The subnets of a VPC, one of each kind per zone, in zone order."""

    private: tuple[IPv4Network, ...]
    """Nodes and pods: the first blocks of the VPC, one per zone."""
    public: tuple[IPv4Network, ...]
    """NAT gateways and internet-facing load balancers: carved from the VPC's last block."""


def subnet_layout(cidr: IPv4Network, zones: int) -> SubnetLayout:
    """Split a VPC into one private and one public subnet per zone, without overlap.

    Blocks between the last private subnet and the public block stay free for later use.
    """
    if not 1 <= zones <= MAX_ZONES:
        raise ValueError(f"{zones} zones do not fit the layout; allowed: 1 to {MAX_ZONES}")
    blocks = list(cidr.subnets(prefixlen_diff=ZONE_BLOCK_BITS))
    public = list(blocks[-1].subnets(prefixlen_diff=PUBLIC_SUBNET_BITS))
    return SubnetLayout(private=tuple(blocks[:zones]), public=tuple(public[:zones]))


def flow_log_source_arn(vpc_arn: str) -> str:
    """Every flow log of the VPC's account and region, from the VPC's ARN
    (``arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc`` -> ``...:vpc-flow-log/*``)."""
    return ":".join([*vpc_arn.split(":")[:5], "vpc-flow-log/*"])


def flow_log_trust_policy(vpc_arn: str) -> str:
    """Lets only the flow-logs service, acting for this account's flow logs, assume the role
    (the conditions guard against the confused-deputy problem)."""
    account = vpc_arn.split(":")[4]
    return iam.trust_policy(
        {"Service": "vpc-flow-logs.amazonaws.com"},
        condition={
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": flow_log_source_arn(vpc_arn)},
        },
    )


def flow_log_key_policy(vpc_arn: str, region: str, log_group: str) -> str:
    """Policy of the flow-log key: the account administers it; CloudWatch Logs encrypts the
    one flow-log group with it."""
    partition, account = vpc_arn.split(":")[1], vpc_arn.split(":")[4]
    group_arn = f"arn:{partition}:logs:{region}:{account}:log-group:{log_group}"
    return iam.policy_document(
        iam.account_root_admin_statement(partition, account),
        iam.logs_key_statement(region, group_arn),
    )


def flow_log_policy(log_group_arn: str) -> str:
    """Write access to one log group: the group itself and its streams (``:*``), which is where
    ``PutLogEvents`` applies.

    The flow-logs service also looks the group up before delivering (``DescribeLogGroups`` is
    among the role's documented minimum permissions); that lookup lists groups, so it is scoped
    to the account and region rather than to the one group. It reveals names and settings only.
    """
    account_and_region = log_group_arn.split(":log-group:")[0]
    return iam.policy_document(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Effect": "Allow",
            "Action": "logs:DescribeLogGroups",
            "Resource": f"{account_and_region}:log-group:*",
        },
    )


@dataclass
class AwsNetworkArgs:
    """What an AwsNetwork is built from."""

    fleet: FleetSpec
    """The fleet: names and tags."""
    region: RegionSpec
    """The AWS region: VPC CIDR, zones and network behaviour (NAT, endpoints, flow logs)."""


class AwsNetwork(AwsComponent):
    """A region's VPC: private and public subnets per zone, NAT, endpoints and flow logs."""

    vpc: aws.ec2.Vpc
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    """One per zone, in zone order."""
    public_subnet_ids: pulumi.Output[list[str]]
    """One per zone, in zone order."""
    private_route_table_ids: pulumi.Output[list[str]]
    """One per zone, in zone order."""
    cidr: str

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        if args.region.cloud != "aws":
            raise ValueError(f"AwsNetwork needs an aws region, not {args.region.key}")
        super().__init__("llmfleet:aws:Network", name, args.fleet.labels(), opts)
        self._prefix = name
        self._fleet = args.fleet
        self._region = args.region
        network = args.region.network
        zones = args.region.zone_names
        layout = subnet_layout(args.region.cidr, len(zones))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(args.region.cidr),
            enable_dns_support=True,
            # Interface endpoints' private DNS and EKS node registration need both DNS flags.
            enable_dns_hostnames=True,
            region=args.region.region,
            tags=self._tags(f"{name}-vpc"),
            opts=self._child(),
        )
        self._lock_down_default_security_group()
        igw = aws.ec2.InternetGateway(
            f"{name}-igw",
            vpc_id=self.vpc.id,
            region=args.region.region,
            tags=self._tags(f"{name}-igw"),
            opts=self._child(),
        )

        public_subnets = {
            zone: self._subnet(f"{name}-public-{zone}", zone, cidr, {"kubernetes.io/role/elb": "1"})
            for zone, cidr in zip(zones, layout.public, strict=True)
        }
        private_subnets = {
            zone: self._subnet(
                f"{name}-private-{zone}",
                zone,
                cidr,
                {
                    "kubernetes.io/role/internal-elb": "1",
                    "karpenter.sh/discovery": cluster_name(args.fleet, args.region),
                },
            )
            for zone, cidr in zip(zones, layout.private, strict=True)
        }

        public_table = self._route_table(
            f"{name}-public",
            {f"{name}-public-{zone}": subnet for zone, subnet in public_subnets.items()},
        )
        self._default_route(f"{name}-public", public_table, gateway_id=igw.id)

        nat_zones = zones if network.nat == "per-zone" else zones[:1]
        nats = {
            zone: self._nat_gateway(f"{name}-nat-{zone}", public_subnets[zone], igw)
            for zone in nat_zones
        }
        private_tables = []
        for zone, subnet in private_subnets.items():
            table = self._route_table(f"{name}-private-{zone}", {f"{name}-private-{zone}": subnet})
            nat = nats.get(zone, nats[nat_zones[0]])
            self._default_route(f"{name}-private-{zone}", table, nat_gateway_id=nat.id)
            private_tables.append(table)

        self._s3_gateway_endpoint(private_tables)
        if network.private_endpoints:
            self._interface_endpoints(list(private_subnets.values()))
        if network.flow_logs:
            self._flow_logs(network.flow_log_retention_days)

        self.vpc_id = self.vpc.id
        self.private_subnet_ids = pulumi.Output.all(*(s.id for s in private_subnets.values()))
        self.public_subnet_ids = pulumi.Output.all(*(s.id for s in public_subnets.values()))
        self.private_route_table_ids = pulumi.Output.all(*(t.id for t in private_tables))
        self.cidr = str(args.region.cidr)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "private_route_table_ids": self.private_route_table_ids,
                "cidr": self.cidr,
            }
        )

    def _lock_down_default_security_group(self) -> None:
        # Adopting the default group strips its allow-all rules (a CIS AWS benchmark control);
        # the explicit empty lists keep rules added out of band from surviving an update.
        aws.ec2.DefaultSecurityGroup(
            f"{self._prefix}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            region=self._region.region,
            tags=self._tags(f"{self._prefix}-default-sg"),
            opts=self._child(),
        )

    def _subnet(
        self, name: str, zone: str, cidr: IPv4Network, role_tags: dict[str, str]
    ) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            name,
            vpc_id=self.vpc.id,
            availability_zone=zone,
            cidr_block=str(cidr),
            # Nothing gets a public address by accident: NAT gateways and load balancers
            # bring their own Elastic IPs.
            map_public_ip_on_launch=False,
            region=self._region.region,
            tags=self._tags(name, role_tags),
            opts=self._child(),
        )

    def _route_table(
        self, name: str, associations: dict[str, aws.ec2.Subnet]
    ) -> aws.ec2.RouteTable:
        """A route table and its subnet associations, each named by its key."""
        # Routes are separate resources, so routes other stacks add (peering, transit
        # gateways) are not stripped by this table on the next update.
        table = aws.ec2.RouteTable(
            name,
            vpc_id=self.vpc.id,
            region=self._region.region,
            tags=self._tags(name),
            opts=self._child(),
        )
        for association, subnet in associations.items():
            aws.ec2.RouteTableAssociation(
                association,
                route_table_id=table.id,
                subnet_id=subnet.id,
                region=self._region.region,
                opts=self._child(),
            )
        return table

    def _default_route(self, name: str, table: aws.ec2.RouteTable, **target) -> None:
        aws.ec2.Route(
            f"{name}-default",
            route_table_id=table.id,
            destination_cidr_block=ANYWHERE,
            region=self._region.region,
            opts=self._child(),
            **target,
        )

    def _nat_gateway(
        self, name: str, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway
    ) -> aws.ec2.NatGateway:
        eip = aws.ec2.Eip(
            f"{name}-eip",
            domain="vpc",
            region=self._region.region,
            tags=self._tags(f"{name}-eip"),
            # An Elastic IP in a VPC is only reachable once the internet gateway is attached.
            opts=self._child(depends_on=[igw]),
        )
        return aws.ec2.NatGateway(
            name,
            allocation_id=eip.allocation_id,
            subnet_id=subnet.id,
            connectivity_type="public",
            region=self._region.region,
            tags=self._tags(name),
            opts=self._child(depends_on=[igw]),
        )

    def _endpoint(self, service: str, endpoint_type: str, **placement) -> aws.ec2.VpcEndpoint:
        """A VPC endpoint of one AWS service (``ecr.api``) in this VPC's region."""
        name = f"{self._prefix}-{service.replace('.', '-')}"
        return aws.ec2.VpcEndpoint(
            name,
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._region.region}.{service}",
            vpc_endpoint_type=endpoint_type,
            region=self._region.region,
            tags=self._tags(name),
            opts=self._child(),
            **placement,
        )

    def _s3_gateway_endpoint(self, tables: list[aws.ec2.RouteTable]) -> None:
        # Model weights come from S3: a gateway endpoint is free and keeps them off the NAT.
        self._endpoint("s3", "Gateway", route_table_ids=[t.id for t in tables])

    def _interface_endpoints(self, subnets: list[aws.ec2.Subnet]) -> None:
        sg_name = f"{self._prefix}-endpoints"
        security_group = aws.ec2.SecurityGroup(
            sg_name,
            vpc_id=self.vpc.id,
            description="HTTPS from the VPC to its interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    cidr_blocks=[str(self._region.cidr)],
                    description="HTTPS from the VPC",
                )
            ],
            # Endpoints only answer; they never open connections.
            egress=[],
            region=self._region.region,
            tags=self._tags(sg_name),
            opts=self._child(),
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            self._endpoint(
                service,
                "Interface",
                # The service's public DNS name resolves to the endpoint: clients need no change.
                private_dns_enabled=True,
                subnet_ids=[s.id for s in subnets],
                security_group_ids=[security_group.id],
            )

    def _flow_logs(self, retention_days: int) -> None:
        name = f"{self._prefix}-flow-logs"
        group_name = f"/llmfleet/{cluster_name(self._fleet, self._region)}/vpc-flow-logs"
        region = self._region.region
        key = aws.kms.Key(
            f"{name}-key",
            description=f"VPC flow logs of {self._prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=self.vpc.arn.apply(lambda arn: flow_log_key_policy(arn, region, group_name)),
            region=region,
            tags=self._tags(f"{name}-key"),
            opts=self._child(protect=self._fleet.protect),
        )
        log_group = aws.cloudwatch.LogGroup(
            name,
            name=group_name,
            retention_in_days=retention_days,
            kms_key_id=key.arn,
            region=region,
            tags=self._tags(name),
            opts=self._child(),
        )
        role = aws.iam.Role(
            name,
            description=f"VPC flow logs of {self._prefix} to CloudWatch Logs",
            assume_role_policy=self.vpc.arn.apply(flow_log_trust_policy),
            tags=self._tags(name),
            opts=self._child(),
        )
        policy = aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=log_group.arn.apply(flow_log_policy),
            opts=self._child(),
        )
        aws.ec2.FlowLog(
            name,
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            region=self._region.region,
            tags=self._tags(name),
            # Without its permissions in place the first deliveries would fail.
            opts=self._child(depends_on=[policy]),
        )
