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
