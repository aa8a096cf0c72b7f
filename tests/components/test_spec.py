"""The fleet spec: every rule accepts a valid config and refuses an invalid one with its path."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from llmfleet.components import catalog
from llmfleet.components.spec import (
    _PATTERN_HINTS,
    EKS_NODE_IMAGE,
    FleetSpec,
    SpecError,
    parse_fleet,
    read_published_models,
)


def problems(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        parse_fleet(raw)
    return caught.value.problems


def only_problem(raw: Any) -> tuple[str, str]:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def as_read_from_a_file(config: dict) -> dict:
    """The config as a stack file gives it: every string a new object, never the interned
    literal the code compares with (so a rule comparing by identity would miss it)."""
    return json.loads(json.dumps(config))


GCP_REGION = {
    "cloud": "gcp",
    "region": "us-central1",
    "cidr": "10.30.0.0/20",
    "pods_cidr": "10.128.0.0/14",
    "services_cidr": "10.30.16.0/20",
}


def with_gcp(config: dict, **overrides: Any) -> dict:
    config = copy.deepcopy(config)
    config["gcp_project"] = "llm-dev-project"
    config["regions"].append({**GCP_REGION, **overrides})
    return config


WEST = {"cloud": "aws", "region": "us-west-2", "cidr": "10.11.0.0/16"}


def pool(**fields: Any) -> dict:
    return {"name": "gpu", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 2, **fields}


def with_pools(config: dict, *pools: dict, region: int = 0) -> dict:
    config["regions"][region].setdefault("cluster", {})["gpu_pools"] = list(pools)
    return config


class TestFleetBasics:
    def test_a_minimal_fleet_parses_with_production_safe_defaults(self, dev_config):
        fleet = parse_fleet(dev_config)
        region = fleet.regions[0]
        assert region.zone_names == ("us-east-1a", "us-east-1b")
        assert region.network.flow_logs is True
        assert region.cluster.public_access_cidrs == []
        assert region.cluster.gpu_pools == []

    def test_environment_sets_nat_and_endpoint_defaults(self, dev_config, prod_config):
        dev = parse_fleet(dev_config).regions[0].network
        prod = parse_fleet(prod_config).regions[0].network
        assert (dev.nat, dev.private_endpoints) == ("single", False)
        assert (prod.nat, prod.private_endpoints) == ("per-zone", True)

    def test_staging_keeps_private_endpoints_but_one_nat_gateway(self, dev_config):
        dev_config["environment"] = "staging"
        network = parse_fleet(dev_config).regions[0].network
        assert (network.nat, network.private_endpoints) == ("single", True)

    def test_logs_are_kept_a_year_in_prod_and_90_days_elsewhere(self, dev_config, prod_fleet):
        assert prod_fleet.log_retention_days == 365
        assert parse_fleet(dev_config).log_retention_days == 90
        dev_config["environment"] = "staging"
        assert parse_fleet(dev_config).log_retention_days == 90

    def test_flow_log_retention_is_a_cloudwatch_period(self, dev_config):
        dev_config["regions"][0]["network"] = {"flow_log_retention_days": 100}
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].network.flow_log_retention_days"
        assert message.startswith("100 is not allowed; use one of 1, 3, 5, 7, 14, 30, 60, 90")

    def test_explicit_network_choices_win_over_environment_defaults(self, prod_config):
        prod_config["regions"][0]["network"] = {"nat": "single", "private_endpoints": False}
        network = parse_fleet(prod_config).regions[0].network
        assert (network.nat, network.private_endpoints) == ("single", False)

    def test_protection_follows_environment(self, dev_fleet, prod_fleet):
        assert dev_fleet.protect is False
        assert prod_fleet.protect is True

    def test_labels_carry_owner_cost_centre_environment_and_extra_tags(self, dev_config):
        dev_config["tags"] = {"team": "inference"}
        labels = parse_fleet(dev_config).labels()
        assert labels == {
            "llmfleet-fleet": "llm-dev",
            "environment": "dev",
            "owner": "ml-platform",
            "cost-center": "cc-1234",
            "managed-by": "llmfleet",
            "team": "inference",
        }

    def test_not_a_mapping(self):
        assert only_problem(["regions"]) == (
            "fleet",
            "must be a mapping (the llmfleet:fleet key of the stack)",
        )

    def test_unknown_field_is_named(self, dev_config):
        dev_config["regions"][0]["vpc_cidr"] = "10.0.0.0/16"
        assert only_problem(dev_config) == ("fleet.regions[0].vpc_cidr", "unknown field")

    def test_a_typo_suggests_the_nearest_field(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"gpu_pool": []}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.gpu_pool",
            "unknown field (did you mean 'gpu_pools'?)",
        )

    def test_a_typo_in_a_list_entry_suggests_the_nearest_field(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"gpu_pools": [{**pool(), "acelerator": "x"}]}
        assert (
            "fleet.regions[0].cluster.gpu_pools[0].acelerator",
            "unknown field (did you mean 'accelerator'?)",
        ) in problems(dev_config)

    def test_a_region_s_raw_rules_hold_beside_its_other_problems(self, dev_config):
        config = with_gcp(dev_config, zones=0)
        del config["regions"][1]["pods_cidr"]
        assert problems(config) == [
            ("fleet.regions[1].zones", "Input should be greater than or equal to 1"),
            (
                "fleet.regions[1].pods_cidr",
                "required for gcp regions (a /21 or larger private range)",
            ),
        ]

    def test_a_region_that_is_not_a_mapping(self, dev_config):
        dev_config["regions"].append("us-west-2")
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[1]"
        assert message.startswith("'us-west-2' is not a mapping")

    def test_a_long_value_is_shown_cut_to_60_characters(self, dev_config):
        dev_config["regions"][0]["cidr"] = "not-a-network-" * 6
        shown = "'not-a-network-not-a-network-not-a-network-not-a-network-..."
        assert len(shown) == 60
        assert only_problem(dev_config) == (
            "fleet.regions[0].cidr",
            f"{shown} is not a network address; use one like 10.0.0.0/16 (host bits zero)",
        )

    def test_a_value_shown_in_60_characters_is_shown_whole(self, dev_config):
        dev_config["regions"][0]["cidr"] = "x" * 58
        assert only_problem(dev_config) == (
            "fleet.regions[0].cidr",
            f"'{'x' * 58}' is not a network address; use one like 10.0.0.0/16 (host bits zero)",
        )
        dev_config["regions"][0]["cidr"] = "x" * 59
        assert only_problem(dev_config) == (
            "fleet.regions[0].cidr",
            f"'{'x' * 56}... is not a network address; use one like 10.0.0.0/16 (host bits zero)",
        )

    def test_every_rule_a_region_breaks_is_reported(self, dev_config):
        dev_config["regions"][0]["zones"] = 1
        dev_config["regions"][0]["cluster"] = {"kubernetes_version": "1.19"}
        assert problems(dev_config) == [
            ("fleet.regions[0].zones", "1 is too few; EKS needs subnets in at least 2 zones"),
            (
                "fleet.regions[0].cluster.kubernetes_version",
                "'1.19' is no longer on EKS; use one of 1.32, 1.33, 1.34, 1.35, 1.36, 1.37",
            ),
        ]

    def test_the_pods_range_is_judged_only_when_every_pool_is_valid(self, dev_config):
        config = with_gcp(dev_config, pods_cidr="10.128.0.0/21")
        pools = [pool(name="odd", count=3), pool(name="big", max_nodes=30)]
        config["regions"][1]["cluster"] = {"gpu_pools": pools}
        config["budget"]["max_accelerators"] = 1000
        assert problems(config) == [
            (
                "fleet.regions[1].cluster.gpu_pools[0].accelerator",
                "gcp offers 'nvidia-l4' with 1, 2, 4, 8 per node, not 3",
            )
        ]

    def test_an_infinite_budget_is_refused(self, dev_config):
        dev_config["budget"]["monthly_usd"] = "inf"
        assert only_problem(dev_config) == (
            "fleet.budget.monthly_usd",
            "Input should be a finite number",
        )

    @pytest.mark.parametrize("word", ["google", "null", "undefined", "ssl"])
    def test_gcp_project_ids_without_restricted_words(self, dev_config, word):
        config = with_gcp(dev_config)
        config["gcp_project"] = f"my-{word}-project"
        assert only_problem(config) == (
            "fleet.gcp_project",
            f"'my-{word}-project' contains '{word}', which GCP does not allow in project ids "
            "(restricted: google, null, undefined, ssl)",
        )

    def test_a_value_of_the_wrong_type_keeps_pydantic_s_words(self, dev_config):
        dev_config["regions"][0]["network"] = {"flow_logs": "maybe"}
        assert only_problem(dev_config) == (
            "fleet.regions[0].network.flow_logs",
            "Input should be a valid boolean, unable to interpret input",
        )

    def test_a_typo_in_an_optional_section_suggests_the_nearest_field(self, dev_config):
        dev_config["observability"] = {"notify": {"emails": "oncall@example.com"}}
        assert only_problem(dev_config) == (
            "fleet.observability.notify.emails",
            "unknown field (did you mean 'email'?)",
        )

    def test_an_explicit_instance_type_is_checked_for_its_capacity(self, dev_config):
        config = with_pools(dev_config, pool(instance_type="g6.xlarge", capacity="flex-start"))
        assert only_problem(config) == (
            "fleet.regions[0].cluster.gpu_pools[0].capacity",
            "g6.xlarge is not sold as flex-start capacity; it is offered as: on-demand, spot, "
            "reservation",
        )

    def test_missing_field_is_named(self, dev_config):
        del dev_config["owner"]
        assert only_problem(dev_config) == ("fleet.owner", "Field required")

    def test_every_problem_is_reported_at_once(self, dev_config):
        dev_config["environment"] = "production"
        dev_config["regions"][0]["zones"] = 0
        paths = [path for path, _ in problems(dev_config)]
        assert paths == ["fleet.environment", "fleet.regions[0].zones"]

    def test_rules_broken_in_several_regions_are_reported_together(self, dev_config):
        config = with_gcp(dev_config)
        config["regions"][0]["zones"] = 1
        del config["regions"][1]["pods_cidr"]
        with pytest.raises(SpecError) as caught:
            parse_fleet(config)
        assert caught.value.problems == [
            ("fleet.regions[0].zones", "1 is too few; EKS needs subnets in at least 2 zones"),
            (
                "fleet.regions[1].pods_cidr",
                "required for gcp regions (a /21 or larger private range)",
            ),
        ]
        assert str(caught.value) == (
            "fleet.regions[0].zones: 1 is too few; EKS needs subnets in at least 2 zones\n"
            "fleet.regions[1].pods_cidr: required for gcp regions (a /21 or larger private range)"
        )

    def test_a_gcp_region_read_from_a_file_needs_its_ranges_and_the_project(self, dev_config):
        # The region's invalid cidr stops its own rules: the raw-input rules still report the
        # missing range and project, for a cloud name read from the file too.
        config = with_gcp(dev_config, cidr="10.30.0.0/33")
        del config["regions"][1]["pods_cidr"]
        del config["gcp_project"]
        found = problems(as_read_from_a_file(config))
        assert [path for path, _ in found] == [
            "fleet.regions[1].cidr",
            "fleet.gcp_project",
            "fleet.regions[1].pods_cidr",
        ]
        assert found[1:] == [
            ("fleet.gcp_project", "required when a region is on gcp, e.g. 'llm-prod-serving'"),
            (
                "fleet.regions[1].pods_cidr",
                "required for gcp regions (a /21 or larger private range)",
            ),
        ]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("name", "LLM_Dev"), ("name", "9llm"), ("owner", "ML Platform")],
    )
    def test_names_and_tags_must_be_dns_and_label_safe(self, dev_config, field, value):
        dev_config[field] = value
        path, message = only_problem(dev_config)
        assert path == f"fleet.{field}"
        assert message.startswith(f"{value!r} is not allowed; use lowercase letters, digits")

    def test_fleet_name_leaves_room_for_region_names(self, dev_config):
        dev_config["name"] = "x" * 17
        assert only_problem(dev_config) == (
            "fleet.name",
            "String should have at most 16 characters",
        )

    def test_tag_keys_must_be_label_safe(self, dev_config):
        dev_config["tags"] = {"Team Name": "x"}
        path, message = only_problem(dev_config)
        assert path == "fleet.tags.Team Name"
        assert message.startswith("'Team Name' is not allowed; use lowercase letters, digits")
        assert "e.g. 'team'" in message

    def test_a_budget_below_one_dollar_is_still_a_budget(self, dev_config):
        dev_config["budget"]["monthly_usd"] = 0.5
        assert parse_fleet(dev_config).budget.monthly_usd == 0.5

    def test_names_may_use_all_32_characters(self, dev_config):
        name = "p" * 32
        fleet = parse_fleet(with_pools(dev_config, pool(name=name)))
        assert fleet.regions[0].cluster.gpu_pools[0].name == name

    def test_a_wrong_type_keeps_its_own_message(self, dev_config):
        dev_config["regions"][0]["zones"] = "three"
        assert only_problem(dev_config) == (
            "fleet.regions[0].zones",
            "Input should be a valid integer, unable to parse string as an integer",
        )

    def test_budget_must_be_positive(self, dev_config):
        dev_config["budget"]["monthly_usd"] = 0
        assert only_problem(dev_config)[0] == "fleet.budget.monthly_usd"

    def test_at_least_one_region(self, dev_config):
        dev_config["regions"] = []
        assert only_problem(dev_config)[0] == "fleet.regions"


class TestRegions:
    def test_cloud_must_be_aws_or_gcp(self, dev_config):
        dev_config["regions"][0]["cloud"] = "azure"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cloud"
        assert "'aws' or 'gcp'" in message

    def test_an_unknown_cloud_is_not_taken_for_gcp(self, dev_config):
        # No gcp_project is asked for: only a region on gcp needs one.
        dev_config["regions"][0]["cloud"] = "oci"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cloud"
        assert "'aws' or 'gcp'" in message

    def test_region_must_be_in_the_catalog_for_that_cloud(self, dev_config):
        dev_config["regions"][0]["region"] = "us-central1"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].region"
        assert message == "'us-central1' is a region of gcp, not aws; set cloud: gcp"

    def test_an_aws_region_named_on_gcp_says_so(self, dev_config):
        config = with_gcp(dev_config, region="us-west-2")
        path, message = only_problem(config)
        assert path == "fleet.regions[1].region"
        assert message.startswith("'us-west-2' is a")
        assert message.endswith(" is a region of aws, not gcp; set cloud: aws")

    def test_a_kubernetes_version_not_yet_released(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"kubernetes_version": "1.99"}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.kubernetes_version",
            "'1.99' is not released on EKS; use one of 1.32, 1.33, 1.34, 1.35, 1.36, 1.37",
        )

    def test_a_gcp_subnet_holds_the_cluster_s_nodes(self, dev_config):
        def gcp(max_nodes: int) -> dict:
            config = with_gcp(copy.deepcopy(dev_config), cidr="10.30.0.0/24")
            config["regions"][1]["cluster"] = {"gpu_pools": [pool(max_nodes=max_nodes)]}
            config["budget"]["max_accelerators"] = 1000
            return config

        # A /24 has 252 node addresses: six system nodes and 246 GPU nodes.
        assert parse_fleet(gcp(246)).regions[1].max_nodes() == 252
        assert only_problem(gcp(247)) == (
            "fleet.regions[1].cidr",
            "10.30.0.0/24 has 252 node addresses, but the cluster reaches 253 nodes",
        )

    def test_unknown_region_lists_the_cloud_regions_and_the_nearest(self, dev_config):
        dev_config["regions"][0]["region"] = "us-est-1"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].region"
        assert message.startswith(
            "'us-est-1' is not a known aws region (did you mean 'us-east-1'?); allowed: "
        )
        assert "us-west-2" in message

    def test_zone_count_must_exist_in_the_region(self, dev_config):
        dev_config["regions"][0]["region"] = "us-east-2"
        dev_config["regions"][0]["zones"] = 4
        assert only_problem(dev_config) == (
            "fleet.regions[0].zones",
            "us-east-2 has 3 zones in the catalog, not 4",
        )

    def test_a_region_may_span_every_zone_of_the_catalog(self, dev_config):
        dev_config["regions"][0]["region"] = "us-east-2"
        dev_config["regions"][0]["zones"] = 3
        region = parse_fleet(dev_config).regions[0]
        assert region.zone_names == ("us-east-2a", "us-east-2b", "us-east-2c")

    def test_aws_regions_span_at_least_two_zones(self, dev_config):
        dev_config["regions"][0]["zones"] = 1
        assert only_problem(dev_config) == (
            "fleet.regions[0].zones",
            "1 is too few; EKS needs subnets in at least 2 zones",
        )

    def test_regions_are_unique(self, dev_config):
        dev_config["regions"].append({**dev_config["regions"][0], "cidr": "10.11.0.0/16"})
        assert only_problem(dev_config) == (
            "fleet.regions[1].region",
            "'us-east-1' is already fleet.regions[0]",
        )

    def test_aws_and_gcp_regions_mix(self, dev_config):
        fleet = parse_fleet(with_gcp(dev_config))
        assert [r.key for r in fleet.regions] == ["aws-us-east-1", "gcp-us-central1"]
        assert [r.region for r in fleet.regions_of("gcp")] == ["us-central1"]

    def test_gcp_regions_need_a_project(self, dev_config):
        config = with_gcp(dev_config)
        del config["gcp_project"]
        assert only_problem(config) == (
            "fleet.gcp_project",
            "required when a region is on gcp, e.g. 'llm-prod-serving'",
        )


class TestNetworkAddresses:
    @pytest.mark.parametrize(
        "cidr", ["10.0.0.0/16", "172.16.0.0/20", "192.168.0.0/16", "100.64.0.0/16"]
    )
    def test_private_and_shared_address_space_is_allowed(self, dev_config, cidr):
        dev_config["regions"][0]["cidr"] = cidr
        assert str(parse_fleet(dev_config).regions[0].cidr) == cidr

    def test_public_address_space_is_refused(self, dev_config):
        dev_config["regions"][0]["cidr"] = "8.8.0.0/16"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cidr"
        assert message.startswith("8.8.0.0/16 is not private address space; allowed: 10.0.0.0/8")

    def test_malformed_cidr_is_refused(self, dev_config):
        dev_config["regions"][0]["cidr"] = "10.0.0.1/16"
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cidr"
        assert message == (
            "'10.0.0.1/16' is not a network address; use one like 10.0.0.0/16 (host bits zero)"
        )

    @pytest.mark.parametrize(("cidr", "limit"), [("10.0.0.0/15", "/20"), ("10.0.0.0/21", "/20")])
    def test_aws_vpc_size_is_bounded(self, dev_config, cidr, limit):
        dev_config["regions"][0]["cidr"] = cidr
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cidr"
        assert message.endswith(f"is outside /16 to {limit} for aws")

    def test_aws_vpc_may_be_a_20(self, dev_config):
        dev_config["regions"][0]["cidr"] = "10.10.0.0/20"
        assert str(parse_fleet(dev_config).regions[0].cidr) == "10.10.0.0/20"

    def test_gcp_subnet_may_be_as_small_as_a_24(self, dev_config):
        fleet = parse_fleet(with_gcp(dev_config, cidr="10.30.0.0/24"))
        assert str(fleet.regions[1].cidr) == "10.30.0.0/24"

    def test_gcp_subnet_below_a_24_is_refused(self, dev_config):
        assert only_problem(with_gcp(dev_config, cidr="10.30.0.0/25")) == (
            "fleet.regions[1].cidr",
            "/25 is outside /16 to /24 for gcp",
        )

    def test_region_networks_must_not_overlap(self, dev_config):
        dev_config["regions"].append(
            {"cloud": "aws", "region": "us-west-2", "cidr": "10.10.128.0/17"}
        )
        assert only_problem(dev_config) == (
            "fleet.regions[1].cidr",
            "overlaps fleet.regions[0].cidr 10.10.0.0/16",
        )

    def test_secondary_ranges_must_not_overlap_other_regions(self, dev_config):
        config = with_gcp(dev_config, pods_cidr="10.8.0.0/14")
        assert only_problem(config) == (
            "fleet.regions[1].pods_cidr",
            "overlaps fleet.regions[0].cidr 10.10.0.0/16",
        )

    def test_secondary_ranges_must_not_overlap_their_own_subnet(self, dev_config):
        config = with_gcp(dev_config, services_cidr="10.30.0.0/24")
        assert only_problem(config) == (
            "fleet.regions[1].services_cidr",
            "10.30.0.0/24 overlaps cidr 10.30.0.0/20",
        )

    def test_gcp_regions_require_secondary_ranges(self, dev_config):
        config = with_gcp(dev_config)
        del config["regions"][1]["pods_cidr"]
        assert only_problem(config) == (
            "fleet.regions[1].pods_cidr",
            "required for gcp regions (a /21 or larger private range)",
        )

    def test_gcp_service_range_must_be_a_24_or_larger(self, dev_config):
        config = with_gcp(dev_config, services_cidr="10.30.16.0/25")
        assert only_problem(config) == (
            "fleet.regions[1].services_cidr",
            "/25 is too small; allowed: /24 or larger",
        )

    def test_gcp_pod_range_must_be_large_enough(self, dev_config):
        config = with_gcp(dev_config, pods_cidr="10.128.0.0/22")
        assert only_problem(config) == (
            "fleet.regions[1].pods_cidr",
            "/22 is too small; allowed: /21 or larger",
        )

    def test_secondary_ranges_are_refused_on_aws(self, dev_config):
        dev_config["regions"][0]["pods_cidr"] = "10.128.0.0/14"
        assert only_problem(dev_config) == (
            "fleet.regions[0].pods_cidr",
            "only for gcp regions; on aws pods take VPC addresses",
        )

    def test_gcp_ranges_stay_clear_of_gke_control_planes(self, dev_config):
        config = with_gcp(dev_config, cidr="172.16.0.0/20")
        assert only_problem(config) == (
            "fleet.regions[1].cidr",
            "172.16.0.0/20 overlaps 172.16.0.0/16, kept for GKE control planes",
        )


class TestClusters:
    def test_kubernetes_version_is_a_supported_minor(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"kubernetes_version": "1.19"}
        path, message = only_problem(dev_config)
        assert path == "fleet.regions[0].cluster.kubernetes_version"
        assert (
            message == "'1.19' is no longer on EKS; use one of 1.32, 1.33, 1.34, 1.35, 1.36, 1.37"
        )

    def test_a_gke_version_refusal_names_gke_and_its_versions(self, dev_config):
        config = with_gcp(dev_config)
        config["regions"][1]["cluster"] = {"kubernetes_version": "1.32"}
        assert only_problem(config) == (
            "fleet.regions[1].cluster.kubernetes_version",
            "'1.32' is no longer on GKE; use one of 1.33, 1.34, 1.35, 1.36, 1.37",
        )

    @pytest.mark.parametrize(("cloud", "chosen"), [("aws", "m7i.large"), ("gcp", "n2-standard-8")])
    def test_the_system_pool_may_name_a_general_purpose_type(self, dev_config, cloud, chosen):
        config = with_gcp(dev_config)
        region = 0 if cloud == "aws" else 1
        config["regions"][region]["cluster"] = {"system_pool": {"instance_type": chosen}}
        parsed = parse_fleet(config).regions[region].cluster.system_pool
        assert parsed.instance_type == chosen

    def test_an_unknown_system_pool_type_is_refused_listing_the_allowed_ones(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"system_pool": {"instance_type": "m7i.larg"}}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.system_pool.instance_type",
            "unknown aws general-purpose type 'm7i.larg' (did you mean 'm7i.large'?); allowed: "
            "c7i.xlarge, m5.xlarge, m6i.2xlarge, m6i.xlarge, m7i.2xlarge, m7i.large, m7i.xlarge",
        )

    def test_a_gpu_type_is_refused_for_the_system_pool(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"system_pool": {"instance_type": "g6.xlarge"}}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.system_pool.instance_type",
            "g6.xlarge carries 1 x nvidia-l4; the system pool runs add-ons on a general-purpose "
            "type; allowed: c7i.xlarge, m5.xlarge, m6i.2xlarge, m6i.xlarge, m7i.2xlarge, "
            "m7i.large, m7i.xlarge",
        )

    def test_api_server_is_never_opened_to_the_world(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"public_access_cidrs": ["0.0.0.0/0"]}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.public_access_cidrs[0]",
            "0.0.0.0/0 opens the API server to the internet; list your CIDRs",
        )

    def test_listed_public_cidrs_reach_the_api_server(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"public_access_cidrs": ["203.0.113.0/24"]}
        cluster = parse_fleet(dev_config).regions[0].cluster
        assert [str(c) for c in cluster.public_access_cidrs] == ["203.0.113.0/24"]

    def test_system_pool_min_not_above_max(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"system_pool": {"min_nodes": 5, "max_nodes": 3}}
        assert only_problem(dev_config) == (
            "fleet.regions[0].cluster.system_pool.min_nodes",
            "5 is above max_nodes 3",
        )

    def test_a_fixed_size_system_pool_is_allowed(self, dev_config):
        dev_config["regions"][0]["cluster"] = {"system_pool": {"min_nodes": 3, "max_nodes": 3}}
        system = parse_fleet(dev_config).regions[0].cluster.system_pool
        assert (system.min_nodes, system.max_nodes) == (3, 3)


class TestGpuPools:
    def test_a_pool_resolves_to_a_catalog_instance_type(self, dev_config):
        fleet = parse_fleet(with_pools(dev_config, pool(spot=True)))
        region = fleet.regions[0]
        chosen = region.instance_type_for(region.cluster.gpu_pools[0])
        assert chosen.accelerator == "nvidia-l4"
        assert chosen.accelerator_count == 1
        assert "us-east-1" in chosen.regions

    def test_unknown_accelerator(self, dev_config):
        path, message = only_problem(with_pools(dev_config, pool(accelerator="nvidia-v100")))
        assert path == "fleet.regions[0].cluster.gpu_pools[0].accelerator"
        assert message.startswith("unknown accelerator 'nvidia-v100'; allowed: ")
        assert "nvidia-l4" in message

    def test_accelerator_count_must_exist_for_that_accelerator(self, dev_config):
        path, message = only_problem(
            with_pools(dev_config, pool(accelerator="nvidia-h100-80gb", count=3))
        )
        assert path == "fleet.regions[0].cluster.gpu_pools[0].accelerator"
        assert message.startswith("aws offers 'nvidia-h100-80gb' with 8 per node, not 3")

    def test_tpu_pools_only_on_gcp(self, dev_config):
        path, message = only_problem(with_pools(dev_config, pool(accelerator="tpu-v5e", count=4)))
        assert path == "fleet.regions[0].cluster.gpu_pools[0].accelerator"
        assert message == "TPUs are only offered on gcp, not aws"

    def test_topology_only_for_tpu_pools(self, dev_config):
        assert only_problem(with_pools(dev_config, pool(tpu_topology="2x4"))) == (
            "fleet.regions[0].cluster.gpu_pools[0].tpu_topology",
            "only for TPU pools",
        )

    def test_tpu_topology_is_whole_hosts(self, prod_config):
        tpu = pool(accelerator="tpu-v5e", count=4, tpu_topology="2x3")
        assert only_problem(with_pools(prod_config, tpu, region=2)) == (
            "fleet.regions[2].cluster.gpu_pools[0].tpu_topology",
            "tpu-v5e does not form a 2x3 slice; its slice shapes: 1x1, 2x2, 2x4, 4x4, 4x8, 8x8, "
            "8x16, 16x16",
        )

    @pytest.mark.parametrize(
        ("count", "machine"), [(1, "ct5lp-hightpu-1t"), (8, "ct5lp-hightpu-8t")]
    )
    def test_multi_host_slices_are_built_from_four_chip_hosts(self, prod_config, count, machine):
        topology = "4x4" if count == 8 else "2x2"
        tpu = pool(accelerator="tpu-v5e", count=count, tpu_topology=topology)
        assert only_problem(with_pools(prod_config, tpu, region=2)) == (
            "fleet.regions[2].cluster.gpu_pools[0].tpu_topology",
            f"a {topology} slice spans several hosts, and tpu-v5e builds those only from 4-chip "
            f"hosts (count: 4), not {count}-chip {machine}",
        )

    def test_a_slice_smaller_than_its_host_is_refused(self, prod_config):
        tpu = pool(accelerator="tpu-v5e", count=8, tpu_topology="2x2")
        assert only_problem(with_pools(prod_config, tpu, region=2)) == (
            "fleet.regions[2].cluster.gpu_pools[0].tpu_topology",
            "2x2 is 4 chips, fewer than one 8-chip ct5lp-hightpu-8t",
        )

    def test_a_tpu_slice_of_whole_hosts_is_allowed(self, prod_config):
        tpu = pool(accelerator="tpu-v5e", count=4, tpu_topology="2x4")
        fleet = parse_fleet(with_pools(prod_config, tpu, region=2))
        assert fleet.regions[2].cluster.gpu_pools[0].tpu_topology == "2x4"

    def test_system_is_reserved_for_the_system_pool(self, dev_config):
        assert only_problem(with_pools(dev_config, pool(name="system"))) == (
            "fleet.regions[0].cluster.gpu_pools[0].name",
            "'system' is the system pool's name",
        )

    def test_system_is_reserved_when_read_from_a_file_too(self, dev_config):
        # Names read from a stack file are new strings, not the interned literal in the code.
        name = json.loads('"system"')
        assert only_problem(with_pools(dev_config, pool(name=name)))[0] == (
            "fleet.regions[0].cluster.gpu_pools[0].name"
        )

    @pytest.mark.parametrize("name", ["a100", "train", "tpu-slice"])
    def test_any_other_pool_name_is_allowed(self, dev_config, name):
        # Names on either side of 'system' in sort order.
        fleet = parse_fleet(with_pools(dev_config, pool(name=name)))
        assert fleet.regions[0].cluster.gpu_pools[0].name == name

    def test_min_nodes_not_above_max_nodes(self, dev_config):
        assert only_problem(with_pools(dev_config, pool(min_nodes=3, max_nodes=2))) == (
            "fleet.regions[0].cluster.gpu_pools[0].min_nodes",
            "3 is above max_nodes 2",
        )

    def test_a_fixed_size_pool_is_allowed(self, dev_config):
        fleet = parse_fleet(with_pools(dev_config, pool(min_nodes=2, max_nodes=2)))
        gpu = fleet.regions[0].cluster.gpu_pools[0]
        assert (gpu.min_nodes, gpu.max_nodes) == (2, 2)

    def test_pool_names_unique_in_a_region(self, dev_config):
        config = with_pools(dev_config, pool(), pool())
        assert only_problem(config) == (
            "fleet.regions[0].cluster.gpu_pools[1].name",
            "'gpu' is already used by gpu_pools[0]",
        )

    def test_explicit_instance_type_must_carry_the_pool_accelerator(self, dev_config):
        config = with_pools(dev_config, pool(instance_type="p5.48xlarge"))
        path, message = only_problem(config)
        assert path == "fleet.regions[0].cluster.gpu_pools[0].instance_type"
        assert message == "p5.48xlarge carries 8 x nvidia-h100-80gb, not 1 x nvidia-l4"

    def test_explicit_instance_type_must_be_known(self, dev_config):
        config = with_pools(dev_config, pool(instance_type="x9.huge"))
        path, message = only_problem(config)
        assert path == "fleet.regions[0].cluster.gpu_pools[0].instance_type"
        assert message.startswith("unknown aws instance type 'x9.huge'; known: ")

    def test_an_explicit_instance_type_wins_over_the_cheapest(self, dev_config):
        fleet = parse_fleet(
            with_pools(dev_config, pool(), pool(name="big", instance_type="g6.4xlarge"))
        )
        region = fleet.regions[0]
        cheapest, explicit = (region.instance_type_for(p) for p in region.cluster.gpu_pools)
        assert (cheapest.name, explicit.name) == ("g6.xlarge", "g6.4xlarge")

    def test_explicit_instance_type_must_carry_the_pool_count(self, dev_config):
        config = with_pools(dev_config, pool(instance_type="g6.12xlarge"))
        assert only_problem(config) == (
            "fleet.regions[0].cluster.gpu_pools[0].instance_type",
            "g6.12xlarge carries 4 x nvidia-l4, not 1 x nvidia-l4",
        )

    def test_explicit_instance_type_must_be_offered_in_the_region(self, dev_config):
        dev_config["regions"][0]["region"] = "us-east-2"
        a100 = pool(accelerator="nvidia-a100-80gb", count=8, max_nodes=1)
        config = with_pools(dev_config, {**a100, "instance_type": "p4de.24xlarge"})
        assert only_problem(config) == (
            "fleet.regions[0].cluster.gpu_pools[0].instance_type",
            "p4de.24xlarge is not offered in us-east-2; offered in: us-east-1, us-west-2",
        )

    def test_pools_must_fit_the_accelerator_cap(self, dev_config):
        dev_config["budget"]["max_accelerators"] = 8
        config = with_pools(dev_config, pool(name="a", max_nodes=4), pool(name="b", max_nodes=5))
        assert only_problem(config) == (
            "fleet.regions[0].cluster.gpu_pools[1].max_nodes",
            "pools reach 9 accelerators at maximum scale by this one, above "
            "budget.max_accelerators 8",
        )

    def test_max_accelerators_counts_every_pool_at_maximum(self, dev_config):
        fleet = parse_fleet(with_pools(dev_config, pool(max_nodes=3), pool(name="b", max_nodes=2)))
        assert fleet.max_accelerators() == 5

    def test_an_eight_gpu_node_counts_eight_accelerators_against_the_cap(self, dev_config):
        h100 = pool(accelerator="nvidia-h100-80gb", count=8, max_nodes=2)
        assert only_problem(with_pools(dev_config, h100)) == (
            "fleet.regions[0].cluster.gpu_pools[0].max_nodes",
            "pools reach 16 accelerators at maximum scale by this one, above "
            "budget.max_accelerators 8",
        )

    def test_pools_may_reach_the_accelerator_cap_exactly(self, dev_config):
        h100 = pool(accelerator="nvidia-h100-80gb", count=8, max_nodes=1)
        assert parse_fleet(with_pools(dev_config, h100)).max_accelerators() == 8

    def test_max_accelerators_multiplies_nodes_by_accelerators_per_node(self, dev_config):
        dev_config["budget"]["max_accelerators"] = 64
        l4s = pool(name="l4", count=4, max_nodes=3)
        h100 = pool(name="h100", accelerator="nvidia-h100-80gb", count=8, max_nodes=2)
        assert parse_fleet(with_pools(dev_config, l4s, h100)).max_accelerators() == 28

    @pytest.mark.parametrize(
        ("count", "topology", "nodes", "chips"),
        [
            (1, "1x1", (0, 3), 3),
            (4, "2x2", (0, 3), 12),
            (8, "2x4", (0, 3), 24),
            (4, "2x4", (2, 2), 8),
            (4, "4x4", (4, 4), 16),
            (4, "16x16", (64, 64), 256),
        ],
    )
    def test_tpu_slices_the_generation_forms_count_every_chip(
        self, prod_config, count, topology, nodes, chips
    ):
        tpu = pool(accelerator="tpu-v5e", count=count, tpu_topology=topology, max_nodes=3)
        prod_config["budget"]["max_accelerators"] = 1000
        region = parse_fleet(with_pools(prod_config, tpu, region=2)).regions[2]
        tpu_pool = region.cluster.gpu_pools[0]
        assert region.pool_nodes(tpu_pool) == nodes
        assert region.pool_max_accelerators(tpu_pool) == chips

    def test_the_cap_counts_a_multi_host_slice_whole(self, prod_config):
        tpu = pool(accelerator="tpu-v6e", count=4, tpu_topology="8x8", max_nodes=1)
        prod_config["budget"]["max_accelerators"] = 63
        assert only_problem(with_pools(prod_config, tpu, region=2)) == (
            "fleet.regions[2].cluster.gpu_pools[0].tpu_topology",
            "pools reach 64 accelerators at maximum scale by this one, above "
            "budget.max_accelerators 63",
        )

    def test_the_cap_names_the_topology_of_a_two_host_slice(self, prod_config):
        # A 2x4 slice of tpu-v5e is two 4-chip hosts, whatever max_nodes says.
        tpu = pool(accelerator="tpu-v5e", count=4, tpu_topology="2x4", max_nodes=1)
        prod_config["budget"]["max_accelerators"] = 7
        assert only_problem(with_pools(prod_config, tpu, region=2)) == (
            "fleet.regions[2].cluster.gpu_pools[0].tpu_topology",
            "pools reach 8 accelerators at maximum scale by this one, above "
            "budget.max_accelerators 7",
        )


class TestModelsAndServing:
    @pytest.fixture
    def serving_config(self, dev_config) -> dict:
        config = with_pools(dev_config, pool())
        config["models"] = [
            {"name": "llama-3-8b", "version": "v1", "source": "hf://meta/x", "parameters_b": 8}
        ]
        config["serving"] = [
            {"name": "chat", "model": "llama-3-8b", "version": "v1", "pool": "gpu"}
        ]
        return config

    def test_serving_defaults_to_every_region_with_its_pool(self, serving_config):
        fleet = parse_fleet(serving_config)
        assert [r.region for r in fleet.serving_regions(fleet.serving[0])] == ["us-east-1"]

    def test_serving_must_name_a_listed_model_version(self, serving_config):
        serving_config["serving"][0]["version"] = "v2"
        assert only_problem(serving_config) == (
            "fleet.serving[0].version",
            "llama-3-8b v2 is not in fleet.models; listed: llama-3-8b v1",
        )

    def test_serving_pool_must_exist(self, serving_config):
        serving_config["serving"][0]["pool"] = "h100"
        assert only_problem(serving_config) == (
            "fleet.serving[0].pool",
            "no fleet region has a gpu pool 'h100'; allowed: gpu",
        )

    def test_serving_regions_must_be_fleet_regions(self, serving_config):
        serving_config["serving"][0]["regions"] = ["eu-west-1"]
        assert only_problem(serving_config) == (
            "fleet.serving[0].regions[0]",
            "'eu-west-1' is not a fleet region; allowed: us-east-1",
        )

    def test_serving_min_replicas_not_above_max_replicas(self, serving_config):
        serving_config["serving"][0].update(min_replicas=3, max_replicas=2)
        assert only_problem(serving_config) == (
            "fleet.serving[0].min_replicas",
            "3 is above max_replicas 2",
        )

    def test_serving_may_run_a_fixed_number_of_replicas(self, serving_config):
        serving_config["serving"][0].update(min_replicas=2, max_replicas=2)
        chat = parse_fleet(serving_config).serving[0]
        assert (chat.min_replicas, chat.max_replicas) == (2, 2)

    def test_serving_names_are_unique(self, serving_config):
        serving_config["serving"].append(dict(serving_config["serving"][0]))
        assert only_problem(serving_config) == ("fleet.serving[1].name", "'chat' is already used")

    def test_explicit_serving_regions_narrow_where_it_runs(self, serving_config):
        serving_config["regions"].append(
            {**WEST, "cluster": {"gpu_pools": [pool()]}},
        )
        serving_config["serving"][0]["regions"] = ["us-west-2"]
        fleet = parse_fleet(serving_config)
        assert [r.region for r in fleet.serving_regions(fleet.serving[0])] == ["us-west-2"]

    def test_explicit_serving_regions_must_have_the_pool(self, serving_config):
        serving_config["regions"].append(WEST)
        serving_config["serving"][0]["regions"] = ["us-east-1", "us-west-2"]
        assert only_problem(serving_config) == (
            "fleet.serving[0].regions[1]",
            "us-west-2 has no gpu pool 'gpu' (its pools: none); drop the region or add the pool "
            "there",
        )

    def test_model_versions_are_unique(self, serving_config):
        serving_config["models"].append(dict(serving_config["models"][0]))
        assert only_problem(serving_config) == (
            "fleet.models[1].version",
            "llama-3-8b v1 is already fleet.models[0]",
        )

    def test_model_source_scheme(self, serving_config):
        serving_config["models"][0]["source"] = "http://example.com/weights"
        path, message = only_problem(serving_config)
        assert path == "fleet.models[0].source"
        assert "use s3://bucket/path, gs://bucket/path or hf://org/model" in message

    def test_a_published_version_keeps_its_source(self, serving_config):
        published = read_published_models({"llama-3-8b": {"v1": "hf://meta/x"}})
        assert parse_fleet(serving_config, published).models[0].source == "hf://meta/x"

    def test_a_published_version_read_from_the_lock_file_keeps_its_source(self, serving_config):
        lock = json.loads('{"llama-3-8b": {"v1": "hf://meta/x"}}')
        published = read_published_models(lock)
        config = as_read_from_a_file(serving_config)
        assert parse_fleet(config, published).models[0].source == "hf://meta/x"

    def test_changing_a_published_version_is_refused(self, serving_config):
        published = read_published_models({"llama-3-8b": {"v1": "hf://meta/old"}})
        with pytest.raises(SpecError) as caught:
            parse_fleet(serving_config, published)
        assert caught.value.problems == [
            (
                "fleet.models[0].source",
                "llama-3-8b v1 was published from hf://meta/old; a published version is "
                "immutable: publish the new weights as a new version",
            )
        ]

    @pytest.mark.parametrize("old", ["hf://meta/a", "hf://meta/z"])
    def test_any_other_source_of_a_published_version_is_refused(self, serving_config, old):
        published = read_published_models({"llama-3-8b": {"v1": old}})
        with pytest.raises(SpecError) as caught:
            parse_fleet(serving_config, published)
        assert [path for path, _ in caught.value.problems] == ["fleet.models[0].source"]

    def test_a_ledger_source_must_be_text(self):
        with pytest.raises(SpecError) as caught:
            read_published_models({"llama": {"v1": 3}}, "stacks/models.lock.yaml")
        assert caught.value.problems == [
            ("stacks/models.lock.yaml", "expected {model name: {version: source}}")
        ]

    def test_malformed_ledger_is_refused(self):
        with pytest.raises(SpecError) as caught:
            read_published_models(["llama"], "stacks/models.lock.yaml")
        assert caught.value.problems == [
            ("stacks/models.lock.yaml", "expected {model name: {version: source}}")
        ]

    def test_storage_replicas_must_have_a_cluster(self, serving_config):
        serving_config["storage"] = {"replicas": ["us-west-2"]}
        assert only_problem(serving_config) == (
            "fleet.storage.replicas[0]",
            "'us-west-2' has no cluster in this fleet; allowed: us-east-1",
        )

    def test_storage_primary_stays_on_aws_when_the_fleet_has_aws(self, prod_config):
        prod_config["storage"] = {"primary_region": "us-central1"}
        path, message = only_problem(prod_config)
        assert path == "fleet.storage.primary_region"
        assert message.startswith("'us-central1' is on gcp but the fleet has aws regions")

    def test_storage_regions_default_to_every_region_primary_first(self, prod_config):
        prod_config["storage"] = {"primary_region": "us-west-2"}
        fleet = parse_fleet(prod_config)
        assert [r.region for r in fleet.storage_regions()] == [
            "us-west-2",
            "us-east-1",
            "us-central1",
            "europe-west4",
        ]

    def test_storage_replicas_choose_the_copies(self, prod_config):
        prod_config["storage"] = {"replicas": ["europe-west4", "us-west-2"]}
        fleet = parse_fleet(prod_config)
        assert [r.region for r in fleet.storage_regions()] == [
            "us-east-1",
            "us-west-2",
            "europe-west4",
        ]

    def test_a_replica_is_not_the_primary(self, prod_config):
        prod_config["storage"] = {"primary_region": "us-west-2", "replicas": ["us-west-2"]}
        assert only_problem(prod_config) == (
            "fleet.storage.replicas[0]",
            "'us-west-2' is the primary region",
        )

    def test_serving_only_where_a_model_copy_lives(self, serving_config):
        serving_config["regions"].append(
            {
                "cloud": "aws",
                "region": "us-west-2",
                "cidr": "10.11.0.0/16",
                "cluster": {"gpu_pools": [pool()]},
            }
        )
        serving_config["storage"] = {"replicas": []}
        serving_config["budget"]["max_accelerators"] = 8
        assert only_problem(serving_config) == (
            "fleet.serving[0].regions",
            "us-west-2 holds no model copy (storage.replicas); serving there would read "
            "weights across regions",
        )

    def test_storage_primary_must_be_a_fleet_region(self, serving_config):
        serving_config["storage"] = {"primary_region": "eu-west-1"}
        assert only_problem(serving_config) == (
            "fleet.storage.primary_region",
            "'eu-west-1' is not a fleet region; allowed: us-east-1",
        )


def at(config: dict, path: str, value: Any) -> dict:
    """Set ``value`` at a dotted path such as ``regions.0.cluster.system_pool.max_nodes``."""
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[int(last) if last.isdigit() else last] = value
    return config


CLOUDWATCH_PERIODS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096)
CLOUDWATCH_PERIODS += (1827, 2192, 2557, 2922, 3288, 3653)


class TestDefaults:
    def test_a_pool_scales_from_zero_to_one_on_demand_node_of_one_accelerator(self, dev_config):
        bare = {"name": "gpu", "accelerator": "nvidia-l4"}
        gpu = parse_fleet(with_pools(dev_config, bare)).regions[0].cluster.gpu_pools[0]
        assert (gpu.count, gpu.min_nodes, gpu.max_nodes) == (1, 0, 1)
        assert (gpu.spot, gpu.capacity, gpu.on_demand_fallback) == (False, "on-demand", True)

    def test_region_cluster_and_network_defaults(self, dev_config):
        del dev_config["regions"][0]["zones"]
        region = parse_fleet(dev_config).regions[0]
        assert region.zones == 3
        assert (region.cluster.kubernetes_version, region.cluster.release_channel) == (
            "1.35",
            "REGULAR",
        )
        system = region.cluster.system_pool
        assert (system.instance_type, system.min_nodes, system.max_nodes) == (None, 2, 6)
        assert region.network.flow_log_retention_days == 90

    def test_budget_storage_and_routing_defaults(self, dev_config):
        del dev_config["budget"]["max_accelerators"]
        fleet = parse_fleet(dev_config)
        assert fleet.budget.max_accelerators == 64
        storage = fleet.storage
        assert (storage.primary_region, storage.replicas) == (None, None)
        assert (storage.replication_time_control, storage.replicate_deletes) == (False, False)
        assert storage.noncurrent_version_days == 30
        assert (fleet.routing.domain, fleet.routing.policy) == (None, "latency")


class TestBounds:
    """Each numeric limit accepts its boundary value and refuses the next one."""

    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            ("budget.max_accelerators", -1, "Input should be greater than or equal to 0"),
            ("regions.0.zones", 0, "Input should be greater than or equal to 1"),
            ("regions.0.zones", 7, "Input should be less than or equal to 6"),
            (
                "regions.0.cluster.system_pool.min_nodes",
                0,
                "Input should be greater than or equal to 1",
            ),
            (
                "regions.0.cluster.system_pool.max_nodes",
                0,
                "Input should be greater than or equal to 1",
            ),
            (
                "regions.0.cluster.system_pool.max_nodes",
                101,
                "Input should be less than or equal to 100",
            ),
            (
                "regions.0.cluster.gpu_pools.0.count",
                0,
                "Input should be greater than or equal to 1",
            ),
            (
                "regions.0.cluster.gpu_pools.0.count",
                257,
                "Input should be less than or equal to 256",
            ),
            (
                "regions.0.cluster.gpu_pools.0.min_nodes",
                -1,
                "Input should be greater than or equal to 0",
            ),
            (
                "regions.0.cluster.gpu_pools.0.max_nodes",
                0,
                "Input should be greater than or equal to 1",
            ),
            (
                "regions.0.cluster.gpu_pools.0.max_nodes",
                1001,
                "Input should be less than or equal to 1000",
            ),
            ("storage.noncurrent_version_days", 0, "Input should be greater than or equal to 1"),
            ("storage.noncurrent_version_days", 3651, "Input should be less than or equal to 3650"),
        ],
    )
    def test_beyond_the_limit_is_refused(self, dev_config, path, value, message):
        config = at(with_pools(dev_config, pool()), path, value)
        assert only_problem(config) == ("fleet." + _dotted_to_path(path), message)

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ("budget.max_accelerators", 0),
            ("regions.0.cluster.system_pool.min_nodes", 1),
            ("regions.0.cluster.system_pool.max_nodes", 100),
            ("storage.noncurrent_version_days", 1),
            ("storage.noncurrent_version_days", 3650),
        ],
    )
    def test_the_limit_itself_is_allowed(self, dev_config, path, value):
        fleet = parse_fleet(at(dev_config, path, value))
        node: Any = fleet
        for part in path.split("."):
            node = node[int(part)] if part.isdigit() else getattr(node, part)
        assert node == value

    def test_a_one_node_system_pool_is_allowed(self, dev_config):
        system = {"min_nodes": 1, "max_nodes": 1}
        dev_config["regions"][0]["cluster"] = {"system_pool": system}
        assert parse_fleet(dev_config).regions[0].cluster.system_pool.max_nodes == 1

    def test_a_pool_may_reach_a_thousand_nodes(self, dev_config):
        dev_config["budget"]["max_accelerators"] = 1000
        fleet = parse_fleet(with_pools(dev_config, pool(max_nodes=1000)))
        assert fleet.max_accelerators() == 1000

    def test_256_accelerators_per_node_reach_the_catalog(self, dev_config):
        # 256 passes the field limit, so the catalog answers: no such node.
        assert only_problem(with_pools(dev_config, pool(count=256))) == (
            "fleet.regions[0].cluster.gpu_pools[0].accelerator",
            "aws offers 'nvidia-l4' with 1, 4, 8 per node, not 256",
        )

    def test_six_zones_pass_the_field_limit_and_meet_the_catalog(self, dev_config):
        dev_config["regions"][0]["zones"] = 6
        assert only_problem(dev_config) == (
            "fleet.regions[0].zones",
            "us-east-1 has 5 zones in the catalog, not 6",
        )

    def test_one_zone_is_enough_on_gcp(self, dev_config):
        config = with_gcp(dev_config, zones=1)
        assert parse_fleet(config).regions[1].zone_names == ("us-central1-a",)

    @pytest.mark.parametrize("days", CLOUDWATCH_PERIODS)
    def test_every_cloudwatch_retention_period_is_allowed(self, dev_config, days):
        dev_config["regions"][0]["network"] = {"flow_log_retention_days": days}
        assert parse_fleet(dev_config).regions[0].network.flow_log_retention_days == days


def _dotted_to_path(dotted: str) -> str:
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in dotted.split(".")).lstrip(".")


# Property-based: whatever a user writes, parse_fleet either returns a FleetSpec or raises
# SpecError with located messages; nothing else escapes.
cidrs = st.builds(
    lambda a, b, prefix: f"{a}.{b}.0.0/{prefix}",
    st.sampled_from([10, 172, 192, 100, 8]),
    st.integers(0, 255),
    st.integers(8, 28),
)
region_dicts = st.fixed_dictionaries(
    {
        "cloud": st.sampled_from(["aws", "gcp", "azure"]),
        "region": st.sampled_from(
            ["us-east-1", "us-west-2", "us-central1", "europe-west4", "mars"]
        ),
        "cidr": cidrs,
    },
    optional={
        "zones": st.integers(-1, 8),
        "pods_cidr": cidrs,
        "services_cidr": cidrs,
        "cluster": st.fixed_dictionaries(
            {},
            optional={
                "gpu_pools": st.lists(
                    st.fixed_dictionaries(
                        {
                            "name": st.sampled_from(["a", "b", "B!"]),
                            "accelerator": st.sampled_from(
                                ["nvidia-l4", "nvidia-h100-80gb", "tpu-v5e", "nope"]
                            ),
                        },
                        optional={
                            "count": st.integers(0, 9),
                            "min_nodes": st.integers(-1, 5),
                            "max_nodes": st.integers(0, 5),
                            "spot": st.booleans(),
                        },
                    ),
                    max_size=3,
                ),
                "public_access_cidrs": st.lists(cidrs | st.just("0.0.0.0/0"), max_size=2),
            },
        ),
    },
)
fleet_dicts = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["llm", "LLM", "a-b", ""]),
        "environment": st.sampled_from(["dev", "prod", "qa"]),
        "owner": st.just("team"),
        "cost_center": st.just("cc"),
        "budget": st.fixed_dictionaries(
            {"monthly_usd": st.floats(-1, 1e6, allow_nan=False)},
            optional={"max_accelerators": st.integers(-1, 100)},
        ),
        "regions": st.lists(region_dicts, max_size=3),
    },
    optional={"gcp_project": st.just("my-project-1"), "bogus": st.none()},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet_dicts)
def test_any_config_parses_or_fails_with_located_messages(raw):
    try:
        fleet = parse_fleet(raw)
    except SpecError as error:
        assert error.problems
        for path, message in error.problems:
            assert path.startswith("fleet")
            assert message
    else:
        assert isinstance(fleet, FleetSpec)


class TestPoolZones:
    """Accelerators exist only in some zones: pools go exactly where their type is offered."""

    def gcp_pool(self, dev_config, region: str, zones: int, **fields: Any) -> dict:
        config = with_gcp(dev_config, region=region, zones=zones)
        config["budget"]["max_accelerators"] = 1000
        return with_pools(config, pool(**fields), region=1)

    def test_a_gpu_pool_takes_the_cluster_zones_offering_its_type(self, dev_config):
        fleet = parse_fleet(self.gcp_pool(dev_config, "us-west4", 3))
        region = fleet.regions[1]
        # g2 (L4) is offered in us-west4-a and -c, not -b.
        assert region.pool_zones(region.cluster.gpu_pools[0]) == ("us-west4-a", "us-west4-c")

    def test_a_tpu_slice_takes_one_zone_that_offers_it(self, dev_config):
        fleet = parse_fleet(
            self.gcp_pool(dev_config, "us-central1", 3, accelerator="tpu-v6e", count=4)
        )
        region = fleet.regions[1]
        assert region.pool_zones(region.cluster.gpu_pools[0]) == ("us-central1-b",)

    def test_a_tpu_slice_takes_only_the_first_of_several_zones_offering_it(self, dev_config):
        fleet = parse_fleet(
            self.gcp_pool(dev_config, "us-east5", 3, accelerator="tpu-v6e", count=4)
        )
        region = fleet.regions[1]
        tpu = region.cluster.gpu_pools[0]
        # us-east5-a and -b offer ct6e-standard-4t; a slice lives in one zone.
        assert region.pool_zones(tpu) == ("us-east5-a",)
        assert region.slice_hosts(tpu) == 1

    def test_a_gpu_pool_is_one_host_per_node(self, dev_config):
        fleet = parse_fleet(self.gcp_pool(dev_config, "us-west4", 3))
        region = fleet.regions[1]
        assert region.slice_hosts(region.cluster.gpu_pools[0]) == 1

    def test_the_hint_counts_the_zones_up_to_the_first_offering_the_type(self, dev_config):
        raw = self.gcp_pool(dev_config, "us-central1", 1, accelerator="tpu-v6e", count=4)
        assert only_problem(raw) == (
            "fleet.regions[1].cluster.gpu_pools[0].accelerator",
            "ct6e-standard-4t is offered in us-central1 only in us-central1-b, none of the "
            "cluster's zones (us-central1-a); set zones to 2 or more to span one",
        )

    def test_the_hint_names_the_first_of_several_zones_offering_the_type(self, dev_config):
        raw = self.gcp_pool(dev_config, "europe-west4", 1, accelerator="nvidia-h100-80gb", count=8)
        assert only_problem(raw) == (
            "fleet.regions[1].cluster.gpu_pools[0].accelerator",
            "a3-highgpu-8g is offered in europe-west4 only in europe-west4-b, europe-west4-c, "
            "none of the cluster's zones (europe-west4-a); set zones to 2 or more to span one",
        )

    def test_a_region_whose_cluster_zones_lack_the_type_is_refused_naming_the_zones(
        self, dev_config
    ):
        raw = self.gcp_pool(dev_config, "us-east1", 2, accelerator="tpu-v6e", count=4)
        assert only_problem(raw) == (
            "fleet.regions[1].cluster.gpu_pools[0].accelerator",
            "ct6e-standard-4t is offered in us-east1 only in us-east1-d, none of the cluster's "
            "zones (us-east1-b, us-east1-c); set zones to 3 or more to span one",
        )

    def test_an_explicit_instance_type_is_checked_the_same_way(self, dev_config):
        raw = self.gcp_pool(
            dev_config,
            "us-east1",
            2,
            accelerator="tpu-v6e",
            count=4,
            instance_type="ct6e-standard-4t",
        )
        path, message = only_problem(raw)
        assert path == "fleet.regions[1].cluster.gpu_pools[0].instance_type"
        assert "only in us-east1-d" in message

    def test_aws_pools_span_the_cluster_zones(self, dev_config):
        raw = with_pools(dev_config, pool(accelerator="nvidia-h100-80gb", count=8, max_nodes=1))
        raw["budget"]["max_accelerators"] = 8
        region = parse_fleet(raw).regions[0]
        assert region.pool_zones(region.cluster.gpu_pools[0]) == region.zone_names


GCP_OFFERINGS = sorted(
    (region, t.accelerator, t.accelerator_count)
    for t in catalog.instance_types("gcp")
    for region in t.regions
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(GCP_OFFERINGS), st.integers(1, 4))
def test_pool_zones_are_a_non_empty_subset_of_the_zones_offering_the_type(offering, zones):
    """Every catalog region and accelerator: a pool either lands only in zones offering its type
    or the spec refuses it, naming the zones that do."""
    region_name, accelerator, count = offering
    if zones > len(catalog.region("gcp", region_name).zones):
        return
    raw = with_gcp(
        {
            "name": "prop",
            "environment": "dev",
            "owner": "team",
            "cost_center": "cc",
            "budget": {"monthly_usd": 1e9, "max_accelerators": 10_000},
            "regions": [],
        },
        region=region_name,
        zones=zones,
        # Spot: every GCP type is sold that way (A3 Ultra is never plain on-demand).
        cluster={"gpu_pools": [pool(accelerator=accelerator, count=count, capacity="spot")]},
    )
    machine = catalog.resolve("gcp", accelerator, count, region_name)
    offered = machine.zones_in(region_name)
    try:
        fleet = parse_fleet(raw)
    except SpecError as error:
        (path, message), *_ = error.problems
        assert path == "fleet.regions[0].cluster.gpu_pools[0].accelerator"
        assert f"only in {', '.join(offered)}" in message
        assert not set(offered) & set(catalog.region("gcp", region_name).zones[:zones])
        return
    region = fleet.regions[0]
    placed = region.pool_zones(region.cluster.gpu_pools[0])
    assert placed
    assert set(placed) <= set(offered)
    assert set(placed) <= set(region.zone_names)


class TestCapacity:
    """How a pool's nodes are obtained: only the ways the cloud sells its type."""

    def aws(self, dev_config, **fields: Any) -> dict:
        return with_pools(dev_config, pool(**fields))

    def gcp(self, dev_config, **fields: Any) -> dict:
        config = with_gcp(dev_config)
        config["budget"]["max_accelerators"] = 100
        return with_pools(config, pool(**fields), region=1)

    def test_spot_is_the_spot_capacity_kind(self, dev_config):
        parsed = parse_fleet(self.aws(dev_config, spot=True)).regions[0].cluster.gpu_pools[0]
        assert (parsed.capacity, parsed.spot) == ("spot", True)
        parsed = parse_fleet(self.aws(dev_config, capacity="spot")).regions[0].cluster.gpu_pools[0]
        assert parsed.spot is True

    def test_on_demand_is_the_default(self, dev_config):
        parsed = parse_fleet(self.aws(dev_config)).regions[0].cluster.gpu_pools[0]
        assert (parsed.capacity, parsed.spot) == ("on-demand", False)

    def test_spot_and_another_capacity_contradict(self, dev_config):
        raw = self.aws(dev_config, spot=True, capacity="on-demand")
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.gpu_pools[0].capacity",
            "'on-demand' contradicts spot: true; keep one of them",
        )

    def test_on_demand_a3_ultra_is_refused_naming_how_it_is_sold(self, dev_config):
        raw = self.gcp(dev_config, accelerator="nvidia-h200", count=8)
        assert only_problem(raw) == (
            "fleet.regions[1].cluster.gpu_pools[0].capacity",
            "a3-ultragpu-8g is not sold as on-demand capacity; it is offered as: spot, "
            "flex-start, reservation",
        )

    def test_a3_ultra_from_a_reservation_parses(self, dev_config):
        raw = self.gcp(
            dev_config,
            accelerator="nvidia-h200",
            count=8,
            capacity="reservation",
            reservation="projects/shared-capacity/reservations/h200-block",
        )
        parsed = parse_fleet(raw).regions[1].cluster.gpu_pools[0]
        assert parsed.reservation == "projects/shared-capacity/reservations/h200-block"

    def test_a_capacity_block_on_a_type_without_blocks_is_refused(self, dev_config):
        raw = self.aws(dev_config, capacity="capacity-block", reservation="cr-0123456789abcdef0")
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.gpu_pools[0].capacity",
            "g6.xlarge is not sold as capacity-block capacity; it is offered as: on-demand, spot, "
            "reservation",
        )

    def test_spot_may_be_stated_both_ways_at_once(self, dev_config):
        parsed = parse_fleet(self.aws(dev_config, spot=True, capacity="spot"))
        gpu = parsed.regions[0].cluster.gpu_pools[0]
        assert (gpu.spot, gpu.capacity) == (True, "spot")

    def test_a_capacity_block_keeps_its_reserved_nodes_up(self, dev_config):
        raw = self.aws(
            dev_config,
            accelerator="nvidia-h100-80gb",
            count=8,
            instance_type="p5.48xlarge",
            capacity="capacity-block",
            reservation="cr-0123456789abcdef0",
            min_nodes=1,
            max_nodes=1,
        )
        gpu = parse_fleet(raw).regions[0].cluster.gpu_pools[0]
        assert (gpu.capacity, gpu.min_nodes) == ("capacity-block", 1)

    def test_flex_start_is_gke_only(self, dev_config):
        path, message = only_problem(self.aws(dev_config, capacity="flex-start"))
        assert path == "fleet.regions[0].cluster.gpu_pools[0].capacity"
        assert message.startswith("g6.xlarge is not sold as flex-start capacity")

    def test_flex_start_pools_keep_no_idle_nodes(self, dev_config):
        raw = self.gcp(dev_config, capacity="flex-start", min_nodes=1)
        assert only_problem(raw) == (
            "fleet.regions[1].cluster.gpu_pools[0].min_nodes",
            "flex-start nodes come and go with free capacity: use 0 and let the pool scale",
        )

    def test_a_reservation_needs_its_name(self, dev_config):
        assert only_problem(self.aws(dev_config, capacity="reservation")) == (
            "fleet.regions[0].cluster.gpu_pools[0].reservation",
            "required with capacity reservation: name the reservation",
        )

    def test_a_reservation_name_needs_reserved_capacity(self, dev_config):
        assert only_problem(self.aws(dev_config, reservation="cr-0123456789abcdef0")) == (
            "fleet.regions[0].cluster.gpu_pools[0].reservation",
            "only with capacity reservation or capacity-block, not on-demand",
        )

    @pytest.mark.parametrize(
        ("cloud", "name", "example"),
        [
            ("aws", "my-reservation", "cr-0123456789abcdef0"),
            ("gcp", "H200_Block", "my-reservation or projects/"),
        ],
    )
    def test_a_reservation_name_must_fit_its_cloud(self, dev_config, cloud, name, example):
        build = self.aws if cloud == "aws" else self.gcp
        path, message = only_problem(build(dev_config, capacity="reservation", reservation=name))
        assert path.endswith(".gpu_pools[0].reservation")
        assert message.startswith(f"'{name}' is not a {cloud} reservation; use one like {example}")


