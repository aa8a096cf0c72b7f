"""The base of every GCP component: its resources wait for the APIs they use.

A GCP component names the APIs its resources call (``APIS``); every child and lookup made
through ``_child`` / ``_child_of`` / ``_invoke`` depends on the project's Service of each
(``llmfleet.components.gcp.project``), so a fresh project gets its APIs enabled first and no
resource can forget them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi

from llmfleet.components.component import Component
from llmfleet.components.gcp.project import project_apis


class GcpComponent(Component):
    """A component whose GCP resources live in ``project`` and use the APIs in ``APIS``."""

    APIS: ClassVar[tuple[str, ...]]
    """The APIs (``compute.googleapis.com``) the component's resources and lookups call."""

    def __init__(
        self,
        type_: str,
        name: str,
        project: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_, name, None, opts)
        if project is None:
            raise ValueError(f"{name}: GCP resources need the fleet's gcp_project")
        self._project: str = project
        """The project every resource of the component lives in."""
        self._apis: list[pulumi.Resource] = list(project_apis(project).enabled(self.APIS))

    def _child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child resource: parented to this component, after its APIs."""
        return self._child_of(self, **options)

    def _child_of(self, parent: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
        """Options of a resource this component makes under ``parent`` (one of its own
        components): after this component's APIs, plus ``options``."""
        depends_on = [*self._apis, *(options.pop("depends_on", None) or [])]
        return pulumi.ResourceOptions(parent=parent, depends_on=depends_on, **options)

    def _invoke(self) -> pulumi.InvokeOutputOptions:
        """Options of a lookup made for this component: its provider, after its APIs."""
        return pulumi.InvokeOutputOptions(parent=self, depends_on=self._apis)
