"""Outputs of pulumi-aws resources and functions, in the provider's shape."""

from __future__ import annotations

import base64
import functools
from typing import Any

from llmfleet.mock_outputs.ids import stable_hex

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"


# AWS ids (vpc-0abc..., subnet-...) carry 17 hex digits.
_hex = functools.partial(stable_hex, length=17)


def _service(type_: str) -> str:
    # "aws:ec2/vpc:Vpc" -> "ec2"
    return type_.split(":")[1].split("/")[0]


def _arn(service: str, region: str, resource: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def defaults(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What every AWS resource computes: an id, an ARN, tagsAll and its (auto-)name."""
    region = inputs.get("region") or DEFAULT_REGION
    resource_name = inputs.get("name") or f"{name}-{_hex(type_, name, length=7)}"
    id_ = f"{name}-{_hex(type_, name, length=8)}"
    return {
        "id": id_,
        "arn": _arn(_service(type_), region, f"{type_.rsplit(':', 1)[1].lower()}/{id_}"),
        "name": resource_name,
        "region": region,
        "tagsAll": dict(inputs.get("tags") or {}),
    }


def _prefixed_id(prefix: str):
    def make(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"{prefix}-{_hex(prefix, name)}"}

    return make


def _iam_role(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    role = inputs.get("name") or f"{name}-{_hex('role', name, length=7)}"
    return {
        "id": role,
        "name": role,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{role}",
        "uniqueId": "AROA" + _hex("role", name).upper(),
    }


def _iam_policy(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    policy = inputs.get("name") or f"{name}-{_hex('policy', name, length=7)}"
    arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{policy}"
    return {"id": arn, "name": policy, "arn": arn, "policyId": "ANPA" + _hex(name).upper()}


def _cloudwatch_log_group(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    group = inputs.get("name") or f"{name}-{_hex('lg', name, length=7)}"
    region = inputs.get("region") or DEFAULT_REGION
    return {"id": group, "name": group, "arn": _arn("logs", region, f"log-group:{group}")}


def _kms_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    key_id = "mrk-" + _hex("kms", name, length=32)
    region = inputs.get("region") or DEFAULT_REGION
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", region, f"key/{key_id}")}


def _vpc_endpoint(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    id_ = f"vpce-{_hex('vpce', name)}"
    return {"id": id_, "prefixListId": f"pl-{_hex('pl', name, length=8)}", "dnsEntries": []}


def _eks_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    cluster = inputs.get("name") or f"{name}-{_hex('eks', name, length=7)}"
    region = inputs.get("region") or DEFAULT_REGION
    oidc_id = _hex("oidc", cluster, length=32).upper()
    certificate = "-----BEGIN CERTIFICATE-----\nbW9jaw==\n-----END CERTIFICATE-----\n"
    return {
        "id": cluster,
        "name": cluster,
        "arn": _arn("eks", region, f"cluster/{cluster}"),
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(certificate.encode()).decode()},
        "identities": [
            {"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}
        ],
        "version": inputs.get("version") or "1.33",
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{_hex('eks-sg', cluster)}",
            "vpcId": f"vpc-{_hex('eks-vpc', cluster)}",
        },
    }


def _eks_child(kind: str, key: str):
    """Node groups, add-ons: id ``cluster:name``, ARN under the cluster."""

    def make(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        cluster = inputs.get("clusterName") or "cluster"
        child = inputs.get(key) or f"{name}-{_hex(kind, name, length=7)}"
        region = inputs.get("region") or DEFAULT_REGION
        return {
            "id": f"{cluster}:{child}",
            key: child,
            "arn": _arn("eks", region, f"{kind}/{cluster}/{child}/{_hex(kind, name, length=8)}"),
            "status": "ACTIVE",
        }

    return make


def _sqs_queue(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    queue = inputs.get("name") or f"{name}-{_hex('sqs', name, length=7)}"
    region = inputs.get("region") or DEFAULT_REGION
    url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{queue}"
    return {"id": url, "url": url, "name": queue, "arn": _arn("sqs", region, queue)}


def _oidc_provider(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    host = str(inputs.get("url") or f"oidc.example/{name}").removeprefix("https://")
    arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:oidc-provider/{host}"
    return {"id": arn, "arn": arn}


def _launch_template(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    id_ = f"lt-{_hex('lt', name)}"
    region = inputs.get("region") or DEFAULT_REGION
    return {
        "id": id_,
        "arn": _arn("ec2", region, f"launch-template/{id_}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


def _event_rule(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    rule = inputs.get("name") or f"{name}-{_hex('rule', name, length=7)}"
    region = inputs.get("region") or DEFAULT_REGION
    return {"id": rule, "name": rule, "arn": _arn("events", region, f"rule/{rule}")}


def _pod_identity_association(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    id_ = f"a-{_hex('pia', name)}"
    region = inputs.get("region") or DEFAULT_REGION
    cluster = inputs.get("clusterName") or "cluster"
    return {
        "id": f"{cluster},{id_}",
        "associationId": id_,
        "associationArn": _arn("eks", region, f"podidentityassociation/{cluster}/{id_}"),
    }


def _access_entry(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    cluster = inputs.get("clusterName") or "cluster"
    principal = inputs.get("principalArn") or name
    region = inputs.get("region") or DEFAULT_REGION
    return {
        "id": f"{cluster}:{principal}",
        "accessEntryArn": _arn("eks", region, f"access-entry/{cluster}/{_hex('ae', name)}"),
    }


def _s3_bucket(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # A bucket's id is its name; its ARN carries neither region nor account.
    bucket = inputs.get("bucket") or f"{name}-{_hex('bucket', name, length=12)}"
    region = inputs.get("region") or DEFAULT_REGION
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
    }


def _kms_alias(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    alias = inputs.get("name") or f"alias/{name}-{_hex('alias', name, length=7)}"
    region = inputs.get("region") or DEFAULT_REGION
    target = str(inputs.get("targetKeyId") or "")
    target_arn = target if target.startswith("arn:") else _arn("kms", region, f"key/{target}")
    arn = _arn("kms", region, alias)
    return {"id": alias, "name": alias, "arn": arn, "targetKeyArn": target_arn}


def _amp_workspace(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("region") or DEFAULT_REGION
    workspace = f"ws-{_hex('amp', name, length=8)}-{_hex('amp-id', name, length=4)}"
    return {
        "id": workspace,
        "arn": _arn("aps", region, f"workspace/{workspace}"),
        "prometheusEndpoint": f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace}/",
    }


def _amp_scraper(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("region") or DEFAULT_REGION
    scraper = f"s-{_hex('scraper', name, length=8)}"
    return {
        "id": scraper,
        "arn": _arn("aps", region, f"scraper/{scraper}"),
        "roleArn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/aws-service-role/"
        f"scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper_{scraper}",
    }


def _grafana_workspace(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("region") or DEFAULT_REGION
    workspace = f"g-{_hex('grafana', name, length=10)}"
    return {
        "id": workspace,
        "arn": _arn("grafana", region, f"/workspaces/{workspace}"),
        "endpoint": f"{workspace}.grafana-workspace.{region}.amazonaws.com",
    }


def _grafana_service_account(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    account = _hex("grafana-sa", name, length=12)
    return {"id": f"{inputs.get('workspaceId')},{account}", "serviceAccountId": account}


def _grafana_token(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # A stand-in with the shape of a Grafana service account token (``glsa_...``).
    token = _hex("grafana-token", name, length=8)
    return {
        "id": f"{inputs.get('workspaceId')},{token}",
        "serviceAccountTokenId": token,
        "key": f"glsa_mock{_hex('grafana-key', name, length=32)}",
    }


def _sns_topic(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("region") or DEFAULT_REGION
    topic = inputs.get("name") or f"{name}-{_hex('sns', name, length=7)}"
    arn = f"arn:{PARTITION}:sns:{region}:{ACCOUNT_ID}:{topic}"
    return {"id": arn, "arn": arn, "name": topic, "owner": ACCOUNT_ID}


def _acm_certificate(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # ACM proves control of a name with one record per name and account, whichever certificate.
    region = inputs.get("region") or DEFAULT_REGION
    domains = [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]
    return {
        "arn": _arn("acm", region, f"certificate/{_hex('acm', name, length=32)}"),
        "status": "PENDING_VALIDATION",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{_hex('acm-name', domain, length=32)}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": (
                    f"_{_hex('acm-value', domain, length=32)}.acm-validations.aws."
                ),
            }
            for domain in domains
            if domain
        ],
    }


def _route53_record(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    record = str(inputs.get("name") or name).rstrip(".")
    return {"id": f"{inputs.get('zoneId')}_{record}_{inputs.get('type')}", "fqdn": record}


def _load_balancer(args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("name") or "alb"
    region = args.get("region") or DEFAULT_REGION
    arn = _arn(
        "elasticloadbalancing", region, f"loadbalancer/app/{name}/{_hex('alb', name, length=16)}"
    )
    return {
        "id": arn,
        "arn": arn,
        "name": name,
        "dnsName": f"{name}-{_hex('alb-dns', name, length=10)}.{region}.elb.amazonaws.com",
        # The canonical hosted zone of ALBs in us-east-1 (one fixed zone per region).
        "zoneId": "Z35SXDOTRQ7X7K",
        "loadBalancerType": "application",
        "region": region,
    }


OUTPUTS = {
    "aws:acm/certificate:Certificate": _acm_certificate,
    "aws:route53/record:Record": _route53_record,
    "aws:route53/healthCheck:HealthCheck": lambda name, inputs: {
        "id": _hex("hc", name, length=8) + "-" + _hex("hc2", name, length=27),
    },
    "aws:ec2/vpc:Vpc": lambda name, inputs: {
        "id": f"vpc-{_hex('vpc', name)}",
        "defaultSecurityGroupId": f"sg-{_hex('dsg', name)}",
        "mainRouteTableId": f"rtb-{_hex('mrt', name)}",
        "ownerId": ACCOUNT_ID,
    },
    "aws:ec2/subnet:Subnet": _prefixed_id("subnet"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed_id("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed_id("nat"),
    "aws:ec2/eip:Eip": lambda name, inputs: {
        "id": f"eipalloc-{_hex('eip', name)}",
        "allocationId": f"eipalloc-{_hex('eip', name)}",
        "publicIp": "203.0.113.10",
    },
    "aws:ec2/routeTable:RouteTable": _prefixed_id("rtb"),
    "aws:ec2/securityGroup:SecurityGroup": _prefixed_id("sg"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _prefixed_id("fl"),
    "aws:iam/role:Role": _iam_role,
    "aws:iam/policy:Policy": _iam_policy,
    "aws:cloudwatch/logGroup:LogGroup": _cloudwatch_log_group,
    "aws:kms/key:Key": _kms_key,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_child("nodegroup", "nodeGroupName"),
    "aws:eks/addon:Addon": _eks_child("addon", "addonName"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity_association,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:amp/scraper:Scraper": _amp_scraper,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:grafana/workspace:Workspace": _grafana_workspace,
    "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": _grafana_service_account,
    "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": _grafana_token,
}


def _caller_identity(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/llmfleet",
        "userId": "AIDA" + _hex("caller").upper(),
        "id": ACCOUNT_ID,
    }


INVOKES = {
    "aws:lb/getLoadBalancer:getLoadBalancer": _load_balancer,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:eks/getAddonVersion:getAddonVersion": lambda args: {
        "addonName": args.get("addonName"),
        "kubernetesVersion": args.get("kubernetesVersion"),
        "version": "v1.0.0-eksbuild.1",
        "id": args.get("addonName"),
    },
    "aws:index/getPartition:getPartition": lambda args: {
        "partition": PARTITION,
        "dnsSuffix": "amazonaws.com",
        "id": PARTITION,
    },
}
