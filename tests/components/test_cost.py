"""The cost model: lines from resources as the engine sees them, usage from the spec."""

from __future__ import annotations

import dataclasses
import json

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


def engine(value):
    """``value`` as the engine records it: deserialized, so its strings are new objects."""
    return json.loads(json.dumps(value))


def res(type_: str, name: str, inputs: dict, region: str | None = "us-east-1", **kw) -> Resource:
    """A resource as the engine records it, named ``urn:<name>``."""
    return Resource(f"urn:{name}", engine(type_), name, engine(inputs), region=region, **kw)


def priced(*resources: Resource, usage: Usage | None = None) -> dict[str, tuple]:
    """item -> (region, kind, count_min, count_max, unit_usd, monthly_max) of every line."""
    est = cost.estimate(list(resources), usage=usage)
    return {
        line.item: (
            line.region,
            line.kind,
            line.count_min,
            line.count_max,
            line.unit_usd,
            line.monthly_max,
        )
        for line in est.lines
    }


def unpriced(*resources: Resource, usage: Usage | None = None) -> dict[str, tuple]:
    """item -> (region, kind, reason) of everything the estimate cannot price."""
    est = cost.estimate(list(resources), usage=usage)
    return {u.item: (u.region, u.kind, u.reason) for u in est.unpriced}


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
KARPENTER = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
GKE_POOL = "gcp:container/nodePool:NodePool"


class TestAssumptions:
    def test_what_every_estimate_assumes(self):
        assert cost.Assumptions().describe() == {
            "hours_per_month": "730 hours a month for hourly prices",
            "model_gb": "a version weighs its weights_gib, else parameters_b x its dtype's bytes, "
            "else 50 GB",
            "log_gb_per_source": "10 GB a month ingested per log group, GKE cluster or subnet "
            "with flow logs; stored for the group's retention",
            "transfer": "every listed model version is copied once to every replica this month "
            "(the month it is published)",
            "serving": "each serving replica kept up while idle (min_replicas; 0 scales to zero "
            "behind the KEDA HTTP add-on) holds whole nodes of its pool",
        }

    def test_other_assumptions_change_the_lines(self):
        group = res("aws:cloudwatch/logGroup:LogGroup", "lg", {"name": "app"})
        est = cost.estimate([group], assumptions=cost.Assumptions(log_gb_per_source=20))
        [line] = est.lines
        assert (line.count_max, line.monthly_max) == (20, 10.0)

    @pytest.mark.parametrize(
        "value",
        [
            cost.Assumptions(),
            cost.Resource("urn:r", "t", "r", {}),
            cost.ModelVersion("m", "v1", 1, "default"),
            cost.Usage(),
            cost.Line("r", "k", "i", 0, 1, "node", 1, "hour", "s", "d"),
            cost.Unpriced("r", "k", "i", "why"),
        ],
    )
    def test_estimate_values_are_constants(self, value):
        field = next(iter(dataclasses.asdict(value)))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)


class TestLine:
    def test_monthly_is_count_hours_and_price_to_the_cent(self):
        line = cost.Line("r", "k", "i", 1, 3, "node", 0.8048, "hour", "s", "d", hours=730)
        # 3 x 730 x 0.8048 = 1762.512
        assert (line.monthly_min, line.monthly_max) == (587.5, 1762.51)

    def test_a_line_is_monthly_by_default_and_carries_no_accelerators(self):
        line = cost.Line("r", "k", "i", 2, 2, "key", 1.5, "month", "s", "d")
        assert (line.monthly_max, line.accelerators_per_unit, line.hours) == (3.0, 0, 1.0)

    def test_spot_savings_against_on_demand(self):
        line = cost.Line(
            "r", "k", "i", 1, 2, "node", 0.4129, "hour", "s", "d",
            capacity="spot", on_demand_unit_usd=0.8048, hours=730,
        )  # fmt: skip
        # 2 x 730 x 0.8048 = 1175.008 -> 1175.01; 2 x 730 x 0.4129 = 602.834 -> 602.83.
        assert line.savings(2) == pytest.approx(572.18)
        assert line.savings(1) == pytest.approx(587.50 - 301.42)
        on_demand = cost.Line("r", "k", "i", 1, 2, "node", 0.8048, "hour", "s", "d", hours=730)
        assert on_demand.savings(2) == 0.0

    def test_json_adds_the_monthly_figures(self):
        line = cost.Line("r", "k", "i", 1, 2, "key", 1.0, "month", "s", "d")
        data = line.to_json()
        assert data["monthly_usd"] == {"min": 1.0, "max": 2.0}
        assert (data["item"], data["count_unit"], data["per"]) == ("i", "key", "month")


def line(region: str, kind: str, low: float, high: float, **kw) -> cost.Line:
    return cost.Line(
        region, kind, f"{kind} in {region}", low, high, "x", 1.0, "month", "s", "d", **kw
    )


