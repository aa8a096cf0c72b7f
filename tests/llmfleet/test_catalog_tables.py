"""`llmfleet accelerators` and `llmfleet regions`: the catalog as a user browses it."""

from __future__ import annotations

import json
from datetime import date

from llmfleet.catalog_tables import STALE_AFTER_DAYS, offers, stale_prices
from llmfleet.cli import main
from llmfleet.components import catalog


def run_json(capsys, *args: str):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_l4_on_gcp_resolves_to_g2_standard_4_with_its_prices(capsys):
    found = run_json(capsys, "accelerators", "nvidia-l4", "--cloud", "gcp")
    first = found[0]
    assert (first["instance_type"], first["count"], first["accelerator_memory_gib"]) == (
        "g2-standard-4",
        1,
        24,
    )
    machine = catalog.instance_type("gcp", "g2-standard-4")
    assert first["on_demand_usd_hour"] == machine.on_demand_usd_hour
    assert first["spot_usd_hour"] == machine.spot_usd_hour
    assert first["price_date"] == machine.price_date
    assert "us-central1" in first["regions"]
    assert {o["cloud"] for o in found} == {"gcp"}


def test_every_offer_is_what_a_pool_resolves_to_and_sorted_by_price():
    found = offers()
    prices = [o.on_demand_usd_hour for o in found]
    assert prices == sorted(prices)
    for o in found:
        for region in o.regions:
            chosen = catalog.resolve(o.cloud, o.accelerator, o.count, region)
            assert chosen.name == o.instance_type


def test_a_region_shows_the_zones_offering_the_type(capsys):
    found = run_json(capsys, "accelerators", "nvidia-l4", "--region", "us-central1")
    assert {o["regions"][0] for o in found} == {"us-central1"}
    g2 = next(o for o in found if o["instance_type"] == "g2-standard-4")
    assert g2["zones"] == list(
        catalog.instance_type("gcp", "g2-standard-4").zones_in("us-central1")
    )
    main(["accelerators", "nvidia-l4", "--region", "us-central1"])
    out = capsys.readouterr().out
    assert "zones" in out
    assert "g2-standard-4" in out


def test_table_rows_for_a_known_entry(capsys):
    assert main(["accelerators", "nvidia-l4", "--cloud", "aws"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "g6.xlarge" in line)
    cells = [cell.strip() for cell in row.split("│")]
    machine = catalog.instance_type("aws", "g6.xlarge")
    assert cells[:5] == ["nvidia-l4", "1", "aws", "g6.xlarge", "24 GiB"]
    assert f"${machine.on_demand_usd_hour:,.2f}" in cells
    assert machine.price_date in cells


def test_old_prices_are_flagged_with_their_source():
    found = offers("nvidia-l4", "gcp")
    read = date.fromisoformat(found[0].price_date)
    assert stale_prices(found, read) == []
    later = date.fromordinal(read.toordinal() + STALE_AFTER_DAYS + 1)
    [warning] = stale_prices(found, later)
    assert f"were read {found[0].price_date} ({STALE_AFTER_DAYS + 1} days ago" in warning
    assert "g2-standard-4" in warning
    assert found[0].price_source in warning


def test_summary_lists_every_accelerator_cheapest_first(capsys):
    assert main(["accelerators"]) == 0
    out = capsys.readouterr().out
    names = [line.split("│")[0].strip() for line in out.splitlines() if "│" in line]
    assert sorted(names) == sorted(catalog.accelerators())
    assert names[0] == "nvidia-l4"


def test_unknown_accelerator_and_region_exit_2(capsys):
    assert main(["accelerators", "nvidia-b300"]) == 2
    assert "unknown accelerator 'nvidia-b300'; known: " in capsys.readouterr().err
    assert main(["accelerators", "nvidia-l4", "--cloud", "aws", "--region", "us-central1"]) == 2
    assert "unknown region 'us-central1'; known: " in capsys.readouterr().err


def test_regions_lists_zones_and_accelerators(capsys):
    found = run_json(capsys, "regions", "--cloud", "aws")
    east = next(r for r in found if r["region"] == "us-east-1")
    assert east["zones"] == list(catalog.region("aws", "us-east-1").zones)
    assert "nvidia-l4" in east["accelerators"]
    assert {r["cloud"] for r in found} == {"aws"}
