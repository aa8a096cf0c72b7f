"""Serving spec: model sizes, GPU fit, parallelism, canary, scale to zero and routing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmfleet.components import gpu_fit
from llmfleet.components.spec import SpecError, latency_regions, parse_fleet
from tests.components.routed_fleet import routed

L4 = {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 4}
H100 = {"name": "h100", "accelerator": "nvidia-h100-80gb", "count": 8, "max_nodes": 4}
LLAMA_8B = {"name": "llama-8b", "version": "v1", "source": "hf://meta/8b", "parameters_b": 8.03}
LLAMA_70B = {"name": "llama-70b", "version": "v1", "source": "hf://meta/70b", "parameters_b": 70.6}


def serving_fleet(config: dict, *servings: dict, pools=(L4, H100), models=(LLAMA_8B, LLAMA_70B)):
    config["regions"][0]["cluster"] = {"gpu_pools": [dict(p) for p in pools]}
    config["budget"]["max_accelerators"] = 64
    config["models"] = [dict(m) for m in models]
    config["serving"] = [dict(s) for s in servings]
    return config


def as_read_from_a_file(config: dict) -> dict:
    """The config as a stack file gives it: every string a new object, never an interned
    literal, so two equal names are never the same object."""
    return json.loads(json.dumps(config))


def chat(**fields: Any) -> dict:
    return {"name": "chat", "model": "llama-8b", "version": "v1", "pool": "l4", **fields}


def problems(config: dict) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        parse_fleet(config)
    return caught.value.problems


def only_problem(config: dict) -> tuple[str, str]:
    (problem,) = problems(config)
    return problem


class TestModelSize:
    def test_weights_are_parameters_times_dtype_bytes(self):
        assert gpu_fit.weights_gib(8, "bf16") == pytest.approx(8e9 * 2 / 2**30)
        assert gpu_fit.weights_gib(8, "int4") == pytest.approx(8e9 * 0.5 / 2**30)

    def test_explicit_weights_size_wins(self, dev_config):
        model = {**LLAMA_8B, "weights_gib": 10.0}
        fleet = parse_fleet(serving_fleet(dev_config, chat(), models=[model]))
        assert fleet.models[0].weights_size_gib() == 10.0

    def test_kv_cache_reserve_covers_max_model_len(self, dev_config):
        fleet = parse_fleet(serving_fleet(dev_config, chat(max_model_len=8192)))
        # Llama 3 8B keeps 128 KiB of KV cache per token: 8192 tokens take 1 GiB.
        assert fleet.models[0].kv_cache_gib(8192) == pytest.approx(1.0)

    def test_a_served_model_needs_a_size(self, dev_config):
        model = {k: v for k, v in LLAMA_8B.items() if k != "parameters_b"}
        config = serving_fleet(dev_config, chat(), models=[model])
        assert only_problem(config) == (
            "fleet.models[0].parameters_b",
            "llama-8b v1 is served by 'chat': give parameters_b (and dtype) or weights_gib so "
            "its GPU fit can be checked",
        )

    def test_unknown_dtype_is_refused(self, dev_config):
        config = serving_fleet(dev_config, chat(), models=[{**LLAMA_8B, "dtype": "fp16"}])
        path, message = only_problem(config)
        assert path == "fleet.models[0].dtype"
        assert "'bf16', 'fp8', 'int8' or 'int4'" in message


class TestGpuFit:
    def test_8b_bf16_fits_one_l4_with_a_margin(self, dev_config):
        fleet = parse_fleet(serving_fleet(dev_config, chat()))
        fit = fleet.serving_fit(fleet.serving[0], fleet.regions[0])
        # 24 GiB x 0.9 = 21.6 usable; 15.0 weights + 1.0 KV + 2.0 runtime = 18.0 needed.
        assert fit.usable_gib == pytest.approx(21.6)
        assert fit.margin_gib == pytest.approx(21.6 - 14.96 - 1.0 - 2.0, abs=0.05)

    def test_70b_on_one_l4_is_refused_naming_the_smallest_fit(self, dev_config):
        config = serving_fleet(dev_config, chat(model="llama-70b"))
        path, message = only_problem(config)
        assert path == "fleet.serving[0].pool"
        assert message.startswith(
            "llama-70b v1 needs 136.0 GiB per replica (weights 131.5 + KV cache 2.5 for "
            "max_model_len 8192 + runtime 2) but 1 x nvidia-l4 of pool 'l4' in us-east-1 give "
            "21.6 GiB at vLLM's 90% memory utilisation"
        )
        # 4 x L40S: 192 x 0.9 - 4 x 2 = 164.8 GiB, the least accelerator memory that holds it.
        assert "the smallest fit in aws us-east-1 is nvidia-l40s x4 (g6e.12xlarge)" in message
        assert message.endswith("or use a smaller dtype or max_model_len")

    def test_a_smaller_dtype_makes_it_fit(self, dev_config):
        model = {**LLAMA_70B, "dtype": "int4"}
        config = serving_fleet(
            dev_config,
            chat(model="llama-70b", pool="h100", tensor_parallel_size=2),
            models=[LLAMA_8B, model],
        )
        fleet = parse_fleet(config)
        assert fleet.serving_fit(fleet.serving[0], fleet.regions[0]).fits

    def test_a_long_context_can_break_the_fit(self, dev_config):
        path, message = only_problem(serving_fleet(dev_config, chat(max_model_len=131072)))
        assert path == "fleet.serving[0].pool"
        assert "KV cache 16.0 for max_model_len 131072" in message

    def test_the_canary_version_must_fit_too(self, dev_config):
        bigger = {**LLAMA_8B, "version": "v2", "parameters_b": 12}
        config = serving_fleet(
            dev_config, chat(canary={"version": "v2", "weight": 10}), models=[LLAMA_8B, bigger]
        )
        path, message = only_problem(config)
        assert path == "fleet.serving[0].pool"
        assert message.startswith("llama-8b v2 needs")


class TestParallelism:
    def test_tensor_parallel_defaults_to_every_gpu_of_the_node(self, dev_config):
        fleet = parse_fleet(serving_fleet(dev_config, chat(model="llama-70b", pool="h100")))
        pool = fleet.serving_pool(fleet.serving[0], fleet.regions[0])
        assert fleet.serving[0].tensor_parallel(pool) == 8

    def test_tensor_parallel_above_the_nodes_gpus_is_refused(self, dev_config):
        config = serving_fleet(dev_config, chat(tensor_parallel_size=2))
        assert only_problem(config) == (
            "fleet.serving[0].tensor_parallel_size",
            "2 does not divide the 1 accelerators per node of pool 'l4' in us-east-1; use one of 1",
        )

    def test_a_refused_tensor_parallel_size_lists_every_divisor(self, dev_config):
        l4x4 = {"name": "l4x4", "accelerator": "nvidia-l4", "count": 4, "max_nodes": 2}
        config = serving_fleet(dev_config, chat(pool="l4x4", tensor_parallel_size=8), pools=[l4x4])
        assert only_problem(config) == (
            "fleet.serving[0].tensor_parallel_size",
            "8 does not divide the 4 accelerators per node of pool 'l4x4' in us-east-1; use one "
            "of 1, 2, 4",
        )

    def test_tensor_parallel_must_be_a_power_of_two_up_to_8(self, dev_config):
        config = serving_fleet(dev_config, chat(pool="h100", tensor_parallel_size=3))
        assert only_problem(config) == (
            "fleet.serving[0].tensor_parallel_size",
            "3 is not allowed; use one of 1, 2, 4, 8",
        )

    def test_multi_node_replicas_take_whole_nodes(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(model="llama-70b", pool="h100", nodes_per_replica=2, tensor_parallel_size=4),
        )
        path, message = only_problem(config)
        assert path == "fleet.serving[0].tensor_parallel_size"
        assert message.startswith("a replica spanning 2 nodes takes whole nodes: use 8")

    def test_replicas_must_fit_the_pool(self, dev_config):
        config = serving_fleet(
            dev_config, chat(model="llama-70b", pool="h100", nodes_per_replica=2, max_replicas=3)
        )
        assert only_problem(config) == (
            "fleet.serving[0].max_replicas",
            "3 replicas of 16 accelerators do not fit pool 'h100' in us-east-1 (4 nodes x 8); "
            "lower max_replicas to 2 or raise the pool's max_nodes",
        )

    def test_a_pool_missing_in_a_listed_region_is_refused(self, prod_config):
        prod_config["regions"][0]["cluster"] = {"gpu_pools": [L4]}
        prod_config["models"] = [LLAMA_8B]
        prod_config["serving"] = [chat(regions=["us-east-1", "us-west-2"])]
        assert only_problem(prod_config) == (
            "fleet.serving[0].regions[1]",
            "us-west-2 has no gpu pool 'l4' (its pools: none); drop the region or add the pool "
            "there",
        )

    def test_every_listed_region_is_checked_after_an_unknown_one(self, prod_config):
        prod_config["regions"][0]["cluster"] = {"gpu_pools": [L4]}
        prod_config["models"] = [LLAMA_8B]
        prod_config["serving"] = [chat(regions=["ap-south-1", "us-west-2", "us-east-1"])]
        assert problems(prod_config) == [
            (
                "fleet.serving[0].regions[0]",
                "'ap-south-1' is not a fleet region; allowed: europe-west4, us-central1, "
                "us-east-1, us-west-2",
            ),
            (
                "fleet.serving[0].regions[1]",
                "us-west-2 has no gpu pool 'l4' (its pools: none); drop the region or add the "
                "pool there",
            ),
        ]


class TestCanary:
    @pytest.fixture
    def two_versions(self, dev_config) -> dict:
        return serving_fleet(dev_config, chat(), models=[LLAMA_8B, {**LLAMA_8B, "version": "v2"}])

    def test_a_canary_serves_a_listed_version(self, two_versions):
        two_versions["serving"][0]["canary"] = {"version": "v2", "weight": 5}
        fleet = parse_fleet(two_versions)
        assert fleet.serving[0].versions() == ["v1", "v2"]

    @pytest.mark.parametrize("weight", [0, 100, -3])
    def test_canary_weight_outside_1_to_99_is_refused(self, two_versions, weight):
        two_versions["serving"][0]["canary"] = {"version": "v2", "weight": weight}
        assert only_problem(two_versions) == (
            "fleet.serving[0].canary.weight",
            f"{weight} is outside 1 to 99 (percent of requests to the canary); to finish a "
            "rollout set serving.version to the canary version and remove canary",
        )

    def test_canary_version_must_be_listed(self, two_versions):
        two_versions["serving"][0]["canary"] = {"version": "v3", "weight": 10}
        assert only_problem(two_versions) == (
            "fleet.serving[0].canary.version",
            "llama-8b v3 is not in fleet.models; add it there first; listed: llama-8b v1, "
            "llama-8b v2",
        )

    def test_a_canary_at_zero_replicas_is_refused(self, two_versions):
        two_versions["serving"][0] |= {"min_replicas": 0, "canary": {"version": "v2"}}
        assert only_problem(two_versions) == (
            "fleet.serving[0].canary",
            "a canary needs running replicas to split traffic over, but min_replicas is 0 (scale "
            "to zero); set min_replicas: 1 while v2 rolls out, or remove canary",
        )

    def test_canary_must_differ_from_the_stable_version(self, two_versions):
        two_versions["serving"][0]["canary"] = {"version": "v1"}
        assert only_problem(two_versions) == (
            "fleet.serving[0].canary.version",
            "'v1' is already the stable version",
        )

    def test_canary_read_from_a_file_must_differ_from_the_stable_version(self, two_versions):
        two_versions["serving"][0]["canary"] = {"version": "v1"}
        assert only_problem(as_read_from_a_file(two_versions)) == (
            "fleet.serving[0].canary.version",
            "'v1' is already the stable version",
        )


class TestScaleToZero:
    def test_production_default_keeps_a_replica(self, dev_config):
        assert parse_fleet(serving_fleet(dev_config, chat())).serving[0].min_replicas == 1

    def test_dev_may_scale_to_zero_without_opt_in(self, dev_config):
        assert parse_fleet(serving_fleet(dev_config, chat(min_replicas=0))).serving[0]

    def test_zero_idle_replicas_at_zero_minimum(self, dev_config):
        # The fleet puts the KEDA HTTP add-on in front of it: nothing runs while idle.
        serving = parse_fleet(serving_fleet(dev_config, chat(min_replicas=0))).serving[0]
        assert serving.idle_replicas == 0

    def test_prod_scale_to_zero_without_opt_in_is_refused(self, dev_config):
        dev_config["environment"] = "prod"
        dev_config["observability"] = {"notify": {"email": "oncall-ml@example.com"}}
        assert only_problem(serving_fleet(dev_config, chat(min_replicas=0))) == (
            "fleet.serving[0].min_replicas",
            "0 scales a prod deployment to zero and its first request waits minutes for a cold "
            "start; set scale_to_zero: true to accept that, or min_replicas: 1",
        )

    def test_prod_scale_to_zero_with_opt_in(self, dev_config):
        dev_config["environment"] = "prod"
        dev_config["observability"] = {"notify": {"email": "oncall-ml@example.com"}}
        config = serving_fleet(dev_config, chat(min_replicas=0, scale_to_zero=True))
        assert parse_fleet(config).serving[0].scale_to_zero

    def test_staging_may_scale_to_zero_without_opt_in(self, dev_config):
        dev_config["environment"] = "staging"
        config = serving_fleet(dev_config, chat(min_replicas=0))
        assert parse_fleet(config).serving[0].min_replicas == 0


class TestOnDemandReplicas:
    SPOT = {"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 4, "spot": True}

    def test_default_is_none(self, dev_config):
        assert parse_fleet(serving_fleet(dev_config, chat())).serving[0].on_demand_replicas == 0

    def test_zero_may_be_stated(self, dev_config):
        config = serving_fleet(dev_config, chat(on_demand_replicas=0))
        assert parse_fleet(config).serving[0].on_demand_replicas == 0

    def test_an_on_demand_pool_takes_them_on_gke_too(self, prod_config):
        # Every node of an on-demand pool is on-demand capacity.
        prod_config["regions"] = prod_config["regions"][2:3]
        prod_config["regions"][0]["cluster"] = {"gpu_pools": [L4]}
        prod_config["models"] = [LLAMA_8B]
        prod_config["serving"] = [chat(min_replicas=2, max_replicas=4, on_demand_replicas=1)]
        fleet = parse_fleet(prod_config)
        assert fleet.serving[0].on_demand_replicas == 1
        assert fleet.regions[0].has_on_demand_capacity(fleet.regions[0].cluster.gpu_pools[0])

    def test_aws_spot_pool_falls_back_to_on_demand(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(min_replicas=2, max_replicas=4, on_demand_replicas=1),
            pools=[self.SPOT],
        )
        assert parse_fleet(config).serving[0].on_demand_replicas == 1

    def test_aws_spot_pool_without_fallback_is_refused(self, dev_config):
        pool = {**self.SPOT, "on_demand_fallback": False}
        config = serving_fleet(
            dev_config, chat(min_replicas=2, max_replicas=4, on_demand_replicas=1), pools=[pool]
        )
        assert only_problem(config) == (
            "fleet.serving[0].on_demand_replicas",
            "1 on-demand replicas, but pool 'l4' in us-east-1 has no on-demand capacity (spot "
            "only); set on_demand_fallback: true on the pool, or set on_demand_replicas: 0",
        )

    def test_gke_spot_pool_is_refused(self, prod_config):
        prod_config["regions"] = prod_config["regions"][2:3]
        prod_config["regions"][0]["cluster"] = {"gpu_pools": [self.SPOT]}
        prod_config["models"] = [LLAMA_8B]
        prod_config["serving"] = [chat(min_replicas=2, max_replicas=4, on_demand_replicas=1)]
        assert only_problem(prod_config) == (
            "fleet.serving[0].on_demand_replicas",
            "1 on-demand replicas, but pool 'l4' in us-central1 has no on-demand capacity (spot "
            "only); serve from an on-demand pool (a GKE spot node pool has spot nodes only), or "
            "set on_demand_replicas: 0",
        )

    def test_above_min_replicas_is_refused(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(min_replicas=1, max_replicas=4, on_demand_replicas=2),
            pools=[self.SPOT],
        )
        assert only_problem(config) == (
            "fleet.serving[0].on_demand_replicas",
            "2 is above min_replicas 1: on-demand replicas always run; lower on_demand_replicas or "
            "raise min_replicas",
        )

    def test_all_replicas_on_demand_is_refused(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(min_replicas=3, max_replicas=3, on_demand_replicas=3),
            pools=[self.SPOT],
        )
        assert only_problem(config) == (
            "fleet.serving[0].on_demand_replicas",
            "3 is not below max_replicas 3: no replica would run on spot; lower "
            "on_demand_replicas, raise max_replicas or serve from an on-demand pool",
        )

    def test_above_max_replicas_is_refused_as_leaving_none_on_spot(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(min_replicas=2, max_replicas=2, on_demand_replicas=3),
            pools=[self.SPOT],
        )
        assert only_problem(config) == (
            "fleet.serving[0].on_demand_replicas",
            "3 is not below max_replicas 2: no replica would run on spot; lower "
            "on_demand_replicas, raise max_replicas or serve from an on-demand pool",
        )


class TestRouting:
    def test_domain_without_zone_is_refused(self, dev_config):
        dev_config["routing"] = {"domain": "llm.example.com"}
        assert only_problem(dev_config) == (
            "fleet.routing.zone",
            "required with domain llm.example.com: name the existing Route 53 hosted zone ID or "
            "Cloud DNS managed zone that holds it",
        )

    def test_dns_defaults_to_route53_with_aws_regions(self, prod_config):
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABC"}
        assert parse_fleet(prod_config).dns == "route53"

    def test_dns_defaults_to_cloud_dns_on_gcp_only_fleets(self, prod_config):
        prod_config["regions"] = prod_config["regions"][2:]
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "llm-example"}
        assert parse_fleet(prod_config).dns == "cloud-dns"

    def test_cloud_dns_needs_a_gcp_project(self, dev_config):
        dev_config["routing"] = {"domain": "llm.example.com", "zone": "llm", "dns": "cloud-dns"}
        assert (
            "fleet.routing.dns",
            "cloud-dns needs gcp_project (the project of the managed zone); use route53 or set "
            "gcp_project",
        ) in problems(dev_config)

    def test_cloud_dns_is_refused_with_aws_regions(self, prod_config):
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "llm", "dns": "cloud-dns"}
        assert only_problem(prod_config) == (
            "fleet.routing.dns",
            "cloud-dns health-checks IP addresses only, and the AWS regions' entries are load "
            "balancers known by name: use route53 (the default with AWS regions)",
        )

    def test_cloud_dns_serves_gcp_only_fleets(self, prod_config):
        prod_config["regions"] = prod_config["regions"][2:]
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "llm", "dns": "cloud-dns"}
        assert parse_fleet(prod_config).dns == "cloud-dns"

    def test_each_region_answers_on_its_own_name_and_the_global_one(self, prod_config):
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABC"}
        routing = parse_fleet(prod_config).routing
        assert routing.hostnames("us-west-2") == ["us-west-2.llm.example.com", "llm.example.com"]

    EAST_COAST = {"us-west-2": "us-east-2", "us-central1": "us-east1", "europe-west4": "us-east4"}

    def east_coast(self, policy: str) -> dict:
        """Two AWS and two GCP regions, all near Northern Virginia, serving behind one name, as
        read from a stack file (every string a new object: rules compare values, not
        identities)."""
        config = routed(policy, dns="route53")
        for region in config["regions"]:
            region["region"] = self.EAST_COAST.get(region["region"], region["region"])
        for serving in config["serving"]:
            if "regions" in serving:
                serving["regions"] = [self.EAST_COAST.get(r, r) for r in serving["regions"]]
        return json.loads(json.dumps(config))

    def test_gcp_regions_take_the_next_nearest_aws_region_route53_measures_from(self):
        # Route 53 allows one latency record per AWS region and name.
        chosen = latency_regions([("aws", "us-east-1"), ("gcp", "us-east4"), ("gcp", "us-east1")])
        assert chosen == {
            "us-east-1": "us-east-1",
            "us-east4": "us-east-2",
            "us-east1": "ca-central-1",
        }

    def test_latency_routing_is_refused_when_no_nearby_aws_region_is_left(self):
        assert only_problem(self.east_coast("latency")) == (
            "fleet.routing.policy",
            "us-east4: every AWS region near it (us-east-1, us-east-2, ca-central-1) already "
            "measures another of the fleet's regions, and Route 53 takes one latency record per "
            "AWS region; serve from fewer regions near it, or use policy: failover",
        )

    def test_failover_measures_only_its_standby_regions_by_latency(self):
        # The first region is primary; the three others share standby.<domain>: they fit.
        fleet = parse_fleet(self.east_coast("failover"))
        assert [[r.region for r in s] for s in fleet.latency_routed()] == [
            ["us-east-2", "us-east1", "us-east4"]
        ]

    def test_failover_over_three_regions_measures_the_two_standbys_by_latency(self):
        config = routed("failover")
        config["regions"] = config["regions"][:3]
        fleet = parse_fleet(config)
        assert [[r.region for r in s] for s in fleet.latency_routed()] == [
            ["us-west-2", "us-central1"]
        ]

    def test_failover_with_one_region_routes_it_by_latency(self):
        config = routed("failover", clouds=("aws",))
        config["regions"] = config["regions"][:1]
        fleet = parse_fleet(json.loads(json.dumps(config)))
        assert [[r.region for r in s] for s in fleet.latency_routed()] == [["us-east-1"]]

    def test_two_region_failover_has_no_latency_records(self):
        assert parse_fleet(routed("failover", clouds=("aws",))).latency_routed() == []
        latency = parse_fleet(routed("latency", clouds=("aws",)))
        assert [[r.region for r in s] for s in latency.latency_routed()] == [
            ["us-east-1", "us-west-2"]
        ]

    def test_without_a_domain_there_are_no_public_names(self, dev_config):
        fleet = parse_fleet(dev_config)
        assert fleet.routed_regions() == []
        with pytest.raises(ValueError, match=r"routing\.domain is not set"):
            fleet.routing.regional_name("us-east-1")

    def test_with_a_domain_every_serving_region_is_routed(self, prod_config):
        prod_config["regions"][1]["cluster"] = {"gpu_pools": [L4]}
        prod_config["models"] = [LLAMA_8B]
        prod_config["serving"] = [chat()]
        prod_config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABC"}
        fleet = parse_fleet(prod_config)
        assert [r.region for r in fleet.routed_regions()] == ["us-west-2"]


class TestServingLimits:
    """Each serving limit accepts its boundary value and refuses the next one."""

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("min_replicas", -1, "Input should be greater than or equal to 0"),
            ("max_replicas", 0, "Input should be greater than or equal to 1"),
            ("max_replicas", 1001, "Input should be less than or equal to 1000"),
            ("on_demand_replicas", -1, "Input should be greater than or equal to 0"),
            ("nodes_per_replica", 0, "Input should be greater than or equal to 1"),
            ("nodes_per_replica", 17, "Input should be less than or equal to 16"),
            ("max_model_len", 255, "Input should be greater than or equal to 256"),
            ("max_model_len", 1048577, "Input should be less than or equal to 1048576"),
        ],
    )
    def test_beyond_the_limit_is_refused(self, dev_config, field, value, message):
        config = serving_fleet(dev_config, chat(**{field: value}))
        assert only_problem(config) == (f"fleet.serving[0].{field}", message)

    def test_defaults_keep_one_replica_and_allow_two(self, dev_config):
        chat_entry = parse_fleet(serving_fleet(dev_config, chat())).serving[0]
        assert (chat_entry.min_replicas, chat_entry.max_replicas) == (1, 2)
        assert (chat_entry.nodes_per_replica, chat_entry.max_model_len) == (1, 8192)

    def test_one_replica_and_the_shortest_context_are_allowed(self, dev_config):
        config = serving_fleet(dev_config, chat(max_replicas=1, max_model_len=256))
        chat_entry = parse_fleet(config).serving[0]
        assert (chat_entry.max_replicas, chat_entry.max_model_len) == (1, 256)

    def test_a_replica_may_span_sixteen_nodes(self, dev_config):
        h100 = {**H100, "max_nodes": 16}
        config = serving_fleet(
            dev_config,
            chat(model="llama-70b", pool="h100", nodes_per_replica=16, max_replicas=1),
            pools=[h100],
        )
        config["budget"]["max_accelerators"] = 128
        assert parse_fleet(config).serving[0].nodes_per_replica == 16

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("parameters_b", 0, "Input should be greater than 0"),
            ("parameters_b", 10001, "Input should be less than or equal to 10000"),
            ("weights_gib", 0, "Input should be greater than 0"),
            ("kv_cache_kib_per_token", 0, "Input should be greater than 0"),
        ],
    )
    def test_model_sizes_are_positive_and_bounded(self, dev_config, field, value, message):
        config = serving_fleet(dev_config, chat(), models=[LLAMA_8B, {**LLAMA_70B, field: value}])
        assert only_problem(config) == (f"fleet.models[1].{field}", message)

    def test_the_largest_parameter_count_is_allowed(self, dev_config):
        config = serving_fleet(
            dev_config, chat(), models=[LLAMA_8B, {**LLAMA_70B, "parameters_b": 10000}]
        )
        assert parse_fleet(config).models[1].parameters_b == 10000


class TestSizeOnlyModels:
    @pytest.mark.parametrize(("dtype", "weights_gib"), [("bf16", 131.5), ("int8", 65.75)])
    def test_kv_cache_follows_the_parameters_the_weights_hold(self, dev_config, dtype, weights_gib):
        # 131.5 GiB of bf16 (65.75 of int8) weights hold 70.6e9 parameters: 324.8 KiB per token.
        model = {"name": "big", "version": "v1", "source": "hf://x/big", "dtype": dtype}
        model["weights_gib"] = weights_gib
        fleet = parse_fleet(serving_fleet(dev_config, models=[LLAMA_8B, model]))
        assert fleet.models[1].kv_cache_gib(8192) == pytest.approx(2.537, abs=0.001)


class TestServingRulesEdges:
    def test_a_canary_may_roll_back_to_an_older_version(self, dev_config):
        config = serving_fleet(
            dev_config, chat(version="v2"), models=[LLAMA_8B, {**LLAMA_8B, "version": "v2"}]
        )
        config["serving"][0]["canary"] = {"version": "v1", "weight": 99}
        assert parse_fleet(config).serving[0].versions() == ["v2", "v1"]

    def test_canary_weight_is_ten_percent_by_default_and_may_be_one(self, dev_config):
        two = [LLAMA_8B, {**LLAMA_8B, "version": "v2"}]
        config = serving_fleet(dev_config, chat(canary={"version": "v2"}), models=two)
        assert parse_fleet(config).serving[0].canary.weight == 10
        config["serving"][0]["canary"]["weight"] = 1
        assert parse_fleet(config).serving[0].canary.weight == 1

    def test_prod_keeping_a_replica_needs_no_opt_in(self, dev_config):
        dev_config["environment"] = "prod"
        dev_config["observability"] = {"notify": {"email": "oncall-ml@example.com"}}
        assert parse_fleet(serving_fleet(dev_config, chat(min_replicas=1))).serving[0]

    def test_the_pool_is_found_by_name_whatever_the_order(self, dev_config):
        fleet = parse_fleet(serving_fleet(dev_config, chat(), pools=(H100, L4)))
        fit = fleet.serving_fit(fleet.serving[0], fleet.regions[0])
        assert fit.usable_gib == pytest.approx(21.6)

    def test_the_pool_is_found_by_name_when_read_from_a_file(self, dev_config):
        fleet = parse_fleet(as_read_from_a_file(serving_fleet(dev_config, chat())))
        assert fleet.serving_pool(fleet.serving[0], fleet.regions[0]).name == "l4"

    @pytest.mark.parametrize("name", ["default", "nvidia", "kube-system", "gke-gmp", "gmp-public"])
    def test_a_namespace_the_cluster_keeps_is_refused_as_a_name(self, dev_config, name):
        assert only_problem(serving_fleet(dev_config, chat(name=name))) == (
            "fleet.serving[0].name",
            f"'{name}' is a namespace Kubernetes, GKE or llmfleet keeps for itself (reserved: "
            "default, nvidia and names starting kube-, gke-, gmp-); pick another name",
        )

    def test_replicas_count_every_tensor_parallel_group_of_a_node(self, dev_config):
        config = serving_fleet(
            dev_config,
            chat(model="llama-70b", pool="h100", tensor_parallel_size=4, max_replicas=9),
        )
        path, message = only_problem(config)
        assert path == "fleet.serving[0].max_replicas"
        assert "lower max_replicas to 8 or raise the pool's max_nodes" in message
