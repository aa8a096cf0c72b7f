"""Cost rules: limits from the pack config, the budget priced from the catalog."""

from __future__ import annotations

import pytest

from llmfleet.policies import cost
from tests.policies.conftest import check, check_stack, resource

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_POOL = "gcp:container/nodePool:NodePool"
KARPENTER = "kubernetes:karpenter.sh/v1:NodePool"


def node_group(type_: str, *, min_size=0, max_size=2, spot=True, env="dev") -> dict:
    return {
        "instanceTypes": [type_],
        "capacityType": "SPOT" if spot else "ON_DEMAND",
        "scalingConfig": {"minSize": min_size, "maxSize": max_size},
        "tags": {"environment": env},
        "region": "us-east-1",
    }


def karpenter(type_: str, limits: dict | None) -> dict:
    requirements = [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [type_]}
    ]
    spec = {"template": {"spec": {"requirements": requirements}}}
    if limits is not None:
        spec["limits"] = limits
    return {"spec": spec}


class TestAllowedTypes:
    def test_catalog_types_pass_by_default(self):
        assert check(cost.allowed_instance_types, NODE_GROUP, node_group("g6.xlarge")) == []

    def test_a_type_outside_the_catalog_fails(self):
        [message] = check(cost.allowed_instance_types, NODE_GROUP, node_group("x9.huge"))
        assert "x9.huge is not in the llmfleet catalog" in message

    def test_allow_lists_from_config(self):
        config = {"allowedAccelerators": ["nvidia-l4"], "allowedInstanceTypes": ["g6.xlarge"]}
        pool = {"nodeConfig": {"machineType": "a3-highgpu-8g"}}
        messages = check(cost.allowed_instance_types, GKE_POOL, pool, config)
        assert any("a3-highgpu-8g is not allowed; allowed: g6.xlarge" in m for m in messages)
        assert any(
            "accelerator nvidia-h100-80gb (a3-highgpu-8g) is not allowed" in m for m in messages
        )

    def test_karpenter_pool_without_type_restriction_fails(self):
        [message] = check(cost.allowed_instance_types, KARPENTER, {"spec": {"template": {}}})
        assert "does not restrict node.kubernetes.io/instance-type" in message


class TestPoolSize:
    def test_within_limit(self):
        assert check(cost.max_nodes_per_pool, NODE_GROUP, node_group("g6.xlarge", max_size=4)) == []

    def test_above_limit(self):
        props = node_group("g6.xlarge", max_size=10)
        [message] = check(cost.max_nodes_per_pool, NODE_GROUP, props, {"maxNodesPerPool": 8})
        assert message == "pool reaches 10 nodes; at most 8 allowed"

    def test_karpenter_limits_bound_nodes(self):
        ok = karpenter("p5.48xlarge", {"nvidia.com/gpu": 16})
        assert check(cost.max_nodes_per_pool, KARPENTER, ok, {"maxNodesPerPool": 2}) == []
        [message] = check(cost.max_nodes_per_pool, KARPENTER, karpenter("p5.48xlarge", None))
        assert "no limits" in message


class TestStack:
    def test_accelerators_add_up_across_pools(self):
        pools = [
            resource(KARPENTER, "h100", karpenter("p5.48xlarge", {"nvidia.com/gpu": 16})),
            resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=4)),
        ]
        assert check_stack(cost.max_accelerators_per_stack, pools, {"maxAccelerators": 20}) == []
        [message] = check_stack(cost.max_accelerators_per_stack, pools, {"maxAccelerators": 16})
        assert message == "pools hold 20 accelerators at maximum scale; at most 16 allowed"

    def test_budget_prices_the_resources(self):
        pools = [resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=4))]
        # 4 spot g6.xlarge x 730 h x $0.4129 + 4 x 20 GB gp3 x $0.08 = $1,212.07.
        assert check_stack(cost.monthly_budget, pools, {"monthlyBudgetUsd": 1300}) == []
        [message] = check_stack(cost.monthly_budget, pools, {"monthlyBudgetUsd": 1000})
        assert (
            "$1,212.07 a month at maximum scale exceeds the budget $1,000.00 by $212.07" in message
        )
        assert "biggest line: pool l4: g6.xlarge spot" in message


