"""The llmfleet policy pack's rules, importable without the Pulumi CLI.

Rules judge resources by type and properties (the engine's camelCase inputs), never by which
component made them, so they also catch resources users write by hand. ``__main__.py`` only
builds the pack from ``POLICIES``; ``llmfleet plan`` evaluates the same objects offline.

Every rule is mandatory unless the pack config (``policies/<environment>.json``, passed with
``pulumi preview --policy-pack policies --policy-pack-config policies/<env>.json``) lowers it;
each rule's settings and their documented defaults are in its ``config_schema``.
"""

from pulumi_policy import EnforcementLevel

from llmfleet.policies import cost, encryption, security, tagging

PACK_NAME = "llmfleet"
ENFORCEMENT = EnforcementLevel.MANDATORY

POLICIES = [*encryption.POLICIES, *cost.POLICIES, *security.POLICIES, *tagging.POLICIES]
