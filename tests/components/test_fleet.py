"""Fleet: region stacks, shared GCP VPC, replicated model storage and serving identities."""

from __future__ import annotations

import json

import pulumi
import pytest

from llmfleet.components.contracts import ServingCluster
from llmfleet.components.fleet import MODEL_READER, Fleet
from llmfleet.components.spec import parse_fleet
from llmfleet.recorder import record
from tests.conftest import DEV_FLEET, PROD_FLEET

L4 = {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 2, "spot": True}
PROD_REGIONS = sorted(r["region"] for r in PROD_FLEET["regions"])
MODEL = {"name": "llama", "version": "v1", "source": "hf://meta/llama", "parameters_b": 8}


def with_serving(config: dict) -> dict:
    config = json.loads(json.dumps(config))
    for region in config["regions"]:
        region["cluster"] = {"gpu_pools": [L4]}
    config["models"] = [MODEL]
    config["serving"] = [{"name": "chat", "model": "llama", "version": "v1", "pool": "l4"}]
    return config


def build(config: dict):
    spec = parse_fleet(config)

    def program() -> None:
        fleet = Fleet(spec.name, spec)
        pulumi.export("uris", fleet.model_uris)
        pulumi.export("storage", fleet.storage_outputs())
        pulumi.export(
            "access",
            {
                f"{serving}/{region}": {
                    "uri": access.uri,
                    "namespace": access.namespace,
                    "service_account": access.service_account,
                    "grant": access.grant.urn,
                    "clusters_are_serving_clusters": all(
                        isinstance(stack.cluster, ServingCluster)
                        for stack in fleet.regions.values()
                    ),
                }
                for (serving, region), access in fleet.model_access.items()
            },
        )

    return record(program)


@pytest.fixture(scope="module")
def prod():
    return build(with_serving(PROD_FLEET))


@pytest.fixture(scope="module")
def dev():
    return build(with_serving(DEV_FLEET))


def test_one_region_stack_with_network_and_cluster_per_region(prod):
    stacks = prod.of_type("llmfleet:fleet:RegionStack")
    assert sorted(s.region for s in stacks) == PROD_REGIONS
    for stack in stacks:
        kinds = sorted(c.type for c in prod.children(stack))
        network, cluster, api_key = (
            ("llmfleet:aws:Network", "llmfleet:aws:Cluster", "llmfleet:aws:ApiKey")
            if stack.cloud == "aws"
            else ("llmfleet:gcp:RegionNetwork", "llmfleet:gcp:Cluster", "llmfleet:gcp:ApiKey")
        )
        # Every region serves: its API key, the sync controller and the model server.
        serving = [
            api_key,
            "llmfleet:k8s:ClusterAutoscaling",
            "llmfleet:k8s:ModelServer",
            "llmfleet:k8s:SecretSync",
        ]
        # ...and the cloud's managed Prometheus that KEDA and the alerts read.
        serving.append(f"llmfleet:{stack.cloud}:ManagedMetrics")
        assert kinds == sorted([network, cluster, *serving])


def test_gcp_regions_share_one_vpc_and_aws_only_fleets_have_none(prod, dev):
    assert len(prod.of_type("llmfleet:gcp:Vpc")) == 1
    assert dev.of_type("llmfleet:gcp:Vpc") == []


def test_one_kubernetes_provider_per_cluster(prod):
    providers = prod.of_type("pulumi:providers:kubernetes")
    assert sorted(p.region for p in providers) == PROD_REGIONS
    for obj in (r for r in prod.resources if r.type.startswith("kubernetes:")):
        assert obj.provider in {p.urn for p in providers}


def test_aws_primary_replicates_to_the_other_aws_region(prod):
    config = prod.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert config.region == "us-east-1"
    rules = config.inputs["rules"]
    assert len(rules) == 1
    replica = prod.one("aws:s3/bucket:Bucket", "llm-prod-aws-models-bucket-us-west-2")
    assert rules[0]["destination"]["bucket"] == replica.outputs["arn"]


def test_gcp_copy_is_pulled_from_the_aws_primary(prod):
    jobs = prod.of_type("gcp:storage/transferJob:TransferJob")
    from_s3 = [j for j in jobs if "awsS3DataSource" in j.inputs["transferSpec"]]
    assert len(from_s3) == 1
    primary = prod.one("aws:s3/bucket:Bucket", "llm-prod-aws-models-bucket-us-east-1")
    source = from_s3[0].inputs["transferSpec"]["awsS3DataSource"]
    assert source["bucketName"] == primary.outputs["bucket"]


