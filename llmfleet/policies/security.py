"""Network exposure, node credentials, public storage, privileged pods, serving keys, log
retention and service trust. Mandatory by default."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from llmfleet.policies.encryption import BUCKET_TYPES, LOGGING_TYPES
from llmfleet.policies.rules import (
    ENVIRONMENT,
    Setting,
    environment,
    get,
    items,
    label,
    of_type,
    on,
    referencing,
    resource_rule,
    setting,
    stack_rule,
)


def _world(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _api_endpoints(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == "aws:eks/cluster:Cluster":
        vpc = props.get("vpcConfig") or {}
        if vpc.get("endpointPublicAccess", True) is not False:
            cidrs = items(vpc.get("publicAccessCidrs")) or ["0.0.0.0/0"]
            if any(_world(c) for c in cidrs):
                report("EKS API endpoint is public to the world: restrict publicAccessCidrs")
    elif args.resource_type == "gcp:container/cluster:Cluster":
        private = props.get("privateClusterConfig") or {}
        if not on(private.get("enablePrivateNodes")):
            report("GKE nodes have public IPs: set privateClusterConfig.enablePrivateNodes")
        if not on(private.get("enablePrivateEndpoint")):
            networks = props.get("masterAuthorizedNetworksConfig")
            blocks = items(get(networks, "cidrBlocks"))
            if networks is None or any(_world(b.get("cidrBlock")) for b in blocks):
                report("GKE control plane is reachable from the world: set authorized networks")


private_api_endpoints = resource_rule(
    "private-api-endpoints",
    "No cluster API endpoint is open to the world, and GKE nodes are private.",
    _api_endpoints,
)


def _metadata(options: Any) -> str | None:
    if get(options, "httpEndpoint") == "disabled":
        return None
    if get(options, "httpTokens") != "required":
        return "instance metadata allows IMDSv1: set httpTokens required"
    hops = get(options, "httpPutResponseHopLimit")
    if hops is None or int(hops) > 1:
        return f"metadata hop limit {hops}: pods can reach node credentials; set 1"
    return None


def _imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    path = {
        "aws:ec2/launchTemplate:LaunchTemplate": ("metadataOptions",),
        "aws:ec2/instance:Instance": ("metadataOptions",),
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": ("spec", "metadataOptions"),
    }.get(args.resource_type)
    if path is not None:
        problem = _metadata(get(args.props, *path))
        if problem:
            report(problem)


imdsv2_hop_limit = resource_rule(
    "imdsv2-hop-limit",
    "Nodes require IMDSv2 with a hop limit of 1, so pods cannot reach node credentials.",
    _imdsv2,
)

_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _public_storage(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args.resources, *BUCKET_TYPES):
        blocks = referencing(
            args.resources,
            bucket,
            "bucket",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        )
        if not any(all(on(b.props.get(k)) for k in _BLOCKS) for b in blocks):
            report(f"bucket {label(bucket.urn)} has no public access block with all four on")
    for bucket in of_type(args.resources, "gcp:storage/bucket:Bucket"):
        if bucket.props.get("publicAccessPrevention") != "enforced":
            report(f"bucket {label(bucket.urn)}: set publicAccessPrevention enforced")


storage_public_access_blocked = stack_rule(
    "storage-public-access-blocked",
    "S3 buckets have a full public access block; GCS buckets enforce public access prevention.",
    _public_storage,
)

OPEN_PORTS = Setting(
    "openPorts",
    {"type": "array", "items": {"type": "integer"}},
    [443],
    "Ports that may be open to the world (load-balancer TLS).",
)


def _ports(low: Any, high: Any) -> set[int] | None:
    """The ports of a range; None for every port."""
    if low is None or high is None:
        return None
    low, high = int(low), int(high)
    # -1 (all protocols) and 0-65535 are every port; wide ranges count as every port too.
    if low < 0 or high < 0 or (low == 0 and high in (0, 65535)) or high - low > 1024:
        return None
    return set(range(low, high + 1))


def _open_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = set(setting(args.get_config(), OPEN_PORTS))
    props, kind = args.props, args.resource_type
    rules: list[tuple[list[Any], set[int] | None]] = []
    if kind == "aws:ec2/securityGroup:SecurityGroup":
        for rule in items(props.get("ingress")):
            cidrs = items(rule.get("cidrBlocks")) + items(rule.get("ipv6CidrBlocks"))
            rules.append((cidrs, _ports(rule.get("fromPort"), rule.get("toPort"))))
    elif kind == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = [props.get("cidrIpv4"), props.get("cidrIpv6")]
        rules.append((cidrs, _ports(props.get("fromPort"), props.get("toPort"))))
    elif kind == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        cidrs = items(props.get("cidrBlocks")) + items(props.get("ipv6CidrBlocks"))
        rules.append((cidrs, _ports(props.get("fromPort"), props.get("toPort"))))
    elif kind == "gcp:compute/firewall:Firewall" and props.get("direction", "INGRESS") == "INGRESS":
        for allow in items(props.get("allows")):
            ports: set[int] | None = set()
            for spec in items(allow.get("ports")) or [None]:
                if spec is None:
                    ports = None
                    break
                low, _, high = str(spec).partition("-")
                span = _ports(low, high or low)
                if span is None:
                    ports = None
                    break
                ports |= span
            rules.append((items(props.get("sourceRanges")), ports))
    for cidrs, ports in rules:
        if any(_world(c) for c in cidrs if c) and (ports is None or ports - allowed):
            shown = "all ports" if ports is None else ", ".join(map(str, sorted(ports - allowed)))
            report(f"ingress open to the world on {shown}; only {sorted(allowed)} may be")


no_open_ingress = resource_rule(
    "no-open-ingress",
    "No security group or firewall is open to the world except on load-balancer TLS ports.",
    _open_ingress,
    OPEN_PORTS,
)

SYSTEM_NAMESPACES = Setting(
    "systemNamespaces",
    {"type": "array", "items": {"type": "string"}},
    ["kube-system", "gpu-operator", "karpenter"],
    "Namespaces of system add-ons that may run privileged or on the host network.",
)
_WORKLOADS = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet": (
        "spec",
        "leaderWorkerTemplate",
        "workerTemplate",
        "spec",
    ),
}


def _pod_spec(args: ResourceValidationArgs) -> Any:
    path = _WORKLOADS.get(args.resource_type)
    return get(args.props, *path) if path else None


def _privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod = _pod_spec(args)
    if pod is None:
        return
    namespace = get(args.props, "metadata", "namespace") or "default"
    if namespace in setting(args.get_config(), SYSTEM_NAMESPACES):
        return
    if on(pod.get("hostNetwork")) or on(pod.get("hostPID")):
        report(f"pod in {namespace} uses the host network or PID namespace")
    for container in items(pod.get("containers")) + items(pod.get("initContainers")):
        context = container.get("securityContext") or {}
        if on(context.get("privileged")) or on(context.get("allowPrivilegeEscalation")):
            report(f"container {container.get('name')} in {namespace} is privileged")


no_privileged_pods = resource_rule(
    "no-privileged-pods",
    "No privileged containers or host networking outside the system add-ons' namespaces.",
    _privileged,
    SYSTEM_NAMESPACES,
)


def _serves_vllm(container: Any) -> bool:
    words = [str(container.get("image", ""))] + [
        str(w) for w in items(container.get("command")) + items(container.get("args"))
    ]
    return any("vllm" in w for w in words)


def _has_key(container: Any) -> bool:
    flags = [str(w) for w in items(container.get("command")) + items(container.get("args"))]
    env = {e.get("name") for e in items(container.get("env"))}
    return any(f.startswith("--api-key") for f in flags) or "VLLM_API_KEY" in env


def _serving_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod = _pod_spec(args)
    for container in items(get(pod, "containers")):
        if _serves_vllm(container) and not _has_key(container):
            report(
                f"model server {container.get('name')} answers without an API key "
                "(--api-key or VLLM_API_KEY)"
            )


serving_requires_api_key = resource_rule(
    "serving-requires-api-key",
    "Model servers (vLLM) require an API key on every request.",
    _serving_key,
)

MIN_RETENTION = Setting(
    "minLogRetentionDays",
    {"type": "integer", "minimum": 1},
    365,
    "Fewest days production logs are kept.",
)


def _retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    if environment(args.props, config) != "prod":
        return
    least = setting(config, MIN_RETENTION)
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup":
        days = args.props.get("retentionInDays") or 0  # 0: kept forever
    elif args.resource_type == "gcp:logging/projectBucketConfig:ProjectBucketConfig":
        days = args.props.get("retentionDays") or 30
    else:
        return
    if days and days < least:
        report(f"production logs kept {days} days; at least {least}")


prod_log_retention = resource_rule(
    "prod-log-retention",
    "Production log groups and log buckets keep logs at least the configured days.",
    _retention,
    ENVIRONMENT,
    MIN_RETENTION,
)

EXEMPT_SERVICES = Setting(
    "exemptServices",
    {"type": "array", "items": {"type": "string"}},
    ["ec2.amazonaws.com", "eks.amazonaws.com"],
    "Service principals that assume roles only for the account's own resources and reject "
    "source conditions (EC2 instance profiles, the EKS cluster role).",
)
_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")


def _conditions_name_source(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    return any(
        key.lower() in _SOURCE_KEYS
        for operator in condition.values()
        if isinstance(operator, dict)
        for key in operator
    )


def _trust(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:iam/role:Role":
        return
    document = args.props.get("assumeRolePolicy")
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return
    exempt = set(setting(args.get_config(), EXEMPT_SERVICES))
    statements = get(policy, "Statement")
    for statement in [statements] if isinstance(statements, dict) else items(statements):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        services = get(statement, "Principal", "Service")
        services = [services] if isinstance(services, str) else items(services)
        named = [s for s in services if s not in exempt]
        if named and not _conditions_name_source(statement):
            report(
                f"trust policy lets {', '.join(named)} assume the role without naming a source "
                "account or ARN (aws:SourceAccount / aws:SourceArn)"
            )


service_trust_names_source = resource_rule(
    "service-trust-names-source",
    "Role trust policies for service principals name the source account or ARN.",
    _trust,
    EXEMPT_SERVICES,
)


def _gke_hardening(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == "gcp:container/cluster:Cluster":
        if (
            not on(props.get("enableIntranodeVisibility"))
            and props.get("datapathProvider") != "ADVANCED_DATAPATH"
        ):
            report("intranode visibility is off (CIS GKE 5.6.1): set enableIntranodeVisibility")
        if on(get(props, "masterAuth", "clientCertificateConfig", "issueClientCertificate")) or (
            get(props, "masterAuth", "clientCertificateConfig") is None
        ):
            report("legacy client certificates not explicitly off (CIS GKE 5.8.2)")
        mode = get(props, "binaryAuthorization", "evaluationMode")
        if mode in (None, "DISABLED"):
            report("Binary Authorization is off (CIS GKE 5.10.5)")
        if not on(props.get("enableShieldedNodes", True)):
            report("Shielded GKE nodes are off")
    elif (
        args.resource_type == "gcp:container/nodePool:NodePool"
        and get(props, "nodeConfig", "workloadMetadataConfig", "mode") != "GKE_METADATA"
    ):
        report("node pool without the GKE metadata server (CIS GKE 5.4.2)")


gke_hardening = resource_rule(
    "gke-hardening",
    "GKE clusters keep the CIS GKE controls: intranode visibility, legacy client certificates "
    "off, Binary Authorization, shielded nodes, and the GKE metadata server on every pool.",
    _gke_hardening,
)


def _access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in of_type(args.resources, *BUCKET_TYPES):
        logging = referencing(args.resources, bucket, "bucket", *LOGGING_TYPES)
        targets = referencing(args.resources, bucket, "targetBucket", *LOGGING_TYPES)
        if not logging and not targets and not bucket.props.get("loggings"):
            report(f"bucket {label(bucket.urn)} has no server access logging", bucket.urn)


s3_access_logging = stack_rule(
    "s3-access-logging",
    "Every S3 bucket logs server access (a log-target bucket counts as logged).",
    _access_logging,
)

POLICIES = [
    private_api_endpoints,
    imdsv2_hop_limit,
    storage_public_access_blocked,
    no_open_ingress,
    no_privileged_pods,
    serving_requires_api_key,
    prod_log_retention,
    service_trust_names_source,
    gke_hardening,
    s3_access_logging,
]
