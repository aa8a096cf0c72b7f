"""Provider-shaped outputs for the mock runtime.

Real providers compute outputs (ids, ARNs, self links, endpoints, certificate data) that other
resources take as inputs. The mocks must return them in the provider's shape, or every input
wired from them would be missing from the plan, and its dependency edge and the policy checks
that read it with it. Each cloud module holds a table ``OUTPUTS`` from type token to a function
``(name, inputs) -> outputs`` and a table ``INVOKES`` from function token to ``(args) -> result``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmfleet.mock_outputs import aws, gcp, kubernetes
from llmfleet.mock_outputs.ids import stable_hex

Outputs = dict[str, Any]

_CLOUDS = {"aws": aws, "gcp": gcp, "kubernetes": kubernetes}


def resource_outputs(type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    """The physical id and full state (inputs plus computed outputs) of a new resource."""
    package = type_.split(":", 1)[0]
    module = _CLOUDS.get(package)
    computed: Outputs = {}
    id_ = f"{name}-{stable_hex(type_, name)}"
    if module is not None:
        make: Callable[[str, dict], Outputs] | None = module.OUTPUTS.get(type_)
        computed = module.defaults(type_, name, inputs)
        if make is not None:
            computed.update(make(name, inputs))
        id_ = computed.pop("__id", None) or computed.get("id") or id_
    return id_, {**inputs, **computed}


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """The result of a provider function (data source) call."""
    module = _CLOUDS.get(token.split(":", 1)[0])
    if module is None or token not in module.INVOKES:
        return {}
    return module.INVOKES[token](args)
