"""The plan report's node pool table shows the nodes a pool really runs."""

from __future__ import annotations

import copy
from types import SimpleNamespace

from llmfleet.components.spec import parse_fleet
from llmfleet.report import node_pools
from tests.conftest import PROD_FLEET


def test_a_multi_host_tpu_slice_shows_all_its_hosts(capsys):
    config = copy.deepcopy(PROD_FLEET)
    config["regions"][2]["cluster"] = {
        "gpu_pools": [
            {"name": "slice", "accelerator": "tpu-v5e", "count": 4, "tpu_topology": "4x8"},
            {"name": "single", "accelerator": "tpu-v5e", "count": 4, "max_nodes": 3},
        ]
    }
    plan = SimpleNamespace(stack=SimpleNamespace(fleet=parse_fleet(config)))
    rows = node_pools(plan)
    nodes = dict(zip(rows.columns[1].cells, rows.columns[4].cells, strict=True))
    assert nodes["slice"] == "8-8"
    assert nodes["single"] == "0-3"