class TestSpotOutsideProd:
    def test_dev_spot_from_zero_passes(self):
        assert check(cost.nonprod_spot_scale_to_zero, NODE_GROUP, node_group("g6.xlarge")) == []

    def test_dev_on_demand_kept_up_fails(self):
        props = node_group("g6.xlarge", min_size=1, spot=False)
        messages = check(cost.nonprod_spot_scale_to_zero, NODE_GROUP, props)
        assert messages == [
            "non-production accelerator pool is not on spot capacity",
            "non-production accelerator pool keeps 1 nodes: min 0",
        ]

    @pytest.mark.parametrize("config", [{}, {"environment": "prod"}])
    def test_prod_may_keep_on_demand_nodes(self, config):
        env = "prod" if not config else "dev"
        props = node_group("g6.xlarge", min_size=1, spot=False, env=env)
        assert check(cost.nonprod_spot_scale_to_zero, NODE_GROUP, props, config) == []

    def test_system_pools_are_not_judged(self):
        props = node_group("m7i.xlarge", min_size=2, spot=False)
        assert check(cost.nonprod_spot_scale_to_zero, NODE_GROUP, props) == []


class TestSettings:
    """The pack config each cost rule takes, with its documented default and bounds."""

    @staticmethod
    def settings(policy) -> dict:
        return {
            name: {k: v for k, v in prop.items() if k != "description"}
            for name, prop in policy.config_schema.properties.items()
        }

    def test_schemas_and_defaults(self):
        strings = {"type": "array", "items": {"type": "string"}, "default": []}
        assert self.settings(cost.allowed_instance_types) == {
            "allowedAccelerators": strings,
            "allowedInstanceTypes": strings,
        }
        assert self.settings(cost.max_nodes_per_pool) == {
            "maxNodesPerPool": {"type": "integer", "minimum": 1, "default": 64}
        }
        assert self.settings(cost.max_accelerators_per_stack) == {
            "maxAccelerators": {"type": "integer", "minimum": 0, "default": 64}
        }
        assert self.settings(cost.monthly_budget) == {
            "monthlyBudgetUsd": {"type": "number", "exclusiveMinimum": 0, "default": 10000},
            "publishedModelGb": {"type": "number", "minimum": 0, "default": 0},
        }

    def test_a_pool_may_reach_64_nodes_by_default(self):
        assert (
            check(cost.max_nodes_per_pool, NODE_GROUP, node_group("m7i.xlarge", max_size=64)) == []
        )
        [message] = check(
            cost.max_nodes_per_pool, NODE_GROUP, node_group("m7i.xlarge", max_size=65)
        )
        assert message == "pool reaches 65 nodes; at most 64 allowed"

    def test_a_stack_may_hold_64_accelerators_by_default(self):
        few = [resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=4))]
        assert check_stack(cost.max_accelerators_per_stack, few) == []
        # 8 p5.48xlarge hold 8 H100s each.
        pools = [resource(NODE_GROUP, "h100", node_group("p5.48xlarge", max_size=8))]
        assert check_stack(cost.max_accelerators_per_stack, pools) == []
        pools.append(resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=1)))
        assert check_stack(cost.max_accelerators_per_stack, pools) == [
            "pools hold 65 accelerators at maximum scale; at most 64 allowed"
        ]

    def test_the_default_budget_is_10000_a_month(self):
        # 4 spot g6.xlarge ($1,212.07, see TestStack) pass; 40 of them ($12,120.68) do not.
        small = [resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=4))]
        assert check_stack(cost.monthly_budget, small) == []
        big = [resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=40))]
        [message] = check_stack(cost.monthly_budget, big)
        assert "$12,120.68 a month at maximum scale exceeds the budget $10,000.00" in message


def gke_pool(machine: str | None = None, **props) -> dict:
    node_config = {"machineType": machine} if machine else {}
    return {"nodeConfig": node_config, **props}


def karpenter_requiring(*requirements: tuple[str, list[str]], limits: dict | None = None) -> dict:
    """A NodePool with its requirements in this order (all ``In``)."""
    spec = {
        "template": {
            "spec": {
                "requirements": [
                    {"key": key, "operator": "In", "values": values} for key, values in requirements
                ]
            }
        }
    }
    if limits is not None:
        spec["limits"] = limits
    return {"spec": spec}


# Karpenter requirements as the fleet writes them, with keys that sort before and after the
# instance-type key.
CAPACITY = ("karpenter.sh/capacity-type", ["spot"])
ZONE = ("topology.kubernetes.io/zone", ["us-east-1a"])


