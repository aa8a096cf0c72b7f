"""The cost model: lines from resources as the engine sees them, usage from the spec."""

from __future__ import annotations

import pytest

from llmfleet.components import cost
from llmfleet.components.cost import Resource, Usage
from llmfleet.components.spec import ModelSpec, parse_fleet
from tests.conftest import DEV_FLEET

HOURS = 730


def node_pool(**spec) -> Resource:
    """A Karpenter NodePool for one g6.xlarge type (1 L4, 4 vCPU, 16 GiB)."""
    requirements = [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g6.xlarge"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1a"]},
    ]
    inputs = {
        "spec": {
            "template": {
                "metadata": {"labels": {"llmfleet.io/pool": "l4"}},
                "spec": {"requirements": requirements},
            },
            **spec,
        }
    }
    return Resource("urn:np", "kubernetes:karpenter.sh/v1:NodePool", "np", inputs)


class TestNodes:
    def test_karpenter_limits_bound_the_nodes(self):
        est = cost.estimate([node_pool(limits={"nvidia.com/gpu": 3, "cpu": 100})])
        [line] = est.lines
        assert (line.count_min, line.count_max, line.region) == (0, 3, "us-east-1")
        assert line.unit_usd == 0.8048
        assert est.monthly_max == round(3 * 0.8048 * HOURS, 2)
        assert est.monthly_min == 0

    def test_karpenter_pool_without_limits_is_unpriced_not_zero(self):
        est = cost.estimate([node_pool()])
        assert est.lines == []
        [unpriced] = est.unpriced
        assert unpriced.reason == "no maximum size"

    def test_serving_min_replicas_keep_nodes_up(self):
        usage = Usage(serving_nodes={("us-east-1", "l4"): 2})
        est = cost.estimate([node_pool(limits={"nvidia.com/gpu": 4})], usage)
        node_line = next(line for line in est.lines if line.kind == cost.ACCELERATOR_NODES)
        assert (node_line.count_min, node_line.count_max) == (2, 4)

    def test_spot_lines_carry_their_savings(self):
        group = Resource(
            "urn:ng",
            "aws:eks/nodeGroup:NodeGroup",
            "ng",
            {
                "instanceTypes": ["g6.xlarge"],
                "capacityType": "SPOT",
                "scalingConfig": {"minSize": 1, "maxSize": 2},
            },
            region="us-east-1",
        )
        est = cost.estimate([group])
        nodes = next(line for line in est.lines if line.kind == cost.ACCELERATOR_NODES)
        assert nodes.capacity == "spot"
        assert nodes.unit_usd == 0.4129
        assert est.spot_savings["max"] == pytest.approx(2 * (0.8048 - 0.4129) * HOURS, abs=0.02)

    def test_gke_per_zone_autoscaling_counts_every_zone(self):
        pool = Resource(
            "urn:gp",
            "gcp:container/nodePool:NodePool",
            "gp",
            {
                "nodeLocations": ["us-central1-a", "us-central1-b"],
                "autoscaling": {"minNodeCount": 1, "maxNodeCount": 3},
                "nodeConfig": {"machineType": "e2-standard-4", "diskSizeGb": 50},
            },
            region="us-central1",
        )
        lines = cost.estimate([pool]).lines
        [nodes] = [line for line in lines if line.kind == cost.SYSTEM_NODES]
        [disks] = [line for line in lines if line.kind == cost.NODE_DISKS]
        assert (nodes.count_min, nodes.count_max) == (2, 6)
        assert (disks.count_min, disks.count_max, disks.unit_usd) == (100, 300, 0.10)

    def test_an_unknown_type_is_unpriced(self):
        group = Resource(
            "urn:ng",
            "aws:eks/nodeGroup:NodeGroup",
            "ng",
            {"instanceTypes": ["x9.huge"], "scalingConfig": {"minSize": 1, "maxSize": 2}},
            region="us-east-1",
        )
        est = cost.estimate([group])
        assert est.monthly_max == 0 or all(line.kind != cost.SYSTEM_NODES for line in est.lines)
        assert any("x9.huge" in u.reason for u in est.unpriced)


class TestUsage:
    @pytest.mark.parametrize(
        ("size", "gb", "basis"),
        [
            ({"parameters_b": 70.6}, 131.5, "70.6B params in bf16"),
            ({"parameters_b": 70.6, "dtype": "fp8"}, 65.75, "70.6B params in fp8"),
            ({"weights_gib": 12.5}, 12.5, "weights_gib"),
            ({}, 50, "default"),
        ],
    )
    def test_versions_are_sized_by_their_spec(self, size, gb, basis):
        model = ModelSpec(name="m", version="v1", source="hf://org/m", **size)
        version = cost.model_version(model, cost.Assumptions())
        assert (version.gb, version.basis) == (gb, basis)

    def test_usage_of_a_fleet_serving_with_min_replicas(self):
        pool = {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 4}
        region = {**DEV_FLEET["regions"][0], "cluster": {"gpu_pools": [pool]}}
        model = {"name": "llama-3-70b", "version": "v1", "source": "hf://m/L", "weights_gib": 140}
        serving = {
            "name": "chat",
            "model": "llama-3-70b",
            "version": "v1",
            "pool": "h100",
            "min_replicas": 3,
            "max_replicas": 4,
            "tensor_parallel_size": 4,
        }
        budget = {"monthly_usd": 500000, "max_accelerators": 32}
        fleet = {**DEV_FLEET, "budget": budget, "regions": [region], "models": [model]}
        fleet["serving"] = [serving]
        usage = cost.usage_of(parse_fleet(fleet))
        assert usage.storage_regions == (("aws", "us-east-1"),)
        assert usage.model_gb == 140
        # Two 4-GPU replicas fit on one 8-GPU node: three replicas keep two nodes up.
        assert usage.serving_nodes == {("us-east-1", "h100"): 2}


class TestEstimate:
    def test_transfer_without_known_volume_is_unpriced(self):
        job = Resource(
            "urn:tj",
            "gcp:storage/transferJob:TransferJob",
            "tj",
            {"transferSpec": {"awsS3DataSource": {"bucketName": "b"}}},
            region="us-central1",
        )
        est = cost.estimate([job])
        assert est.lines == []
        assert est.unpriced[0].reason == "model volume unknown"

    def test_cross_cloud_copy_pays_aws_egress_per_published_gb(self):
        job = Resource(
            "urn:tj",
            "gcp:storage/transferJob:TransferJob",
            "tj",
            {"transferSpec": {"awsS3DataSource": {"bucketName": "b"}}},
            region="us-central1",
        )
        usage = Usage(models=(cost.ModelVersion("m", "v1", 140, "weights_gib"),))
        [line] = cost.estimate([job], usage).lines
        assert (line.kind, line.count_max, line.unit_usd, line.monthly_max) == (
            cost.DATA_TRANSFER,
            140,
            0.09,
            12.6,
        )

    def test_over_budget_names_the_overrun_and_the_biggest_line(self):
        est = cost.estimate([node_pool(limits={"nvidia.com/gpu": 1})], budget_usd=100)
        message = est.overrun()
        assert est.over_budget
        assert f"exceeds the budget $100.00 by ${est.monthly_max - 100:,.2f}" in message
        assert "biggest line: pool l4: g6.xlarge on-demand (us-east-1)" in message