class TestDayTwo:
    """Node images, upgrades and maintenance windows."""

    def cluster(self, config: dict, **fields: Any) -> dict:
        config["regions"][0]["cluster"] = fields
        return config

    def test_gpu_node_images_are_pinned_by_default(self, dev_config):
        cluster = parse_fleet(dev_config).regions[0].cluster
        assert cluster.node_image == EKS_NODE_IMAGE
        assert re.fullmatch(r"al2023@v\d{8}", EKS_NODE_IMAGE)

    def test_latest_node_images_are_allowed_outside_prod(self, dev_config):
        raw = self.cluster(dev_config, node_image="al2023@latest")
        assert parse_fleet(raw).regions[0].cluster.node_image == "al2023@latest"

    def test_latest_node_images_are_allowed_in_staging(self, dev_config):
        dev_config["environment"] = "staging"
        raw = self.cluster(dev_config, node_image="al2023@latest")
        assert parse_fleet(raw).regions[0].cluster.node_image == "al2023@latest"

    def test_latest_node_images_are_refused_in_prod(self, prod_config):
        prod_config["regions"][0]["cluster"] = {"node_image": "al2023@latest"}
        assert only_problem(prod_config) == (
            "fleet.regions[0].cluster.node_image",
            "al2023@latest lets AWS roll any new AMI onto prod GPU nodes; pin a release such "
            f"as {EKS_NODE_IMAGE}",
        )

    def test_a_gcp_region_s_node_image_is_not_judged(self, prod_config):
        # GKE picks its own node images: node_image is an EKS AMI alias.
        prod_config["regions"][2]["cluster"] = {"node_image": "al2023@latest"}
        assert parse_fleet(prod_config).regions[2].cluster.node_image == "al2023@latest"

    def test_node_images_are_al2023_aliases(self, dev_config):
        path, message = only_problem(self.cluster(dev_config, node_image="bottlerocket@latest"))
        assert path == "fleet.regions[0].cluster.node_image"
        assert message.startswith("'bottlerocket@latest' is not allowed")

    def test_prod_control_planes_take_extended_support(self, prod_config, dev_config):
        assert {r.cluster.eks_support for r in parse_fleet(prod_config).regions} == {"EXTENDED"}
        assert parse_fleet(dev_config).regions[0].cluster.eks_support == "STANDARD"

    def test_staging_control_planes_take_standard_support(self, dev_config):
        dev_config["environment"] = "staging"
        assert parse_fleet(dev_config).regions[0].cluster.eks_support == "STANDARD"

    def test_the_default_maintenance_window_is_weekend_nights_utc(self, dev_config):
        window = parse_fleet(dev_config).regions[0].cluster.maintenance_window
        assert (window.days, window.start, window.hours) == (["SA", "SU"], "02:00", 8)

    def test_a_window_too_short_for_gke_is_refused(self, dev_config):
        raw = self.cluster(dev_config, maintenance_window={"days": ["SU"], "hours": 6})
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_window.hours",
            "1 day(s) x 6 h gives 27 h in 32 days; GKE needs 48: add days or hours",
        )

    def test_the_hours_in_32_days_are_rounded_to_the_nearest_hour(self, dev_config):
        # 2 days x 5 h x 32 / 7 = 45.7 h.
        raw = self.cluster(dev_config, maintenance_window={"days": ["SA", "SU"], "hours": 5})
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_window.hours",
            "2 day(s) x 5 h gives 46 h in 32 days; GKE needs 48: add days or hours",
        )

    def test_a_window_needs_a_day(self, dev_config):
        raw = self.cluster(dev_config, maintenance_window={"days": []})
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_window.days",
            "List should have at least 1 item after validation, not 0",
        )

    def test_a_window_is_at_least_4_hours_even_every_day(self, dev_config):
        days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        raw = self.cluster(dev_config, maintenance_window={"days": days, "hours": 3})
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_window.hours",
            "Input should be greater than or equal to 4",
        )

    def test_window_days_are_kept_in_week_order_and_unique(self, dev_config):
        raw = self.cluster(dev_config, maintenance_window={"days": ["SU", "WE"], "hours": 12})
        window = parse_fleet(raw).regions[0].cluster.maintenance_window
        assert window.days == ["WE", "SU"]
        raw = self.cluster(dev_config, maintenance_window={"days": ["SU", "SU"]})
        assert only_problem(raw)[0] == "fleet.regions[0].cluster.maintenance_window.days"

    def test_exclusions_end_after_they_start_and_full_freezes_last_30_days(self, dev_config):
        exclusion = {"name": "freeze", "start": "2026-12-20T00:00:00Z"}
        raw = self.cluster(
            copy.deepcopy(dev_config),
            maintenance_exclusions=[{**exclusion, "end": "2026-12-19T00:00:00Z"}],
        )
        assert only_problem(raw)[0] == "fleet.regions[0].cluster.maintenance_exclusions[0].end"
        raw = self.cluster(
            dev_config,
            maintenance_exclusions=[
                {**exclusion, "end": "2027-02-01T00:00:00Z", "scope": "NO_UPGRADES"}
            ],
        )
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_exclusions[0].end",
            "NO_UPGRADES lasts at most 30 days in GKE",
        )

    def test_an_exclusion_ending_when_it_starts_is_refused(self, dev_config):
        moment = "2026-12-20T00:00:00Z"
        exclusion = {"name": "freeze", "start": moment, "end": moment}
        raw = self.cluster(dev_config, maintenance_exclusions=[exclusion])
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_exclusions[0].end",
            "2026-12-20T00:00:00+00:00 is not after start",
        )

    def test_windows_of_4_to_24_hours(self, dev_config):
        raw = self.cluster(
            copy.deepcopy(dev_config), maintenance_window={"days": ["FR", "SA", "SU"], "hours": 4}
        )
        assert parse_fleet(raw).regions[0].cluster.maintenance_window.hours == 4
        raw = self.cluster(
            copy.deepcopy(dev_config),
            maintenance_window={"days": ["MO", "TU", "WE", "TH", "FR", "SA"], "hours": 24},
        )
        assert parse_fleet(raw).regions[0].cluster.maintenance_window.hours == 24
        raw = self.cluster(
            copy.deepcopy(dev_config), maintenance_window={"days": ["SA", "SU"], "hours": 3}
        )
        assert only_problem(raw)[0] == "fleet.regions[0].cluster.maintenance_window.hours"
        raw = self.cluster(dev_config, maintenance_window={"days": ["SA", "SU"], "hours": 25})
        assert only_problem(raw)[0] == "fleet.regions[0].cluster.maintenance_window.hours"

    def test_a_window_every_day(self, dev_config):
        days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        raw = self.cluster(dev_config, maintenance_window={"days": days, "hours": 8})
        assert parse_fleet(raw).regions[0].cluster.maintenance_window.days == days

    def test_an_always_open_window_is_refused(self, dev_config):
        days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        raw = self.cluster(dev_config, maintenance_window={"days": days, "hours": 24})
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_window.hours",
            "an always-open window is no window; use fewer hours",
        )

    @pytest.mark.parametrize(
        ("end", "scope"),
        [
            ("2026-12-27T00:00:00Z", "NO_UPGRADES"),
            ("2027-01-19T00:00:00Z", "NO_UPGRADES"),
            ("2027-01-20T00:00:00Z", "NO_MINOR_UPGRADES"),
            ("2027-06-20T00:00:00Z", "NO_MINOR_OR_NODE_UPGRADES"),
        ],
    )
    def test_a_full_freeze_of_30_days_and_longer_partial_ones(self, dev_config, end, scope):
        exclusion = {"name": "freeze", "start": "2026-12-20T00:00:00Z", "end": end, "scope": scope}
        raw = self.cluster(dev_config, maintenance_exclusions=[exclusion])
        [parsed] = parse_fleet(raw).regions[0].cluster.maintenance_exclusions
        assert parsed.scope == scope

    def test_a_full_freeze_of_31_days_is_refused(self, dev_config):
        exclusion = {
            "name": "freeze",
            "start": "2026-12-20T00:00:00Z",
            "end": "2027-01-20T00:00:00Z",
            "scope": "NO_UPGRADES",
        }
        raw = self.cluster(dev_config, maintenance_exclusions=[exclusion])
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_exclusions[0].end",
            "NO_UPGRADES lasts at most 30 days in GKE",
        )

    def test_exclusion_times_need_a_time_zone(self, dev_config):
        exclusion = {
            "name": "freeze",
            "start": "2026-12-20T00:00:00",
            "end": "2026-12-21T00:00:00Z",
        }
        raw = self.cluster(dev_config, maintenance_exclusions=[exclusion])
        assert only_problem(raw) == (
            "fleet.regions[0].cluster.maintenance_exclusions[0].start",
            "give a time zone, e.g. 2026-12-20T00:00:00Z",
        )


