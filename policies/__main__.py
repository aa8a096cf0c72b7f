"""Builds the llmfleet policy pack: `pulumi preview --policy-pack policies`."""

from pulumi_policy import PolicyPack

from llmfleet.policies import ENFORCEMENT, PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, enforcement_level=ENFORCEMENT, policies=POLICIES)
