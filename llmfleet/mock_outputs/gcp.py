"""Outputs of pulumi-gcp resources and functions, in the provider's shape."""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any

from llmfleet.mock_outputs.ids import stable_hex

PROJECT = "llmfleet-project"
PROJECT_NUMBER = "123456789012"
COMPUTE = "https://www.googleapis.com/compute/v1"


_hex = stable_hex


def _collection(type_: str) -> str:
    # "gcp:compute/subnetwork:Subnetwork" -> "subnetworks"
    return type_.rsplit(":", 1)[1][0].lower() + type_.rsplit(":", 1)[1][1:] + "s"


def defaults(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What every GCP resource computes: its (auto-)name, project, id and self link."""
    project = inputs.get("project") or PROJECT
    resource_name = inputs.get("name") or f"{name}-{_hex(type_, name)}"
    scope = ""
    if inputs.get("region"):
        scope = f"regions/{inputs['region']}/"
    elif inputs.get("zone"):
        scope = f"zones/{inputs['zone']}/"
    else:
        scope = "global/"
    path = f"projects/{project}/{scope}{_collection(type_)}/{resource_name}"
    outputs: dict[str, Any] = {
        "id": path,
        "name": resource_name,
        "project": project,
        "effectiveLabels": dict(inputs.get("labels") or {}),
    }
    if type_.startswith("gcp:compute/"):
        outputs["selfLink"] = f"{COMPUTE}/{path}"
    return outputs


def _service_account(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    account = inputs.get("accountId") or name
    email = f"{account}@{project}.iam.gserviceaccount.com"
    return {
        "id": f"projects/{project}/serviceAccounts/{email}",
        "name": f"projects/{project}/serviceAccounts/{email}",
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": _hex("sa", name, length=21),
    }


def _service_account_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # A credentials file as the provider returns it (base64 JSON), with a stand-in PEM body.
    account = str(inputs.get("serviceAccountId") or name)
    key_id = _hex("sa-key", name, length=40)
    credentials = {
        "type": "service_account",
        "private_key_id": key_id,
        "private_key": "-----BEGIN PRIVATE KEY-----\nbW9jaw==\n-----END PRIVATE KEY-----\n",
        "client_email": account.rsplit("/", 1)[-1],
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return {
        "id": f"{account}/keys/{key_id}",
        "name": f"{account}/keys/{key_id}",
        "privateKey": base64.b64encode(json.dumps(credentials).encode()).decode(),
    }


def _kms_key_ring(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    ring = inputs.get("name") or f"{name}-{_hex('keyRing', name)}"
    location = inputs.get("location")
    return {"id": f"projects/{project}/locations/{location}/keyRings/{ring}", "name": ring}


def _kms_crypto_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    key = inputs.get("name") or f"{name}-{_hex('cryptoKey', name)}"
    return {"id": f"{inputs.get('keyRing')}/cryptoKeys/{key}", "name": key}


def _gke_endpoint(name: str, private: dict[str, Any]) -> str:
    """The private endpoint (in the control-plane /28) or a public address."""
    if private.get("enablePrivateEndpoint") and private.get("masterIpv4CidrBlock"):
        return str(ipaddress.ip_network(private["masterIpv4CidrBlock"])[2])
    octets = bytes.fromhex(_hex("gke", name, length=6))
    return f"34.{octets[0]}.{octets[1]}.{octets[2]}"


def _gke_endpoints_config(name: str, location: str, config: dict[str, Any]) -> dict[str, Any]:
    """The inputs, with the DNS endpoint GKE names ``gke-<hash>.<location>.gke.goog``."""
    dns = dict(config.get("dnsEndpointConfig") or {})
    dns["endpoint"] = f"gke-{_hex('dns', name, length=32)}-{PROJECT_NUMBER}.{location}.gke.goog"
    return {**config, "dnsEndpointConfig": dns}


def _gke_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    location = inputs.get("location")
    cluster = inputs.get("name") or f"{name}-{_hex('cluster', name)}"
    path = f"projects/{project}/locations/{location}/clusters/{cluster}"
    ca = f"-----BEGIN CERTIFICATE-----\nmock-ca-{_hex('ca', name)}\n-----END CERTIFICATE-----\n"
    return {
        "id": path,
        "name": cluster,
        "location": location,
        "endpoint": _gke_endpoint(name, inputs.get("privateClusterConfig") or {}),
        "controlPlaneEndpointsConfig": _gke_endpoints_config(
            name, location, inputs.get("controlPlaneEndpointsConfig") or {}
        ),
        "masterAuth": {
            "clusterCaCertificate": base64.b64encode(ca.encode()).decode(),
            "clientCertificateConfig": {"issueClientCertificate": False},
        },
        "masterVersion": inputs.get("minMasterVersion") or "",
        "selfLink": f"https://container.googleapis.com/v1/{path}",
    }


def _gke_node_pool(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    pool = inputs.get("name") or f"{name}-{_hex('nodePool', name)}"
    return {
        "id": f"{project}/{inputs.get('location')}/{inputs.get('cluster')}/{pool}",
        "name": pool,
    }


def _storage_bucket(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # A bucket's id is its (globally unique) name.
    bucket = inputs.get("name") or f"{name}-{_hex('bucket', name)}"
    return {
        "id": bucket,
        "name": bucket,
        "url": f"gs://{bucket}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
    }


def _project_service(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # The provider's id of an enabled API is "<project>/<service>".
    return {"id": f"{inputs.get('project') or PROJECT}/{inputs['service']}"}


def _notification_channel(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    channel = f"projects/{project}/notificationChannels/{_hex('channel', name, length=19)}"
    return {"id": channel, "name": channel}


def _alert_policy(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    policy = f"projects/{project}/alertPolicies/{_hex('policy', name, length=19)}"
    return {"id": policy, "name": policy}


def _dns_authorization(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    domain = inputs.get("domain") or name
    return {
        "dnsResourceRecords": [
            {
                "name": f"_acme-challenge.{domain}.",
                "type": "CNAME",
                "data": f"{_hex('authz', domain)}.4.authorize.certificatemanager.goog.",
            }
        ]
    }


def _global_address(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # Documentation addresses (RFC 5737): stable per name, never a real endpoint.
    return {"address": f"203.0.113.{int(_hex('address', name), 16) % 254 + 1}"}


def _uptime_check(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project") or PROJECT
    check_id = f"{name}-{_hex('uptime', name, length=10)}"
    path = f"projects/{project}/uptimeCheckConfigs/{check_id}"
    return {"id": path, "name": path, "uptimeCheckId": check_id}


OUTPUTS: dict[str, Any] = {
    "gcp:projects/service:Service": _project_service,
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": _dns_authorization,
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:serviceaccount/key:Key": _service_account_key,
    "gcp:kms/keyRing:KeyRing": _kms_key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _kms_crypto_key,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
    "gcp:storage/bucket:Bucket": _storage_bucket,
    "gcp:monitoring/notificationChannel:NotificationChannel": _notification_channel,
    "gcp:monitoring/alertPolicy:AlertPolicy": _alert_policy,
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": _uptime_check,
}


MOCK_API_KEY = "mock-api-key"
"""What the mocks read as the value of every API-key secret."""

INVOKES = {
    "gcp:secretmanager/getSecretVersionAccess:getSecretVersionAccess": lambda args: {
        "secret": args["secret"],
        "project": args.get("project") or PROJECT,
        "version": "1",
        "name": f"projects/{PROJECT_NUMBER}/secrets/{args['secret']}/versions/1",
        "secretData": MOCK_API_KEY,
        "isSecretDataBase64": False,
        "id": f"projects/{PROJECT_NUMBER}/secrets/{args['secret']}/versions/1",
    },
    "gcp:organizations/getProject:getProject": lambda args: {
        "projectId": args.get("projectId") or PROJECT,
        "number": PROJECT_NUMBER,
        "name": PROJECT,
        "id": f"projects/{PROJECT}",
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda args: {
        "project": PROJECT,
        "accessToken": "mock-access-token",
        "id": PROJECT,
    },
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": lambda args: {
        "emailAddress": f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com",
        "member": (
            f"serviceAccount:service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
        ),
        "project": args.get("project") or PROJECT,
        "id": f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com",
    },
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount": lambda args: {
        "email": f"project-{PROJECT_NUMBER}@storage-transfer-service.iam.gserviceaccount.com",
        "member": (
            f"serviceAccount:project-{PROJECT_NUMBER}@storage-transfer-service.iam.gserviceaccount.com"
        ),
        "subjectId": "104857600000000000042",
        "project": args.get("project") or PROJECT,
        "id": args.get("project") or PROJECT,
    },
}
