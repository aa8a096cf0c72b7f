"""The base of every AWS component: child options and the tags every AWS resource carries."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from llmfleet.components.component import Component


class AwsComponent(Component):
    """A component whose AWS resources carry the fleet's labels as tags, plus a ``Name``."""

    def __init__(
        self,
        type_: str,
        name: str,
        labels: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_, name, None, opts)
        self._labels = dict(labels)

    def _tags(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The fleet's labels, ``Name: name`` (what the AWS console shows) and ``extra``."""
        return {**self._labels, "Name": name, **(extra or {})}