def test_every_serving_uri_points_at_a_bucket_in_its_own_region(prod):
    uris = prod.exports["uris"]["chat"]
    assert sorted(uris) == PROD_REGIONS
    buckets = {
        r.outputs.get("bucket") or r.outputs.get("name"): r
        for r in prod.of_type("aws:s3/bucket:Bucket") + prod.of_type("gcp:storage/bucket:Bucket")
    }
    for region, uri in uris.items():
        scheme, rest = uri.split("://")
        bucket = buckets[rest.split("/")[0]]
        assert bucket.region == region
        assert scheme == ("s3" if bucket.cloud == "aws" else "gs")
        assert rest.endswith("/models/llama/v1/")


def test_aws_serving_identity_reads_only_its_region_copy(prod):
    for region in ("us-east-1", "us-west-2"):
        association = next(
            r
            for r in prod.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
            if r.region == region and r.inputs["namespace"] == "chat"
        )
        assert association.inputs["serviceAccount"] == MODEL_READER
        policy = next(
            r
            for r in prod.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.region == region and r.name.endswith("-chat-models")
        )
        resources = {
            resource
            for statement in json.loads(policy.inputs["policy"])["Statement"]
            for resource in _listed(statement["Resource"])
        }
        bucket = prod.one("aws:s3/bucket:Bucket", f"llm-prod-aws-models-bucket-{region}")
        key = prod.one("aws:kms/key:Key", f"llm-prod-aws-models-key-{region}")
        assert resources == {bucket.outputs["arn"], f"{bucket.outputs['arn']}/models/*"} | {
            key.outputs["arn"]
        }


def test_gcp_serving_identity_is_the_namespace_service_account(prod):
    readers = [
        r
        for r in prod.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.inputs["role"] == "roles/storage.objectViewer" and "/ns/chat/" in r.inputs["member"]
    ]
    assert sorted(r.region for r in readers) == ["europe-west4", "us-central1"]
    for reader in readers:
        assert reader.inputs["member"].endswith(f"/ns/chat/sa/{MODEL_READER}")
        # The Workload Identity pool exists once the region's cluster does: wait for it.
        cluster = next(
            c for c in prod.of_type("gcp:container/cluster:Cluster") if c.region == reader.region
        )
        assert cluster.urn in reader.dependencies


def test_dev_fleet_publishes_to_its_single_bucket(dev):
    assert dev.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig") == []
    bucket = dev.one("aws:s3/bucket:Bucket", "llm-dev-aws-models-bucket-us-east-1")
    assert dev.exports["storage"]["primary_bucket"] == bucket.outputs["bucket"]
    assert dev.exports["storage"]["writer"].startswith("arn:aws:iam::")


def _listed(value) -> list[str]:
    return value if isinstance(value, list) else [value]


# --- model access: what a serving deployment depends on ------------------------------------


def test_model_access_gives_each_deployment_region_its_uri_identity_and_grant(prod):
    access = prod.exports["access"]
    assert sorted(access) == [f"chat/{region}" for region in PROD_REGIONS]
    for key, entry in access.items():
        region = key.split("/")[1]
        assert entry["uri"] == prod.exports["uris"]["chat"][region]
        assert (entry["namespace"], entry["service_account"]) == ("chat", MODEL_READER)
        assert entry["clusters_are_serving_clusters"] is True
        grant = prod.by_urn[entry["grant"]]
        # The resource after which pods may read: Pod Identity on EKS, the bucket grant on GKE.
        expected = {
            "aws": "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            "gcp": "gcp:storage/bucketIAMMember:BucketIAMMember",
        }[grant.cloud]
        assert grant.type == expected
        if grant.cloud == "aws":
            assert (grant.inputs["namespace"], grant.inputs["serviceAccount"]) == (
                "chat",
                MODEL_READER,
            )
        else:
            assert f"/subject/ns/chat/sa/{MODEL_READER}" in grant.inputs["member"]


def test_a_cluster_refuses_another_clouds_model_store(run, prod_fleet):
    from llmfleet.components.aws.storage import AwsModelStorage, AwsModelStorageArgs
    from llmfleet.components.gcp.cloud import GcpCloud

    def program() -> None:
        gcp_region = prod_fleet.regions_of("gcp")[0]
        aws_regions = prod_fleet.regions_of("aws")
        cloud = GcpCloud()
        vpc = cloud.fleet_network("vpc", prod_fleet, pulumi.ResourceOptions())
        parts = cloud.region("r", prod_fleet, gcp_region, vpc, pulumi.ResourceOptions())
        store = AwsModelStorage("s3", AwsModelStorageArgs(prod_fleet, primary=aws_regions[0]))
        with pytest.raises(TypeError, match="reads models from GCP model storage, not Aws"):
            parts.cluster.grant_model_read("x", "chat", MODEL_READER, store)

    run(program)


def test_a_serving_deployment_naming_an_unknown_model_is_an_error(run, prod_fleet):
    spec = parse_fleet(with_serving(PROD_FLEET))
    spec.models.clear()  # past validation: the fleet still refuses it with a message

    def program() -> None:
        with pytest.raises(ValueError, match=r"names model llama v1, which fleet\.models"):
            Fleet(spec.name, spec)

    run(program)
