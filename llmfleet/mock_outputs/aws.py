"""Outputs of pulumi-aws resources and functions, in the provider's shape."""

from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"


def _hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]


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


OUTPUTS = {
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
}


def _caller_identity(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/llmfleet",
        "userId": "AIDA" + _hex("caller").upper(),
        "id": ACCOUNT_ID,
    }


INVOKES = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": lambda args: {
        "partition": PARTITION,
        "dnsSuffix": "amazonaws.com",
        "id": PARTITION,
    },
}
