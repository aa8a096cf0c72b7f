"""The benchmark's synthetic fleets stay valid stack files (timings are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.plan_bench import synthetic_fleet
from llmfleet.components.spec import parse_fleet


@pytest.mark.parametrize("regions", [1, 2, 4, 8, 16])
def test_synthetic_fleets_validate(regions):
    fleet = parse_fleet(synthetic_fleet(regions))
    assert len(fleet.regions) == regions
    assert {r.cloud for r in fleet.regions} == ({"aws"} if regions == 1 else {"aws", "gcp"})
