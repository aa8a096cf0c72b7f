"""The llmfleet policy pack's rules, importable without the Pulumi CLI.

Rules judge resources by type and properties (the engine's camelCase inputs), never by which
component made them, so they also catch resources users write by hand. ``__main__.py`` only
builds the pack from ``POLICIES``; ``llmfleet plan`` evaluates the same objects offline.
"""

from pulumi_policy import EnforcementLevel

from policies import tagging

PACK_NAME = "llmfleet"
ENFORCEMENT = EnforcementLevel.MANDATORY

POLICIES = [*tagging.POLICIES]
