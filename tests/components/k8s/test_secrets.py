"""Secret sync: External Secrets Operator and the stores of the fleet's API key."""

from __future__ import annotations

import pytest

from llmfleet.components.fleet import Fleet
from llmfleet.components.k8s.secrets import EXTERNAL_SECRETS, STORE
from llmfleet.components.spec import parse_fleet
from llmfleet.manifests import manifest
from llmfleet.recorder import record
from tests.components.k8s.test_serving import config
from tests.conftest import SCHEMAS
from tests.k8s_schemas import validate_custom_resource

STORE_TYPE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
CRDS = SCHEMAS / "external-secrets"


@pytest.fixture(scope="module")
def rec():
    spec = parse_fleet(config())
    return record(lambda: Fleet(spec.name, spec))


def test_one_store_per_cluster_valid_against_the_upstream_crd(rec):
    stores = rec.of_type(STORE_TYPE)
    assert sorted(s.region for s in stores) == [
        "europe-west4",
        "us-central1",
        "us-east-1",
        "us-west-2",
    ]
    for store in stores:
        assert store.inputs["metadata"]["name"] == STORE
        validate_custom_resource(
            manifest(store), CRDS / "external-secrets.io_clustersecretstores.yaml"
        )


def test_stores_authenticate_as_the_controllers_workload_identity(rec):
    by_region = {s.region: s.inputs["spec"]["provider"] for s in rec.of_type(STORE_TYPE)}
    assert set(by_region["us-east-1"]) == {"aws"}
    assert by_region["us-central1"] == {"gcpsm": {"projectID": "llm-prod-serving"}}
    # No auth block: no static keys; the controller's own identity reads the secret.
    for provider in by_region.values():
        assert all("auth" not in block for block in provider.values())


def test_every_external_secret_is_valid_and_owned_by_its_target(rec):
    secrets = rec.of_type(EXTERNAL_SECRET)
    # One per model server: chat in four regions, chat-tpu and frontier in one each.
    assert len(secrets) == len(rec.of_type("llmfleet:k8s:ModelServer")) == 6
    for secret in secrets:
        body = manifest(secret)
        validate_custom_resource(body, CRDS / "external-secrets.io_externalsecrets.yaml")
        assert body["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": STORE}
        assert body["spec"]["target"]["creationPolicy"] == "Owner"


def test_controller_chart_is_pinned(rec):
    charts = {
        r.inputs["version"]
        for r in rec.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["chart"] == EXTERNAL_SECRETS.name
    }
    assert charts == {"2.4.1"}