class TestEstimateTotals:
    LINES = [
        line("us-east-1", "network", 1.25, 1.25),
        line("us-east-1", "accelerator nodes", 0, 10.5),
        line("europe-west4", "network", 2.5, 2.5),
    ]

    def estimate(self, budget=None) -> cost.Estimate:
        return cost.Estimate(list(self.LINES), [], cost.Assumptions(), budget)

    def test_totals(self):
        est = self.estimate()
        assert (est.monthly_min, est.monthly_max) == (3.75, 14.25)
        assert est.totals_by(lambda x: x.region) == {
            "europe-west4": {"min": 2.5, "max": 2.5},
            "us-east-1": {"min": 1.25, "max": 11.75},
        }
        assert est.totals_by(lambda x: x.kind) == {
            "accelerator nodes": {"min": 0.0, "max": 10.5},
            "network": {"min": 3.75, "max": 3.75},
        }
        assert est.biggest_line.item == "accelerator nodes in us-east-1"

    def test_the_totals_are_to_the_cent(self):
        est = cost.Estimate(
            [line("r", "k", 0.05, 0.05), line("r", "k", 0.01, 0.01)], [], cost.Assumptions()
        )
        assert (est.monthly_min, est.monthly_max) == (0.06, 0.06)

    def test_spot_savings_add_up(self):
        spot = line("r", "nodes", 1, 2, on_demand_unit_usd=2.25)
        est = cost.Estimate([spot, line("r", "k", 1, 1)], [], cost.Assumptions())
        assert est.spot_savings == {"min": 1.25, "max": 2.5}

    @pytest.mark.parametrize(
        ("budget", "headroom", "over"),
        [
            (None, None, False),
            (20, 5.75, False),
            (20.125, 5.88, False),
            (14.25, 0.0, False),
            (14.2, -0.05, True),
        ],
    )
    def test_headroom_against_the_budget(self, budget, headroom, over):
        est = self.estimate(budget)
        assert est.headroom_usd == headroom
        assert est.over_budget is over
        assert (est.overrun() is not None) is over

    def test_the_overrun_message(self):
        assert self.estimate(10).overrun() == (
            "estimated $14.25 a month at maximum scale exceeds the budget $10.00 by $4.25; "
            "biggest line: accelerator nodes in us-east-1 (us-east-1) $10.50 a month"
        )

    def test_json(self):
        data = self.estimate(20).to_json()
        assert data["monthly_usd"] == {"min": 3.75, "max": 14.25}
        assert (data["budget_usd"], data["headroom_usd"]) == (20, 5.75)
        assert data["biggest_line"] == "accelerator nodes in us-east-1"
        assert data["by_region"]["us-east-1"] == {"min": 1.25, "max": 11.75}
        assert data["by_kind"]["network"] == {"min": 3.75, "max": 3.75}
        assert len(data["lines"]) == 3
        assert data["unpriced"] == []
        assert data["assumptions"]["hours_per_month"] == "730 hours a month for hourly prices"

    def test_json_of_an_empty_estimate(self):
        data = cost.estimate([]).to_json()
        assert data["biggest_line"] is None
        assert data["monthly_usd"] == {"min": 0, "max": 0}
        assert data["model_versions"] == []


def fleet_serving(pools: list[dict], serving: dict, model: dict | None = None) -> dict:
    region = {**DEV_FLEET["regions"][0], "cluster": {"gpu_pools": pools}}
    model = model or {"name": "m", "version": "v1", "source": "hf://org/m", "weights_gib": 10}
    serving = {"name": "chat", "model": "m", "version": "v1", "max_replicas": 8, **serving}
    budget = {"monthly_usd": 500000, "max_accelerators": 64}
    return {
        **DEV_FLEET,
        "budget": budget,
        "regions": [region],
        "models": [model],
        "serving": [serving],
    }


class TestUsageOfServing:
    # Pools listed with names on both sides of the served one: it is found by name.
    POOLS = [
        {"name": "zz", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 2},
        {"name": "aa", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 8},
        {"name": "mm", "accelerator": "nvidia-l4", "count": 4, "max_nodes": 4},
    ]

    def test_replicas_pack_onto_the_served_pool_s_nodes(self):
        serving = {"pool": "mm", "min_replicas": 5, "tensor_parallel_size": 1}
        # Parsed as a stack file is: names are strings read from the file, not literals.
        usage = cost.usage_of(parse_fleet(engine(fleet_serving(self.POOLS, serving))))
        # Four one-GPU replicas fit on a 4-GPU node: five replicas keep two nodes up.
        assert usage.serving_nodes == {("us-east-1", "mm"): 2}

    def test_one_replica_per_one_gpu_node(self):
        serving = {"pool": "aa", "min_replicas": 3, "tensor_parallel_size": 1}
        usage = cost.usage_of(parse_fleet(fleet_serving(self.POOLS, serving)))
        assert usage.serving_nodes == {("us-east-1", "aa"): 3}

    def test_a_version_without_size_weighs_the_default(self):
        serving = {"pool": "aa", "min_replicas": 1}
        fleet = fleet_serving(self.POOLS, serving)
        fleet["models"].append({"name": "other", "version": "v2", "source": "hf://org/o"})
        usage = cost.usage_of(parse_fleet(fleet))
        assert usage.models == (
            cost.ModelVersion("m", "v1", 10.0, "weights_gib"),
            cost.ModelVersion("other", "v2", 50.0, "default"),
        )


