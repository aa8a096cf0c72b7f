"""The base every llmfleet component builds on: children and invokes parented to it.

Parenting every child resource keeps it in the component's subtree (its URN, its protect and
provider inheritance); parenting every invoke makes an explicit provider passed to the
component reach the lookups too, instead of the ambient default provider.
"""

from __future__ import annotations

from typing import Any

import pulumi


class Component(pulumi.ComponentResource):
    """A ``pulumi.ComponentResource`` with the child and invoke options its children take."""

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child resource: parented to this component, plus ``options``."""
        return pulumi.ResourceOptions(parent=self, **options)

    def _invoke(self) -> pulumi.InvokeOutputOptions:
        """Options of a lookup made for this component (inherits its provider)."""
        return pulumi.InvokeOutputOptions(parent=self)
