"""The llmfleet program: stack configuration -> FleetSpec -> Fleet -> exports.

`pulumi up --stack NAME` runs this with the `llmfleet:fleet` key of stacks/Pulumi.NAME.yaml;
`llmfleet plan NAME` runs it offline under Pulumi's mock runtime.
"""

from pathlib import Path

import pulumi
import yaml

from llmfleet.components.fleet import Fleet
from llmfleet.components.spec import SpecError, parse_fleet, read_published_models

MODELS_LOCK = Path(__file__).parent / "models.lock.yaml"


def main() -> None:
    try:
        published = {}
        if MODELS_LOCK.is_file():
            published = read_published_models(yaml.safe_load(MODELS_LOCK.read_text()))
        spec = parse_fleet(pulumi.Config("llmfleet").require_object("fleet"), published)
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
    pulumi.export("serving_model_uris", fleet.model_uris)
    pulumi.export("model_storage", fleet.storage_outputs())
    if spec.routed_regions():
        # The OpenAI base URL of each model is https://<domain>/<serving>/v1.
        pulumi.export(
            "public_endpoint",
            {
                "global": f"https://{spec.routing.domain}",
                "regions": {
                    r.region: f"https://{spec.routing.regional_name(r.region)}"
                    for r in spec.routed_regions()
                },
            },
        )


main()