def eks_group(**inputs) -> Resource:
    base = {
        "instanceTypes": ["g6.xlarge"],
        "scalingConfig": {"minSize": 1, "maxSize": 2},
        "labels": {"llmfleet.io/pool": "l4"},
    }
    return res(NODE_GROUP, "ng", {**base, **inputs})


class TestEksNodeGroup:
    def test_nodes_and_the_default_20_gb_disks(self):
        assert priced(eks_group()) == {
            # 2 x 730 x 0.8048; 2 x 20 GB x 0.08.
            "pool l4: g6.xlarge on-demand": (
                "us-east-1",
                "accelerator nodes",
                1,
                2,
                0.8048,
                1175.01,
            ),
            "pool l4: 20 GB gp3 disk per node": ("us-east-1", "node disks", 20, 40, 0.08, 3.2),
        }

    def test_spot_and_a_missing_minimum(self):
        group = eks_group(capacityType="SPOT", scalingConfig={"maxSize": 2})
        nodes = priced(group)["pool l4: g6.xlarge spot"]
        assert nodes == ("us-east-1", "accelerator nodes", 0, 2, 0.4129, 602.83)

    def test_the_pool_is_the_group_s_name_without_a_label_and_global_without_a_region(self):
        group = eks_group(labels={}, diskSize=50)
        group = dataclasses.replace(group, region=None)
        assert priced(group) == {
            "pool ng: g6.xlarge on-demand": ("global", "accelerator nodes", 1, 2, 0.8048, 1175.01),
            "pool ng: 50 GB gp3 disk per node": ("global", "node disks", 50, 100, 0.08, 8.0),
        }

    def test_the_dearest_allowed_type_bounds_the_cost(self):
        group = eks_group(instanceTypes=["g6.xlarge", "g6.2xlarge"])
        assert "pool l4: g6.2xlarge on-demand" in priced(group)

    def test_a_node_group_without_types_is_unpriced(self):
        assert unpriced(eks_group(instanceTypes=[])) == {
            "pool l4 nodes": (
                "us-east-1",
                "system nodes",
                "no catalog price: no instance type stated",
            )
        }

    def test_unknown_types_are_named(self):
        assert unpriced(eks_group(instanceTypes=["g6.xlarge", "x9.huge"])) == {
            "pool l4 nodes": ("us-east-1", "system nodes", "no catalog price: x9.huge")
        }

    def test_a_node_group_without_maximum_is_unpriced(self):
        assert unpriced(eks_group(scalingConfig={"minSize": 1})) == {
            "pool l4 nodes": ("us-east-1", "accelerator nodes", "no maximum size")
        }

    def test_the_launch_template_s_root_volume_sizes_the_disks(self):
        template = res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "lt",
            {
                "blockDeviceMappings": [
                    {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, "volumeType": "gp2"}},
                    {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": 900}},
                ]
            },
        )
        role = res("aws:iam/role:Role", "role", {})
        group = dataclasses.replace(
            eks_group(),
            property_dependencies={"launchTemplate": ["urn:gone", "urn:role", "urn:lt"]},
        )
        disks = priced(group, template, role)["pool l4: 100 GB gp2 disk per node"]
        assert disks == ("us-east-1", "node disks", 100, 200, 0.1, 20.0)

    @pytest.mark.parametrize(
        ("ebs", "item", "reason"),
        [
            ({"volumeType": "gp3"}, "pool l4: ? GB gp3 disk per node", "disk size unknown"),
            (
                {"volumeSize": 100, "volumeType": "io2"},
                "pool l4: 100 GB io2 disk per node",
                "no catalog price for io2",
            ),
        ],
    )
    def test_disks_that_cannot_be_priced(self, ebs, item, reason):
        template = res(
            "aws:ec2/launchTemplate:LaunchTemplate", "lt", {"blockDeviceMappings": [{"ebs": ebs}]}
        )
        group = dataclasses.replace(
            eks_group(), property_dependencies={"launchTemplate": ["urn:lt"]}
        )
        assert unpriced(group, template) == {item: ("us-east-1", "node disks", reason)}


def karpenter_pool(limits: dict | None, *requirements: dict, name="l4", **template_spec) -> dict:
    """A NodePool restricted to g6.xlarge in us-east-1a, plus ``requirements``."""
    return {
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "requirements": [
                        {
                            "key": "node.kubernetes.io/instance-type",
                            "operator": "In",
                            "values": ["g6.xlarge"],
                        },
                        {
                            "key": "topology.kubernetes.io/zone",
                            "operator": "In",
                            "values": ["us-east-1a", "us-east-1b"],
                        },
                        *requirements,
                    ],
                    **template_spec,
                }
            },
            **({"limits": limits} if limits is not None else {}),
        },
    }


def nodes_of(*resources: Resource) -> tuple:
    est = cost.estimate(list(resources))
    [nodes] = [x for x in est.lines if x.count_unit == "node"]
    return nodes.item, nodes.region, nodes.count_max


