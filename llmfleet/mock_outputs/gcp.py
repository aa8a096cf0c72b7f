"""Outputs of pulumi-gcp resources and functions, in the provider's shape."""

from __future__ import annotations

import hashlib
from typing import Any

PROJECT = "llmfleet-project"
PROJECT_NUMBER = "123456789012"
COMPUTE = "https://www.googleapis.com/compute/v1"


def _hex(*parts: str, length: int = 7) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]


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


OUTPUTS: dict[str, Any] = {
    "gcp:serviceaccount/account:Account": _service_account,
}


INVOKES = {
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
}
