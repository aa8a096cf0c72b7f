"""The provider configuration a fleet needs, checked against the fleet.

``pulumi up`` configures the default AWS and GCP providers from ``aws:region`` and
``gcp:project``: a fleet with an AWS region needs ``aws:region`` (one of its AWS regions), and a
fleet with a GCP region needs ``gcp:project`` equal to the fleet's ``gcp_project``, or the
provider and the fleet would work in different projects.
"""

from __future__ import annotations

from llmfleet.components.spec import SpecError
from llmfleet.stackfile import StackConfig

AWS_REGION, GCP_PROJECT = "aws:region", "gcp:project"


def provider_config_problems(stack: StackConfig) -> list[tuple[str, str]]:
    """Every missing or disagreeing provider setting, with its config path."""
    fleet = stack.fleet
    aws_regions = [r.region for r in fleet.regions if r.cloud == "aws"]
    on_gcp = any(r.cloud == "gcp" for r in fleet.regions)
    problems = []
    set_it = f"pulumi config set {{key}} {{value}} --stack {stack.name}"
    region = stack.config.get(AWS_REGION)
    if aws_regions and region is None:
        fix = set_it.format(key=AWS_REGION, value=aws_regions[0])
        problems.append((f"config.{AWS_REGION}", f"missing: the fleet has AWS regions; {fix}"))
    elif aws_regions and region not in aws_regions:
        allowed = ", ".join(aws_regions)
        message = f"'{region}' is not an AWS region of the fleet; use one of {allowed}"
        problems.append((f"config.{AWS_REGION}", message))
    project = stack.config.get(GCP_PROJECT)
    if on_gcp and project is None:
        fix = set_it.format(key=GCP_PROJECT, value=fleet.gcp_project)
        problems.append((f"config.{GCP_PROJECT}", f"missing: the fleet has GCP regions; {fix}"))
    elif on_gcp and project != fleet.gcp_project:
        problems.append(
            (
                f"config.{GCP_PROJECT}",
                f"'{project}' differs from fleet.gcp_project '{fleet.gcp_project}'; "
                "the provider and the fleet must use one project",
            )
        )
    return problems


def check_provider_config(stack: StackConfig) -> None:
    """Raise SpecError (exit 2) listing every provider-config problem."""
    problems = provider_config_problems(stack)
    if problems:
        raise SpecError(problems)