class TestKarpenterNodePool:
    @pytest.mark.parametrize(
        ("limits", "count"),
        [
            ({"cpu": "8"}, 2),
            ({"cpu": "16000m"}, 4),
            ({"cpu": 12.5}, 3),
            ({"memory": "64Gi"}, 4),
            ({"memory": "65536Mi"}, 4),
            ({"memory": "67108864Ki"}, 4),
            ({"memory": "1Ti"}, 64),
            ({"nvidia.com/gpu": 3, "cpu": "100", "memory": "1Ti"}, 3),
            ({"nvidia.com/gpu": "x", "cpu": "8"}, 2),
        ],
    )
    def test_the_tightest_limit_bounds_the_nodes(self, limits, count):
        # g6.xlarge: 1 GPU, 4 vCPU, 16 GiB.
        pool = res(KARPENTER, "np", karpenter_pool(limits), region=None)
        assert nodes_of(pool) == ("pool l4: g6.xlarge on-demand", "us-east-1", count)

    def test_several_types_are_bounded_by_the_smallest(self):
        pool = karpenter_pool({"nvidia.com/gpu": 8})
        pool["spec"]["template"]["spec"]["requirements"][0]["values"] = ["g6.12xlarge", "g6.xlarge"]
        # 8 GPUs hold 8 one-GPU nodes; the dearer 4-GPU type prices them.
        assert nodes_of(res(KARPENTER, "np", pool)) == (
            "pool l4: g6.12xlarge on-demand",
            "us-east-1",
            8,
        )

    def test_four_gpu_nodes(self):
        pool = karpenter_pool({"nvidia.com/gpu": 8})
        pool["spec"]["template"]["spec"]["requirements"][0]["values"] = ["g6.12xlarge"]
        assert nodes_of(res(KARPENTER, "np", pool))[2] == 2

    @pytest.mark.parametrize(
        ("zones", "region"),
        [(["use1-az1"], "global"), ([], "global"), (["us-west-2a"], "us-west-2")],
    )
    def test_the_region_is_the_zones_region(self, zones, region):
        pool = karpenter_pool({"cpu": "8"})
        pool["spec"]["template"]["spec"]["requirements"][1]["values"] = zones
        assert nodes_of(res(KARPENTER, "np", pool, region=None))[1] == region

    @pytest.mark.parametrize(
        ("requirement", "capacity"),
        [
            (
                {
                    "key": "karpenter.sh/capacity-type",
                    "operator": "In",
                    "values": ["spot", "on-demand"],
                },
                "spot",
            ),
            (
                {"key": "karpenter.sh/capacity-type", "operator": "NotIn", "values": ["spot"]},
                "on-demand",
            ),
            ({"key": "karpenter.sh/capacity-type", "operator": "Exists"}, "on-demand"),
        ],
    )
    def test_spot_when_the_pool_allows_it(self, requirement, capacity):
        pool = res(KARPENTER, "np", karpenter_pool({"cpu": "8"}, requirement))
        [nodes] = [x for x in cost.estimate([pool]).lines if x.count_unit == "node"]
        assert nodes.capacity == capacity

    def test_a_pool_of_an_unknown_type_with_limits_is_unpriced(self):
        pool = karpenter_pool({"cpu": "8"})
        pool["spec"]["template"]["spec"]["requirements"][0]["values"] = ["x9.huge"]
        assert unpriced(res(KARPENTER, "np", pool)) == {
            "pool l4 nodes": ("us-east-1", "system nodes", "no catalog price: x9.huge")
        }

    def test_the_pool_s_node_class_sizes_the_disks(self):
        def node_class(name: str, provider: str, size: str) -> Resource:
            mappings = [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": size}}]
            inputs = {"metadata": {"name": name}, "spec": {"blockDeviceMappings": mappings}}
            return res(NODE_CLASS, f"{name}-{provider}", inputs, provider=engine(provider))

        pool = karpenter_pool({"cpu": "8"}, nodeClassRef={"name": "l4"})
        resources = [
            # The NodePool shares its class's name; another cluster has a class of that name;
            # this cluster has another class.
            res(KARPENTER, "np", pool, provider="p-a"),
            node_class("l4", "p-b", "500Gi"),
            node_class("zz", "p-a", "300Gi"),
            node_class("aa", "p-a", "700Gi"),
            node_class("l4", "p-a", "100Gi"),
        ]
        disks = priced(*resources)["pool l4: 100 GB gp3 disk per node"]
        assert disks == ("us-east-1", "node disks", 0, 200, 0.08, 16.0)


def gke_pool(**inputs) -> Resource:
    config = {"machineType": "g2-standard-4", "labels": {"llmfleet.io/pool": "l4"}}
    return res(GKE_POOL, "gp", {"nodeConfig": config, **inputs}, region="us-central1")


class TestGkeNodePool:
    @pytest.mark.parametrize(
        ("inputs", "counts"),
        [
            ({}, (1, 1)),
            ({"nodeCount": 3}, (3, 3)),
            ({"initialNodeCount": 2, "nodeLocations": ["a", "b"]}, (4, 4)),
            ({"nodeCount": 3, "nodeLocations": ["a", "b"]}, (6, 6)),
            ({"autoscaling": {"maxNodeCount": 2}, "nodeLocations": ["a", "b", "c"]}, (0, 6)),
            ({"autoscaling": {"totalMaxNodeCount": 5}}, (0, 5)),
            ({"autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 5}}, (1, 5)),
        ],
    )
    def test_node_counts(self, inputs, counts):
        [nodes] = [x for x in cost.estimate([gke_pool(**inputs)]).lines if x.count_unit == "node"]
        assert (nodes.count_min, nodes.count_max) == counts

    def test_lines(self):
        pool = gke_pool(nodeCount=2)
        assert priced(pool) == {
            # 2 x 730 x 0.706832; 2 x 100 GB pd-balanced x 0.10.
            "pool l4: g2-standard-4 on-demand": (
                "us-central1",
                "accelerator nodes",
                2,
                2,
                0.706832,
                1031.97,
            ),
            "pool l4: 100 GB pd-balanced disk per node": (
                "us-central1",
                "node disks",
                200,
                200,
                0.1,
                20.0,
            ),
        }

    @pytest.mark.parametrize("flag", ["spot", "preemptible"])
    def test_spot_or_preemptible(self, flag):
        pool = gke_pool()
        pool.inputs["nodeConfig"][flag] = True
        [nodes] = [x for x in cost.estimate([pool]).lines if x.count_unit == "node"]
        assert (nodes.capacity, nodes.unit_usd) == ("spot", 0.279932)

    @pytest.mark.parametrize(
        ("labels", "name", "pool"),
        [({"llmfleet.io/pool": "l4"}, "gpu", "l4"), ({}, "gpu", "gpu"), ({}, None, "gp")],
    )
    def test_the_pool_name(self, labels, name, pool):
        inputs = {"nodeConfig": {"machineType": "e2-standard-4", "labels": labels}}
        if name:
            inputs["name"] = name
        item = nodes_of(res(GKE_POOL, "gp", inputs, region=None))[0]
        assert item == f"pool {pool}: e2-standard-4 on-demand"

    def test_the_default_machine_type_is_not_in_the_catalog(self):
        pool = res(GKE_POOL, "gp", {"nodeConfig": {}}, region=None)
        assert unpriced(pool) == {
            "pool gp nodes": ("global", "system nodes", "no catalog price: e2-medium")
        }


class TestServices:
    def test_control_planes(self):
        eks = res("aws:eks/cluster:Cluster", "eks", {"name": "prod-use1"})
        gke = res("gcp:container/cluster:Cluster", "gke", {}, region="us-central1")
        assert priced(eks, gke) == {
            "EKS prod-use1": ("us-east-1", "control planes", 1, 1, 0.1, 73.0),
            "GKE gke": ("us-central1", "control planes", 1, 1, 0.1, 73.0),
        }

    def test_gke_cluster_logs_are_ingested(self):
        gke = res(
            "gcp:container/cluster:Cluster",
            "gke",
            {"name": "prod", "loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS"]}},
            region="us-central1",
        )
        assert priced(gke)["GKE prod logs ingestion"] == ("us-central1", "logs", 10, 10, 0.5, 5.0)

    def test_nat_gateways(self):
        aws = res("aws:ec2/natGateway:NatGateway", "nat-a", {})
        gcp = res("gcp:compute/routerNat:RouterNat", "nat-g", {}, region=None)
        assert priced(aws, gcp) == {
            "NAT nat-a": ("us-east-1", "network", 1, 1, 0.045, 32.85),
            "NAT nat-g": ("global", "network", 1, 1, 0.044, 32.12),
        }
        assert unpriced(aws, gcp) == {
            "NAT nat-a": ("us-east-1", "network", "data processing per GB"),
            "NAT nat-g": ("global", "network", "data processing per GB"),
        }

    def test_interface_endpoints_are_priced_per_zone(self):
        endpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
        three = res(
            endpoint,
            "ecr",
            {
                "vpcEndpointType": "Interface",
                "serviceName": "ecr.api",
                "subnetIds": ["a", "b", "c"],
            },
        )
        one = res(endpoint, "sts", {"vpcEndpointType": "Interface"}, region=None)
        gateway = res(endpoint, "s3", {"vpcEndpointType": "Gateway", "serviceName": "s3"})
        assert priced(three, one, gateway) == {
            "endpoint ecr.api": ("us-east-1", "network", 3, 3, 0.01, 21.9),
            "endpoint sts": ("global", "network", 1, 1, 0.01, 7.3),
        }
        assert set(unpriced(three, one, gateway)) == {"endpoint ecr.api", "endpoint sts"}
        assert unpriced(one)["endpoint sts"] == ("global", "network", "data processing per GB")

    def test_load_balancers(self):
        alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", {})
        rule = res("gcp:compute/globalForwardingRule:GlobalForwardingRule", "fr", {}, region=None)
        service = res(
            "kubernetes:core/v1:Service", "svc", {"spec": {"type": "LoadBalancer"}}, cloud="gcp"
        )
        internal = res(
            "kubernetes:core/v1:Service", "int", {"spec": {"type": "ClusterIP"}}, cloud="gcp"
        )
        assert priced(alb, rule, service, internal) == {
            "load balancer alb": ("us-east-1", "network", 1, 1, 0.0225, 16.43),
            "load balancer fr": ("global", "network", 1, 1, 0.025, 18.25),
            "load balancer svc": ("us-east-1", "network", 1, 1, 0.025, 18.25),
        }
        assert unpriced(alb, rule)["load balancer fr"] == (
            "global",
            "network",
            "capacity units / data per GB",
        )

    def test_a_load_balancer_service_of_an_unknown_cloud_is_unpriced(self):
        service = res(
            "kubernetes:core/v1:Service", "svc", {"spec": {"type": "LoadBalancer"}}, region=None
        )
        assert priced(service) == {}
        assert unpriced(service) == {"load balancer svc": ("global", "network", "cloud unknown")}

    def test_kms_keys_are_monthly(self):
        aws = res("aws:kms/key:Key", "k", {})
        replica = res("aws:kms/replicaKey:ReplicaKey", "r", {}, region="us-west-2")
        gcp = res("gcp:kms/cryptoKey:CryptoKey", "g", {}, region="us-central1")
        assert priced(aws, replica, gcp) == {
            "KMS key k": ("us-east-1", "keys", 1, 1, 1.0, 1.0),
            "KMS key r": ("us-west-2", "keys", 1, 1, 1.0, 1.0),
            "KMS key g": ("us-central1", "keys", 1, 1, 0.06, 0.06),
        }

    def test_log_groups_ingest_and_store_for_their_retention(self):
        kept = res(
            "aws:cloudwatch/logGroup:LogGroup", "lg", {"name": "/eks/prod", "retentionInDays": 90}
        )
        forever = res("aws:cloudwatch/logGroup:LogGroup", "fl", {}, region=None)
        assert priced(kept, forever) == {
            "log group /eks/prod ingestion": ("us-east-1", "logs", 10, 10, 0.5, 5.0),
            # 10 GB a month kept 90 days: 30 GB stored.
            "log group /eks/prod storage": ("us-east-1", "logs", 30, 30, 0.03, 0.9),
            "log group fl ingestion": ("global", "logs", 10, 10, 0.5, 5.0),
        }
        assert unpriced(kept, forever) == {
            "log group fl storage": ("global", "logs", "kept forever")
        }

    def test_log_storage_is_to_a_tenth_of_a_gb(self):
        week = res("aws:cloudwatch/logGroup:LogGroup", "lg", {"name": "/app", "retentionInDays": 7})
        # 10 GB a month kept 7 days: 2.3 GB stored.
        assert priced(week)["log group /app storage"] == ("us-east-1", "logs", 2.3, 2.3, 0.03, 0.07)

    def test_flow_logs_of_a_subnetwork(self):
        logged = res(
            "gcp:compute/subnetwork:Subnetwork",
            "sn",
            {"logConfig": {"flowSampling": 0.5}},
            region="us-central1",
        )
        quiet = res("gcp:compute/subnetwork:Subnetwork", "q", {}, region="us-central1")
        assert priced(logged, quiet) == {
            "flow logs sn ingestion": ("us-central1", "logs", 10, 10, 0.5, 5.0)
        }


MODELS = Usage(models=(cost.ModelVersion("m", "v1", 140, "weights_gib"),))


class TestTransfer:
    def test_s3_replication_of_enabled_rules(self):
        rules = [
            {"id": "off", "status": "Disabled"},
            {
                "id": "models",
                "status": "Enabled",
                "destination": {"replicationTime": {"status": "Enabled"}},
            },
            {
                "id": "plain",
                "status": "Enabled",
                "destination": {"replicationTime": {"status": "Disabled"}},
            },
        ]
        replication = res(
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "rep", {"rules": rules}
        )
        assert priced(replication, usage=MODELS) == {
            "S3 replication models": ("us-east-1", "data transfer", 140, 140, 0.02, 2.8),
            "S3 replication models time control": (
                "us-east-1",
                "data transfer",
                140,
                140,
                0.015,
                2.1,
            ),
            "S3 replication plain": ("us-east-1", "data transfer", 140, 140, 0.02, 2.8),
        }

    def test_replication_without_model_volume_is_unpriced(self):
        rules = [{"status": "Enabled"}]
        replication = res(
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
            "rep",
            {"rules": rules},
            region=None,
        )
        assert unpriced(replication) == {
            "S3 replication rep": ("global", "data transfer", "model volume unknown")
        }

    @pytest.mark.parametrize(
        ("source", "sink", "key_price"),
        [
            ("us-central1", "us-east4", 0.02),
            ("northamerica-northeast1", "us-east1", 0.02),
            ("asia-east1", "asia-southeast1", 0.02),
            ("us-central1", "europe-west4", 0.05),
            ("europe-west4", "us-central1", 0.05),
        ],
    )
    def test_a_gcs_copy_within_a_continent_is_cheaper(self, source, sink, key_price):
        buckets = [
            res("gcp:storage/bucket:Bucket", "src", {}, region=source),
            res("gcp:storage/bucket:Bucket", "dst", {}, region=sink),
            res("gcp:storage/bucketIAMMember:BucketIAMMember", "grant", {}, region=None),
        ]
        job = res(
            "gcp:storage/transferJob:TransferJob",
            "tj",
            {"transferSpec": {"gcsDataSource": {"bucketName": "src"}}},
            region=sink,
            property_dependencies={"transferSpec": ["urn:grant", "urn:dst", "urn:src"]},
        )
        lines = priced(*buckets, job, usage=MODELS)
        assert lines[f"GCS copy {source} to {sink}"][4] == key_price

    def test_a_gcs_copy_from_an_unknown_bucket(self):
        job = res(
            "gcp:storage/transferJob:TransferJob",
            "tj",
            {"transferSpec": {"gcsDataSource": {"bucketName": "src"}}},
            region="us-central1",
        )
        assert priced(job, usage=MODELS) == {
            "GCS copy another region to us-central1": (
                "us-central1",
                "data transfer",
                140,
                140,
                0.05,
                7.0,
            )
        }

    def test_turbo_replication(self):
        turbo = res("gcp:storage/bucket:Bucket", "t", {"rpo": "ASYNC_TURBO"}, region="nam4")
        default = res("gcp:storage/bucket:Bucket", "d", {"rpo": "DEFAULT"}, region="nam4")
        assert priced(turbo, default, usage=MODELS) == {
            "turbo replication t": ("nam4", "data transfer", 140, 140, 0.04, 5.6)
        }


class TestModelStorage:
    def test_every_storage_region_holds_every_version(self):
        usage = Usage(
            models=(
                cost.ModelVersion("a", "v1", 100, "weights_gib"),
                cost.ModelVersion("b", "v1", 40.5, "weights_gib"),
            ),
            storage_regions=(("aws", "us-east-1"), ("gcp", "us-central1")),
        )
        lines = cost.estimate([], usage=usage).lines
        assert [(x.region, x.count_max, x.unit_usd, x.monthly_max) for x in lines] == [
            ("us-central1", 140.5, 0.02, 2.81),
            ("us-east-1", 140.5, 0.023, 3.23),
        ]

    def test_no_versions_no_storage(self):
        usage = Usage(storage_regions=(("aws", "us-east-1"),))
        assert cost.estimate([], usage=usage).lines == []

    def test_a_serving_floor_of_another_pool_keeps_nothing_up(self):
        usage = Usage(serving_nodes={("us-east-1", "other"): 2})
        [nodes] = [
            x
            for x in cost.estimate([eks_group(scalingConfig={"maxSize": 2})], usage=usage).lines
            if x.count_unit == "node"
        ]
        assert nodes.count_min == 0


class TestMonitoring:
    def test_monitoring_billed_by_use_is_unpriced(self):
        resources = [
            res("aws:amp/workspace:Workspace", "amp", {}),
            res("aws:amp/scraper:Scraper", "scraper", {}),
            res("aws:sns/topic:Topic", "alerts", {}, region=None),
            res("gcp:monitoring/alertPolicy:AlertPolicy", "ttft", {}, region=None),
            res("gcp:logging/metric:Metric", "preemptions", {}, region=None),
        ]
        assert priced(*resources) == {}
        assert unpriced(*resources) == {
            "AMP workspace amp": (
                "us-east-1",
                "monitoring",
                "samples ingested, stored and queried",
            ),
            "AMP managed collector scraper": ("us-east-1", "monitoring", "samples collected"),
            "SNS topic alerts": ("global", "monitoring", "notifications delivered"),
            "alert policy ttft": (
                "global",
                "monitoring",
                "conditions and time series returned per month",
            ),
            "log-based metric preemptions": (
                "global",
                "monitoring",
                "samples ingested as a user-defined metric",
            ),
        }

    CANARY = "aws:synthetics/canary:Canary"

    def canary(self, expression: str | None) -> Resource:
        schedule = {"expression": expression} if expression is not None else {}
        return res(self.CANARY, "probe", {"schedule": schedule}, region="us-west-2")

    def test_a_canary_is_priced_per_run_of_its_minute_rate(self):
        assert priced(self.canary("rate(5 minutes)")) == {
            # 730 hours x 60 minutes / 5: 8,760 runs at $0.0012.
            "canary probe": ("us-west-2", "monitoring", 8760, 8760, 0.0012, 10.51),
        }
        assert priced(self.canary("rate(1 minute)"))["canary probe"][2] == 43800

    @pytest.mark.parametrize(
        "expression", ["cron(0 * * * ? *)", "rate(1 hour)", "rate(0 minutes)", None]
    )
    def test_a_canary_without_a_minute_rate_is_unpriced_not_free(self, expression):
        shown = repr(expression or "")
        assert priced(self.canary(expression)) == {}
        assert unpriced(self.canary(expression)) == {
            "canary probe": ("us-west-2", "monitoring", f"runs of {shown}"),
        }


class TestOnDemandReplicas:
    SPOT_L4 = [{"name": "aa", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 8, "spot": True}]

    def test_on_demand_replicas_keep_their_own_nodes(self):
        serving = {"pool": "aa", "min_replicas": 3, "on_demand_replicas": 2}
        usage = cost.usage_of(parse_fleet(fleet_serving(self.SPOT_L4, serving)))
        assert usage.serving_nodes == {("us-east-1", "aa"): 3}
        assert usage.on_demand_nodes == {("us-east-1", "aa"): 2}

    def test_the_spot_replicas_above_the_on_demand_ones_get_nodes_of_their_own(self):
        serving = {"pool": "aa", "min_replicas": 5, "on_demand_replicas": 2}
        usage = cost.usage_of(parse_fleet(fleet_serving(self.SPOT_L4, serving)))
        assert usage.serving_nodes == {("us-east-1", "aa"): 5}
        assert usage.on_demand_nodes == {("us-east-1", "aa"): 2}

    def test_on_demand_replicas_share_a_node_only_with_each_other(self):
        # Eight one-GPU replicas fit an 8 x L4 node: the two on-demand ones take one node, the
        # spot one another, never the same.
        pools = [{**self.SPOT_L4[0], "count": 8, "max_nodes": 2}]
        serving = {
            "pool": "aa",
            "min_replicas": 3,
            "on_demand_replicas": 2,
            "tensor_parallel_size": 1,
        }
        usage = cost.usage_of(parse_fleet(fleet_serving(pools, serving)))
        assert usage.serving_nodes == {("us-east-1", "aa"): 2}
        assert usage.on_demand_nodes == {("us-east-1", "aa"): 1}

    def test_not_counted_apart_on_an_on_demand_pool(self):
        pools = [{**self.SPOT_L4[0], "spot": False}]
        serving = {"pool": "aa", "min_replicas": 3, "on_demand_replicas": 2}
        usage = cost.usage_of(parse_fleet(fleet_serving(pools, serving)))
        assert usage.on_demand_nodes == {}

    def test_priced_at_on_demand_at_every_scale(self):
        pool = res(
            "kubernetes:karpenter.sh/v1:NodePool",
            "l4",
            karpenter_pool(
                {"nvidia.com/gpu": 8},
                {
                    "key": "karpenter.sh/capacity-type",
                    "operator": "In",
                    "values": ["spot", "on-demand"],
                },
                name="aa",
            ),
        )
        usage = Usage(
            serving_nodes={("us-east-1", "aa"): 3}, on_demand_nodes={("us-east-1", "aa"): 2}
        )
        lines = priced(pool, usage=usage)
        # g6.xlarge in us-east-1: $0.4129/h spot, $0.8048/h on-demand (catalog).
        assert lines["pool aa: g6.xlarge spot"][2:5] == (1, 6, 0.4129)
        assert lines["pool aa: g6.xlarge on-demand (on_demand_replicas)"][2:5] == (2, 2, 0.8048)


class TestRegionalEntryAndGlobalEndpoint:
    def test_route53_health_checks(self):
        basic = res("aws:route53/healthCheck:HealthCheck", "hc", {"type": "HTTP"}, region=None)
        https = res("aws:route53/healthCheck:HealthCheck", "tls", {"type": "HTTPS"})
        calculated = res("aws:route53/healthCheck:HealthCheck", "all", {"type": "CALCULATED"})
        # A region serving only scale-to-zero models is checked on TCP: no HTTPS feature.
        tcp = res("aws:route53/healthCheck:HealthCheck", "port", {"type": "TCP"}, region=None)
        assert priced(basic, https, calculated, tcp) == {
            "health check hc": ("global", "network", 1, 1, 0.75, 0.75),
            "health check port": ("global", "network", 1, 1, 0.75, 0.75),
            "health check tls": ("us-east-1", "network", 1, 1, 0.75, 0.75),
            "health check tls (HTTPS)": ("us-east-1", "network", 1, 1, 2.0, 2.0),
        }
        assert unpriced(basic, https, calculated) == {
            "health check all": ("global", "network", "calculated health check")
        }

    def test_routed_records_bill_per_query(self):
        latency = res("aws:route53/record:Record", "api-use1", {"setIdentifier": "us-east-1"})
        geo = res(
            "gcp:dns/recordSet:RecordSet", "api", {"routingPolicy": {"geos": []}}, region=None
        )
        simple = res("aws:route53/record:Record", "www", {"type": "A"})
        assert priced(latency, geo, simple) == {}
        assert unpriced(latency, geo, simple) == {
            "DNS queries api-use1": ("global", "network", "queries per million"),
            "DNS queries api": ("global", "network", "queries per million"),
        }

    def test_gcp_health_checks_and_addresses_are_unpriced(self):
        check = res("gcp:compute/healthCheck:HealthCheck", "hc", {}, region=None)
        address = res("gcp:compute/globalAddress:GlobalAddress", "ip", {}, region="us-central1")
        assert unpriced(check, address) == {
            "hc": ("global", "network", "Cloud DNS health check of external endpoints"),
            "ip": ("us-central1", "network", "static external IP address"),
        }

    def test_a_gateway_is_its_cloud_s_load_balancer(self):
        gateway = res(
            "kubernetes:gateway.networking.k8s.io/v1:Gateway",
            "gw",
            {"spec": {"gatewayClassName": "amazon-alb"}},
            cloud="aws",
        )
        assert priced(gateway) == {
            "load balancer gw": ("us-east-1", "network", 1, 1, 0.0225, 16.43)
        }
