"""The shared component base: serving and add-on components build on it."""

from __future__ import annotations

import pytest

from llmfleet.components.component import Component
from llmfleet.components.gcp.api_key import GcpApiKey
from llmfleet.components.gcp.metrics import GcpManagedMetrics
from llmfleet.components.k8s.autoscaling import ClusterAutoscaling
from llmfleet.components.k8s.leaderworkerset import LeaderWorkerSetController
from llmfleet.components.k8s.secrets import SecretSync
from llmfleet.components.k8s.serving import ModelServer
from llmfleet.recorder import record


@pytest.mark.parametrize(
    "component",
    [
        ModelServer,
        SecretSync,
        ClusterAutoscaling,
        LeaderWorkerSetController,
        GcpManagedMetrics,
        GcpApiKey,
    ],
)
def test_builds_on_the_shared_base(component):
    assert issubclass(component, Component)


def test_a_gcp_component_without_a_project_is_refused(dev_fleet):
    # The error replaces an assert: it names the component and the missing field.
    def build():
        GcpManagedMetrics("metrics", dev_fleet, dev_fleet.regions[0], None)  # type: ignore[arg-type]

    with pytest.raises(Exception, match="metrics: GCP resources need the fleet's gcp_project"):
        record(build)