class TestReservedNames:
    @pytest.mark.parametrize("prefix", ["xn--", "sthree-", "amzn-s3-demo-"])
    def test_s3_reserved_prefixes(self, dev_config, prefix):
        dev_config["name"] = f"{prefix}llm"
        assert only_problem(dev_config) == (
            "fleet.name",
            f"'{prefix}llm' starts with '{prefix}', which S3 reserves for bucket names (the fleet "
            "name starts every bucket name)",
        )

    def test_gcs_refuses_a_goog_prefix_in_a_fleet_with_gcp_regions(self, dev_config):
        config = with_gcp(dev_config)
        config["name"] = "goog-llm"
        assert only_problem(config) == (
            "fleet.name",
            "'goog-llm' starts with 'goog', which GCS refuses in bucket names (the fleet name "
            "starts every bucket name)",
        )

    def test_an_aws_only_fleet_may_start_with_goog(self, dev_config):
        dev_config["name"] = "goog-llm"
        assert parse_fleet(dev_config).name == "goog-llm"


class TestTags:
    def test_a_bad_key_and_a_bad_value_each_get_their_hint(self, dev_config):
        dev_config["tags"] = {"Team": "Bad Value"}
        assert problems(dev_config) == [
            (
                "fleet.tags.Team",
                "'Team' is not allowed; use lowercase letters, digits, '-' and '_', at most 63, "
                "starting with a letter, e.g. 'team' or 'data_class' (no ':' or capitals; AWS "
                "reserves the 'aws:' prefix)",
            ),
            (
                "fleet.tags.Team",
                "'Bad Value' is not allowed; use lowercase letters, digits, '-' and '_', at most "
                "63, starting and ending with a letter or digit, e.g. 'search' or 'pci-dss'",
            ),
        ]

    def test_a_tag_the_fleet_sets_itself_is_refused(self, dev_config):
        dev_config["tags"] = {"team": "inference", "owner": "someone-else"}
        assert only_problem(dev_config) == (
            "fleet.tags.owner",
            "'owner' is a tag the fleet sets itself (owner: ml-platform); remove it from "
            "fleet.tags",
        )

    def test_aws_leaves_room_for_39_tags(self, dev_config):
        dev_config["tags"] = {f"t{i}": "x" for i in range(39)}
        assert len(parse_fleet(copy.deepcopy(dev_config)).tags) == 39
        dev_config["tags"]["t39"] = "x"
        assert only_problem(dev_config) == (
            "fleet.tags",
            "40 tags, but at most 39 fit: aws allows 50 tags per resource, the fleet sets 5 "
            "itself and its components add up to 6 more",
        )

    def test_gcp_leaves_room_for_53_labels(self, dev_config):
        config = with_gcp(dev_config)
        del config["regions"][0]
        config["tags"] = {f"t{i}": "x" for i in range(53)}
        assert len(parse_fleet(copy.deepcopy(config)).tags) == 53
        config["tags"]["t53"] = "x"
        assert only_problem(config) == (
            "fleet.tags",
            "54 tags, but at most 53 fit: gcp allows 64 labels per resource, the fleet sets 5 "
            "itself and its components add up to 6 more",
        )


