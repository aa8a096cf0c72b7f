"""The offline plan: run the stack program under the recording mocks and judge the result."""

from __future__ import annotations

import runpy
import sys
from dataclasses import dataclass, field
from typing import Any

from llmfleet import policies
from llmfleet.components import cost as cost_model
from llmfleet.policy import evaluate, read_pack_config
from llmfleet.recorder import Recording, record
from llmfleet.stackfile import Project, StackConfig


@dataclass
class Plan:
    """What ``pulumi up`` of a stack would create, its policy report and its cost."""

    stack: StackConfig
    recording: Recording
    estimate: cost_model.Estimate
    violations: list[dict[str, str]] = field(default_factory=list)

    @property
    def mandatory_violations(self) -> list[dict[str, str]]:
        return [v for v in self.violations if v.get("level") == "mandatory"]

    @property
    def cost(self) -> dict[str, Any]:
        """The plan JSON's cost section (``llmfleet cost`` prints the same estimate)."""
        return self.estimate.to_json()

    @property
    def over_budget(self) -> bool:
        return self.estimate.over_budget

    @property
    def exit_code(self) -> int:
        """0 clean; 1 a mandatory policy violation or the budget exceeded."""
        return 1 if self.mandatory_violations or self.over_budget else 0

    def to_json(self) -> dict[str, Any]:
        """The plan JSON of docs/DESIGN.md."""
        return {
            "stack": self.stack.name,
            "resources": [r.to_json() for r in self.recording.resources],
            "policy": {"violations": self.violations},
            "cost": self.cost,
        }


def run_program(project: Project, stack: StackConfig) -> Recording:
    """Run the project's program for ``stack`` in-process under the recording mocks."""
    program = project.program_dir / "__main__.py"

    def main() -> None:
        # The language host runs the program as __main__ with its folder on sys.path.
        sys.path.insert(0, str(project.program_dir))
        try:
            runpy.run_path(str(program), run_name="__main__")
        finally:
            sys.path.remove(str(project.program_dir))

    return record(main, project=project.name, stack=stack.name, config=stack.config)


def estimate_cost(recording: Recording, stack: StackConfig) -> cost_model.Estimate:
    """Price the recorded resources and the fleet's usage against the stack's budget."""
    resources = [
        cost_model.Resource(
            urn=r.urn,
            type=r.type,
            name=r.name,
            inputs=r.inputs,
            region=r.region,
            cloud=r.cloud,
            provider=r.provider,
            property_dependencies=r.property_dependencies,
        )
        for r in recording.custom()
    ]
    fleet = stack.fleet
    return cost_model.estimate(
        resources, cost_model.usage_of(fleet), budget_usd=fleet.budget.monthly_usd
    )


def make_plan(project: Project, stack: StackConfig) -> Plan:
    """Record the stack's resources, price them and judge them with the policy pack's rules."""
    recording = run_program(project, stack)
    fleet = stack.fleet
    pack_config = read_pack_config(project.root / "policies" / f"{fleet.environment}.json")
    # What the stack file states overrides the pack file: the plan judges this stack's limits.
    overlay = {
        "monthlyBudgetUsd": fleet.budget.monthly_usd,
        "maxAccelerators": fleet.budget.max_accelerators,
        "environment": fleet.environment,
    }
    violations = evaluate(recording, policies.POLICIES, policies.ENFORCEMENT, pack_config, overlay)
    estimate = estimate_cost(recording, stack)
    return Plan(stack=stack, recording=recording, estimate=estimate, violations=violations)
