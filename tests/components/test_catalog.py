"""The accelerator catalog: its data is complete and consistent, and lookups explain failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from urllib.parse import urlparse

import pytest

from llmfleet.components import catalog
from llmfleet.components.catalog import CatalogError, InstanceType

ALL_TYPES = [t for cloud in catalog.CLOUDS for t in catalog.instance_types(cloud)]
TPU_TYPES = [t for t in ALL_TYPES if catalog.accelerator(t.accelerator).kind == "tpu"]
GCP_GPU_TYPES = [t for t in ALL_TYPES if t.cloud == "gcp" and t not in TPU_TYPES]
AWS_TYPES = [t for t in ALL_TYPES if t.cloud == "aws"]


def type_id(t: InstanceType) -> str:
    return f"{t.cloud}:{t.name}"


def offered_regions(cloud: catalog.Cloud, accelerator: str, count: int) -> list[str]:
    return sorted(
        {
            region
            for t in catalog.instance_types(cloud, accelerator)
            if t.accelerator_count == count
            for region in t.regions
        }
    )


def test_the_catalog_covers_every_accelerator_family_it_was_asked_for():
    assert set(catalog.accelerators()) == {
        "nvidia-l4",
        "nvidia-a10g",
        "nvidia-l40s",
        "nvidia-a100-40gb",
        "nvidia-a100-80gb",
        "nvidia-h100-80gb",
        "nvidia-h200",
        "tpu-v5e",
        "tpu-v6e",
    }


def test_every_accelerator_is_carried_by_some_instance_type():
    carried = {t.accelerator for t in ALL_TYPES}
    assert carried == set(catalog.accelerators())


@pytest.mark.parametrize("t", ALL_TYPES, ids=type_id)
class TestEveryInstanceType:
    def test_names_a_catalog_accelerator(self, t: InstanceType):
        assert t.accelerator in catalog.accelerators()

    def test_has_a_positive_shape(self, t: InstanceType):
        assert t.accelerator_count > 0
        assert t.vcpu > 0
        assert t.memory_gib > 0
        assert t.local_nvme_gib >= 0

    def test_spot_is_positive_and_below_on_demand(self, t: InstanceType):
        assert t.on_demand_usd_hour > 0
        assert t.spot_usd_hour is None or 0 < t.spot_usd_hour < t.on_demand_usd_hour

    def test_is_offered_only_in_catalog_regions_of_its_cloud(self, t: InstanceType):
        assert t.regions, "a type offered nowhere is dead data"
        assert len(set(t.regions)) == len(t.regions)
        assert set(t.regions) <= set(catalog.regions(t.cloud))

    def test_prices_name_a_public_source_and_the_date_they_were_read(self, t: InstanceType):
        source = urlparse(t.price_source)
        assert source.scheme == "https" and source.netloc, t.price_source
        assert dt.date.fromisoformat(t.price_date) <= dt.date.today()


@pytest.mark.parametrize("t", TPU_TYPES, ids=type_id)
def test_tpu_types_are_gcp_slices_with_a_topology_matching_their_chips(t: InstanceType):
    assert t.cloud == "gcp"
    assert t.gke_accelerator is None
    assert t.tpu_topology is not None
    chips = math.prod(int(side) for side in t.tpu_topology.split("x"))
    assert chips == t.accelerator_count


@pytest.mark.parametrize("t", GCP_GPU_TYPES, ids=type_id)
def test_gcp_gpu_types_name_their_gke_guest_accelerator(t: InstanceType):
    assert t.gke_accelerator and t.gke_accelerator.startswith("nvidia-")
    assert t.tpu_topology is None


@pytest.mark.parametrize("t", AWS_TYPES, ids=type_id)
def test_aws_types_carry_no_gcp_attachment_fields(t: InstanceType):
    assert t.gke_accelerator is None
    assert t.tpu_topology is None


def test_gke_accelerator_strings_per_machine_family():
    by_family = {t.name.rsplit("-", 1)[0]: t.gke_accelerator for t in GCP_GPU_TYPES}
    assert by_family == {
        "g2-standard": "nvidia-l4",
        "a2-highgpu": "nvidia-tesla-a100",
        "a2-ultragpu": "nvidia-a100-80gb",
        "a3-highgpu": "nvidia-h100-80gb",
        "a3-megagpu": "nvidia-h100-mega-80gb",
        "a3-ultragpu": "nvidia-h200-141gb",
    }


class TestRegions:
    @pytest.mark.parametrize("cloud", catalog.CLOUDS)
    def test_zones_are_unique_and_belong_to_their_region(self, cloud):
        for name, region in catalog.regions(cloud).items():
            assert region.zones, name
            assert len(set(region.zones)) == len(region.zones), name
            assert all(zone.startswith(name) for zone in region.zones), name

    @pytest.mark.parametrize(
        ("cloud", "region"),
        [
            ("aws", "us-east-1"),
            ("aws", "us-west-2"),
            ("gcp", "us-central1"),
            ("gcp", "us-east4"),
            ("gcp", "europe-west4"),
        ],
    )
    def test_example_stack_regions_offer_l4s_and_h100s(self, cloud, region):
        assert catalog.resolve(cloud, "nvidia-l4", 1, region)
        assert catalog.resolve(cloud, "nvidia-h100-80gb", 8, region)

    def test_eu_west_1_offers_a10g_but_neither_l4_nor_h100(self):
        assert catalog.resolve("aws", "nvidia-a10g", 1, "eu-west-1").name == "g5.xlarge"
        for accelerator, count in (("nvidia-l4", 1), ("nvidia-h100-80gb", 8)):
            with pytest.raises(CatalogError, match="is not offered in aws eu-west-1"):
                catalog.resolve("aws", accelerator, count, "eu-west-1")

    def test_us_central1_offers_a_tpu_v5e_slice(self):
        assert catalog.resolve("gcp", "tpu-v5e", 4, "us-central1").name == "ct5lp-hightpu-4t"


class TestGpuMemory:
    @pytest.mark.parametrize(
        ("cloud", "name", "gib"),
        [
            ("aws", "g5.xlarge", 24),
            ("aws", "p5.48xlarge", 640),
            ("aws", "p5en.48xlarge", 1128),
            ("gcp", "g2-standard-96", 192),
            ("gcp", "a2-ultragpu-8g", 640),
            ("gcp", "ct6e-standard-8t", 256),
        ],
    )
    def test_is_accelerator_memory_times_count(self, cloud, name, gib):
        assert catalog.instance_type(cloud, name).gpu_memory_gib == gib


class TestResolve:
    @pytest.mark.parametrize("t", ALL_TYPES, ids=type_id)
    def test_picks_the_cheapest_type_with_that_count_in_the_region(self, t: InstanceType):
        for region in t.regions:
            chosen = catalog.resolve(t.cloud, t.accelerator, t.accelerator_count, region)
            assert chosen.accelerator == t.accelerator
            assert chosen.accelerator_count == t.accelerator_count
            assert region in chosen.regions
            assert chosen.on_demand_usd_hour <= t.on_demand_usd_hour

    @pytest.mark.parametrize(
        ("cloud", "accelerator", "count", "region", "expected"),
        [
            ("aws", "nvidia-l4", 1, "us-east-1", "g6.xlarge"),
            ("aws", "nvidia-h100-80gb", 8, "us-east-1", "p5.48xlarge"),
            ("aws", "nvidia-h200", 8, "us-east-2", "p5en.48xlarge"),
            ("gcp", "nvidia-l4", 1, "us-central1", "g2-standard-4"),
            ("gcp", "nvidia-h100-80gb", 8, "us-central1", "a3-highgpu-8g"),
            ("gcp", "tpu-v6e", 8, "europe-west4", "ct6e-standard-8t"),
        ],
    )
    def test_typical_requests(self, cloud, accelerator, count, region, expected):
        assert catalog.resolve(cloud, accelerator, count, region).name == expected

    def test_an_unoffered_count_names_the_counts_offered(self):
        with pytest.raises(CatalogError) as error:
            catalog.resolve("aws", "nvidia-l4", 3, "us-east-1")
        assert str(error.value) == "aws offers 'nvidia-l4' with 1, 4, 8 per node, not 3"

    def test_an_unoffered_region_names_the_regions_offered(self):
        offered = offered_regions("gcp", "tpu-v6e", 8)
        elsewhere = next(r for r in catalog.regions("gcp") if r not in offered)
        with pytest.raises(CatalogError) as error:
            catalog.resolve("gcp", "tpu-v6e", 8, elsewhere)
        assert str(error.value) == (
            f"'tpu-v6e' x8 is not offered in gcp {elsewhere}; offered in: {', '.join(offered)}"
        )

    def test_an_unknown_accelerator_names_the_known_ones(self):
        with pytest.raises(CatalogError) as error:
            catalog.resolve("aws", "nvidia-b200", 8, "us-east-1")
        message = str(error.value)
        assert message.startswith("unknown accelerator 'nvidia-b200'; known: ")
        assert all(name in message for name in catalog.accelerators())

    def test_an_accelerator_absent_from_the_cloud_names_what_it_offers(self):
        with pytest.raises(CatalogError) as error:
            catalog.resolve("aws", "tpu-v5e", 4, "us-east-1")
        aws_offers = sorted({t.accelerator for t in AWS_TYPES})
        assert str(error.value) == (
            f"accelerator 'tpu-v5e' is not offered on aws; aws offers: {', '.join(aws_offers)}"
        )
        assert not any(name.startswith("tpu-") for name in aws_offers)


class TestLookups:
    def test_an_unknown_instance_type_names_the_known_ones(self):
        with pytest.raises(CatalogError) as error:
            catalog.instance_type("gcp", "n1-standard-8")
        assert str(error.value).startswith("unknown gcp instance type 'n1-standard-8'; known: ")
        assert "a3-highgpu-8g" in str(error.value)

    def test_an_unknown_region_names_the_known_ones(self):
        with pytest.raises(CatalogError) as error:
            catalog.region("aws", "mars-east-1")
        assert str(error.value).startswith("unknown aws region 'mars-east-1'; known: ")
        assert "eu-north-1" in str(error.value)

    @pytest.mark.parametrize("cloud", catalog.CLOUDS)
    def test_types_are_listed_fewest_accelerators_first(self, cloud):
        counts = [t.accelerator_count for t in catalog.instance_types(cloud)]
        assert counts == sorted(counts)

    def test_hourly_price_is_spot_only_when_asked_and_offered(self):
        t = catalog.instance_type("aws", "g6.xlarge")
        assert t.hourly_usd(spot=True) == t.spot_usd_hour
        assert t.hourly_usd(spot=False) == t.on_demand_usd_hour
        no_spot = dataclasses.replace(t, spot_usd_hour=None)
        assert no_spot.hourly_usd(spot=True) == t.on_demand_usd_hour


class TestEachCloudSeesOnlyItsOwnEntries:
    def test_regions_of_one_cloud_exclude_the_other(self):
        aws, gcp = catalog.regions("aws"), catalog.regions("gcp")
        assert "us-east-1" in aws and "us-east-1" not in gcp
        assert "us-central1" in gcp and "us-central1" not in aws
        assert {r.cloud for r in aws.values()} == {"aws"}
        assert {r.cloud for r in gcp.values()} == {"gcp"}

    def test_instance_types_of_one_cloud_exclude_the_other(self):
        aws = {t.name for t in catalog.instance_types("aws")}
        gcp = {t.name for t in catalog.instance_types("gcp", "nvidia-l4")}
        assert "g6.xlarge" in aws and "g2-standard-4" not in aws
        assert "g2-standard-4" in gcp and "g6.xlarge" not in gcp

    def test_instance_types_filter_by_accelerator(self):
        assert [t.name for t in catalog.instance_types("aws", "nvidia-h100-80gb")] == [
            "p5.48xlarge"
        ]

    def test_an_instance_type_is_looked_up_on_its_own_cloud_only(self):
        assert catalog.instance_type("gcp", "g2-standard-4").cloud == "gcp"
        with pytest.raises(CatalogError) as error:
            catalog.instance_type("aws", "g2-standard-4")
        message = str(error.value)
        assert message.startswith("unknown aws instance type 'g2-standard-4'; known: g5.12xlarge, ")
        assert "g6.xlarge" in message and "a3-highgpu-8g" not in message

    def test_a_region_is_looked_up_on_its_own_cloud_only(self):
        assert catalog.region("gcp", "us-central1").zones[0] == "us-central1-a"
        with pytest.raises(CatalogError) as error:
            catalog.region("gcp", "us-east-1")
        message = str(error.value)
        assert message.startswith("unknown gcp region 'us-east-1'; known: asia-northeast1, ")
        assert "us-central1" in message and "eu-west-1" not in message

    def test_resolve_offers_only_the_asked_cloud(self):
        with pytest.raises(CatalogError) as error:
            catalog.resolve("gcp", "nvidia-a10g", 1, "us-central1")
        assert str(error.value).startswith(
            "accelerator 'nvidia-a10g' is not offered on gcp; gcp offers: nvidia-a100-40gb, "
        )
        with pytest.raises(CatalogError, match="is not offered in gcp us-east-1; offered in: "):
            catalog.resolve("gcp", "nvidia-l4", 1, "us-east-1")


@pytest.mark.parametrize("cloud", catalog.CLOUDS)
def test_each_cloud_has_a_general_purpose_system_instance_type(cloud):
    system = catalog.default_system_instance_type(cloud)
    assert system
    with pytest.raises(CatalogError):
        catalog.instance_type(cloud, system)


ZONED_TYPES = [t for t in ALL_TYPES if t.zones]
AWS_ZONE_ID = re.compile(r"^[a-z]+\d-az\d+$")


class TestZones:
    def test_every_type_of_both_clouds_has_per_zone_offerings(self):
        # GCP GPUs and TPUs, AWS P and G families alike: every pool gets a zone requirement.
        assert [type_id(t) for t in ALL_TYPES if not t.zones] == []

    @pytest.mark.parametrize("t", ZONED_TYPES, ids=type_id)
    def test_every_region_of_a_type_has_zones_offering_it_and_no_other_region_does(self, t):
        assert [region for region, _ in t.zones] == list(t.regions)
        assert all(zones for _, zones in t.zones)

    @pytest.mark.parametrize("t", [t for t in ZONED_TYPES if t.cloud == "gcp"], ids=type_id)
    def test_gcp_offerings_are_zones_the_catalog_knows_for_the_region(self, t):
        for region, zones in t.zones:
            assert set(zones) <= set(catalog.region("gcp", region).zones), region

    @pytest.mark.parametrize("t", [t for t in ZONED_TYPES if t.cloud == "aws"], ids=type_id)
    def test_aws_offerings_are_zone_ids(self, t):
        for _, zones in t.zones:
            assert all(AWS_ZONE_ID.match(zone) for zone in zones), zones

    @pytest.mark.parametrize("t", ZONED_TYPES, ids=type_id)
    def test_offerings_name_a_source_with_its_date(self, t):
        source = catalog.zone_sources()[t.zone_source]
        assert urlparse(source.url).scheme == "https"
        assert dt.date.fromisoformat(source.read) <= dt.date.today()

    def test_skypilot_data_keeps_its_licence(self):
        sources = catalog.zone_sources()
        assert {sources[key].licence for key in ("skypilot-gcp", "skypilot-aws")} == {"Apache-2.0"}

    @pytest.mark.parametrize(
        ("name", "region", "zones"),
        [
            # The examples: v6e is in us-central1-b, not -a; no L4 in us-west4-b;
            # a3-highgpu-8g only in europe-west4-b and -c.
            ("ct6e-standard-4t", "us-central1", ("us-central1-b",)),
            ("g2-standard-4", "us-west4", ("us-west4-a", "us-west4-c")),
            ("a3-highgpu-8g", "europe-west4", ("europe-west4-b", "europe-west4-c")),
        ],
    )
    def test_known_offerings(self, name, region, zones):
        assert catalog.instance_type("gcp", name).zones_in(region) == zones

    @pytest.mark.parametrize(
        ("name", "region", "zone_ids"),
        [
            # SkyPilot's catalog: no A10G in eu-north-1's first zone, no L4 in eu-central-1's,
            # L40S in only two zones of eu-central-1.
            ("g5.xlarge", "eu-north-1", ("eun1-az2", "eun1-az3")),
            ("g6.xlarge", "eu-central-1", ("euc1-az2", "euc1-az3")),
            ("g6e.48xlarge", "eu-central-1", ("euc1-az1", "euc1-az2")),
            ("g6.xlarge", "us-east-1", ("use1-az1", "use1-az2", "use1-az4", "use1-az6")),
        ],
    )
    def test_known_aws_g_offerings(self, name, region, zone_ids):
        t = catalog.instance_type("aws", name)
        assert t.zones_in(region) == zone_ids
        assert t.zone_source == "skypilot-aws"

    def test_a_region_without_the_type_offers_it_in_no_zone(self):
        assert catalog.instance_type("gcp", "ct6e-standard-4t").zones_in("us-west1") == ()

    def test_zones_offering_keeps_the_cluster_order_and_drops_zones_without_the_type(self):
        t = catalog.instance_type("gcp", "g2-standard-4")
        cluster = ("us-west4-c", "us-west4-b", "us-west4-a")
        assert catalog.zones_offering(t, "us-west4", cluster) == ("us-west4-c", "us-west4-a")


class TestCapacityOfferings:
    @pytest.mark.parametrize("t", ALL_TYPES, ids=type_id)
    def test_every_type_is_sold_some_known_ways_including_spot(self, t):
        assert t.capacity
        assert set(t.capacity) <= set(catalog.CAPACITY_KINDS)
        assert "spot" in t.capacity

    def test_flex_start_is_gcp_and_capacity_blocks_are_aws_p_types(self):
        assert {t.cloud for t in ALL_TYPES if "flex-start" in t.capacity} == {"gcp"}
        blocks = {t.name for t in ALL_TYPES if "capacity-block" in t.capacity}
        assert blocks == {"p4d.24xlarge", "p5.48xlarge", "p5en.48xlarge"}

    def test_a3_ultra_is_never_plain_on_demand(self):
        assert catalog.instance_type("gcp", "a3-ultragpu-8g").capacity == (
            "spot",
            "flex-start",
            "reservation",
        )


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_the_default_system_type_is_a_listed_general_purpose_type(cloud):
    assert catalog.default_system_instance_type(cloud) in catalog.general_purpose_types(cloud)


class TestLookupsOfTheOtherCloud:
    def test_an_unknown_gcp_type_names_only_gcp_types(self):
        with pytest.raises(CatalogError) as error:
            catalog.instance_type("gcp", "g6.xlarge")
        message = str(error.value)
        assert message.startswith("unknown gcp instance type 'g6.xlarge'; known: a2-highgpu-1g, ")
        assert "g2-standard-4" in message and "p5.48xlarge" not in message


class TestGeneralPurposeAndServicePrices:
    def test_a_general_purpose_type(self):
        assert catalog.general_purpose_type("aws", "m7i.xlarge") == catalog.GeneralPurposeType(
            cloud="aws",
            name="m7i.xlarge",
            vcpu=4,
            memory_gib=16,
            on_demand_usd_hour=0.2016,
            price_source="https://aws.amazon.com/ec2/pricing/on-demand/",
            price_date="2026-11-28",
        )

    @pytest.mark.parametrize(("cloud", "name"), [("aws", "e2-standard-4"), ("gcp", "x9-huge")])
    def test_an_unpriced_general_purpose_type_is_none(self, cloud, name):
        assert catalog.general_purpose_type(cloud, name) is None

    def test_a_service_price(self):
        assert catalog.service_price("gcp", "nat_gateway") == catalog.ServicePrice(
            cloud="gcp",
            item="nat_gateway",
            usd=0.044,
            per="hour",
            source="https://cloud.google.com/vpc/network-pricing",
            date="2026-11-29",
        )

    def test_an_unpriced_service_names_the_priced_ones(self):
        with pytest.raises(CatalogError) as error:
            catalog.service_price("aws", "turbo_replication")
        message = str(error.value)
        assert message.startswith(
            "no aws price for 'turbo_replication'; priced: disk_gp2, disk_gp3, "
        )


@pytest.mark.parametrize(
    "entry",
    [
        catalog.accelerator("nvidia-l4"),
        catalog.region("aws", "us-east-1"),
        catalog.instance_type("aws", "g6.xlarge"),
        catalog.service_price("aws", "kms_key"),
        catalog.general_purpose_type("gcp", "e2-standard-4"),
        next(iter(catalog.zone_sources().values())),
    ],
)
def test_catalog_entries_are_constants(entry):
    """Entries are shared by every lookup: one caller changing one would change all."""
    field = dataclasses.fields(entry)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(entry, field, None)


def test_every_gcp_region_has_three_distinct_nearest_aws_regions():
    for region in catalog.regions("gcp"):
        nearest = catalog.nearest_aws_regions(region)
        assert len(nearest) == len(set(nearest)) == 3, region
    # Route 53 measures Iowa from Ohio, Belgium from Paris.
    assert catalog.nearest_aws_regions("us-central1")[0] == "us-east-2"
    assert catalog.nearest_aws_regions("europe-west1")[0] == "eu-west-3"
    with pytest.raises(catalog.CatalogError, match="no nearest AWS region known for gcp region"):
        catalog.nearest_aws_regions("me-central2")