class TestAllowedTypesPerPoolKind:
    @pytest.mark.parametrize("type_", ["g6.xlarge", "p5.48xlarge", "m7i.xlarge"])
    def test_a_karpenter_pool_restricted_to_catalog_types_passes(self, type_):
        pool = karpenter_requiring(CAPACITY, ZONE, ("node.kubernetes.io/instance-type", [type_]))
        assert check(cost.allowed_instance_types, KARPENTER, pool) == []

    def test_a_karpenter_pool_is_judged_by_its_instance_type_requirement(self):
        pool = karpenter_requiring(
            CAPACITY, ZONE, ("node.kubernetes.io/instance-type", ["x9.huge"])
        )
        assert check(cost.allowed_instance_types, KARPENTER, pool) == [
            "instance type x9.huge is not in the llmfleet catalog (it cannot be priced)"
        ]

    def test_a_karpenter_pool_restricting_only_other_keys_is_unrestricted(self):
        pool = karpenter_requiring(CAPACITY, ZONE)
        assert check(cost.allowed_instance_types, KARPENTER, pool) == [
            "NodePool does not restrict node.kubernetes.io/instance-type: any type may launch"
        ]

    def test_gke_and_eks_pools_without_a_stated_type_are_not_karpenter_pools(self):
        assert check(cost.allowed_instance_types, GKE_POOL, gke_pool()) == []
        assert check(cost.allowed_instance_types, NODE_GROUP, {"scalingConfig": {}}) == []

    def test_a_gke_pool_is_judged_by_its_machine_type(self):
        assert check(cost.allowed_instance_types, GKE_POOL, gke_pool("g2-standard-4")) == []
        assert check(cost.allowed_instance_types, GKE_POOL, gke_pool("x9-huge")) == [
            "instance type x9-huge is not in the llmfleet catalog (it cannot be priced)"
        ]

    def test_accelerators_allowed_by_config(self):
        config = {"allowedAccelerators": ["nvidia-l4"]}
        assert check(cost.allowed_instance_types, NODE_GROUP, node_group("g6.xlarge"), config) == []
        assert check(
            cost.allowed_instance_types, NODE_GROUP, node_group("p5.48xlarge"), config
        ) == ["accelerator nvidia-h100-80gb (p5.48xlarge) is not allowed; allowed: nvidia-l4"]


class TestPoolSizePerPoolKind:
    def test_a_pool_of_an_unknown_type_is_left_to_allowed_instance_types(self):
        assert check(cost.max_nodes_per_pool, NODE_GROUP, node_group("x9.huge", max_size=100)) == []

    def test_a_gke_pool_counts_its_nodes_in_every_zone(self):
        pool = gke_pool(
            "g2-standard-4",
            location="us-central1",
            nodeLocations=["us-central1-a", "us-central1-b"],
            autoscaling={"minNodeCount": 0, "maxNodeCount": 5},
        )
        assert check(cost.max_nodes_per_pool, GKE_POOL, pool, {"maxNodesPerPool": 10}) == []
        assert check(cost.max_nodes_per_pool, GKE_POOL, pool, {"maxNodesPerPool": 9}) == [
            "pool reaches 10 nodes; at most 9 allowed"
        ]


class TestBudgetPerRegion:
    def test_the_biggest_line_names_the_pool_s_region(self):
        pools = [resource(NODE_GROUP, "l4", node_group("g6.xlarge", max_size=4))]
        assert check_stack(cost.monthly_budget, pools, {"monthlyBudgetUsd": 1000}) == [
            "estimated $1,212.07 a month at maximum scale exceeds the budget $1,000.00 by "
            "$212.07; biggest line: pool l4: g6.xlarge spot (us-east-1) $1,205.67 a month"
        ]

    def test_a_gke_pool_is_priced_in_its_location(self):
        pool = gke_pool("g2-standard-4", location="us-central1", nodeCount=1)
        estimate = cost.stack_estimate([resource(GKE_POOL, "g2", pool)], {})
        assert {line.region for line in estimate.lines} == {"us-central1"}

    def test_published_model_gb_prices_replication(self):
        job = resource(
            "gcp:storage/transferJob:TransferJob",
            "copy",
            {
                "transferSpec": {"awsS3DataSource": {"bucketName": "models"}},
                "location": "us-central1",
            },
        )
        unpriced = cost.stack_estimate([job], {})
        assert unpriced.lines == []
        assert [u.reason for u in unpriced.unpriced] == ["model volume unknown"]
        # 100 GB leave AWS for the internet at $0.09 a GB.
        [line] = cost.stack_estimate([job], {"publishedModelGb": 100}).lines
        assert (line.count_max, line.unit_usd, line.monthly_max) == (100, 0.09, 9.0)


class TestSpotOutsideStaging:
    def test_staging_is_not_production(self):
        props = node_group("g6.xlarge", min_size=1, spot=False, env="staging")
        assert check(cost.nonprod_spot_scale_to_zero, NODE_GROUP, props) == [
            "non-production accelerator pool is not on spot capacity",
            "non-production accelerator pool keeps 1 nodes: min 0",
        ]