class TestPodsRange:
    def gcp(self, config: dict, pods_cidr: str, max_nodes: int) -> dict:
        config = with_gcp(config, pods_cidr=pods_cidr)
        config["regions"][1]["cluster"] = {"gpu_pools": [pool(max_nodes=max_nodes)]}
        config["budget"]["max_accelerators"] = 64
        return config

    def test_a_range_holding_exactly_the_cluster_s_nodes(self, dev_config):
        # A /21 holds eight /24 node ranges: the six system nodes and two GPU nodes.
        fleet = parse_fleet(self.gcp(dev_config, "10.128.0.0/21", 2))
        assert fleet.regions[1].max_nodes() == 8

    @pytest.mark.parametrize(
        ("pods_cidr", "max_nodes", "holds", "needed", "prefix"),
        [
            ("10.128.0.0/21", 3, 8, 9, 20),
            ("10.128.0.0/20", 20, 16, 26, 19),
            ("10.128.0.0/21", 30, 8, 36, 18),
        ],
    )
    def test_a_range_too_small_names_the_size_needed(
        self, dev_config, pods_cidr, max_nodes, holds, needed, prefix
    ):
        assert only_problem(self.gcp(dev_config, pods_cidr, max_nodes)) == (
            "fleet.regions[1].pods_cidr",
            f"{pods_cidr} holds pod ranges for {holds} nodes at 110 pods per node (a /24 each), "
            f"but the cluster reaches {needed} nodes (system pool and every gpu pool at "
            f"max_nodes); use a /{prefix} or larger",
        )


def _pattern_fields(model: type[BaseModel], seen: set) -> set[str]:
    """Names of every field in the model tree that a regular expression constrains."""
    if model in seen:
        return set()
    seen.add(model)
    found = set()
    for name, info in model.model_fields.items():
        constraints = [*info.metadata, *_annotation_metadata(info.annotation)]
        if any(getattr(m, "pattern", None) for m in constraints):
            found.add(name)
        for nested in _models_in(info.annotation):
            found |= _pattern_fields(nested, seen)
    return found


def _annotation_metadata(annotation: Any) -> list[Any]:
    found = list(getattr(annotation, "__metadata__", ()))
    for arg in get_args(annotation):
        found += _annotation_metadata(arg)
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def test_every_pattern_field_has_a_human_hint_with_an_example():
    fields = _pattern_fields(FleetSpec, set())
    assert {"gcp_project", "tpu_topology", "version", "domain"} <= fields
    for name in fields - {"tags"}:  # a tag's key and value have their own hints
        assert "e.g." in _PATTERN_HINTS[name], name
    for hint in ("tag key", "tag value"):
        assert "e.g." in _PATTERN_HINTS[hint]
