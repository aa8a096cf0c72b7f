"""The llmfleet program: stack configuration -> FleetSpec -> Fleet -> exports.

`pulumi up --stack NAME` runs this with the `llmfleet:fleet` key of stacks/Pulumi.NAME.yaml;
`llmfleet plan NAME` runs it offline under Pulumi's mock runtime.
"""

import pulumi

from components.fleet import Fleet
from components.spec import SpecError, parse_fleet


def main() -> None:
    try:
        spec = parse_fleet(pulumi.Config("llmfleet").require_object("fleet"))
    except SpecError as error:
        # RunError reports the message without a Python traceback.
        raise pulumi.RunError(f"invalid llmfleet:fleet configuration:\n{error}") from None
    fleet = Fleet(spec.name, spec)
    pulumi.export(
        "regions",
        {
            r.region: {"cloud": r.cloud, "endpoint": fleet.regions[r.region].endpoint}
            for r in spec.regions
        },
    )
    pulumi.export("kubeconfigs", {name: r.kubeconfig for name, r in fleet.regions.items()})

main()
