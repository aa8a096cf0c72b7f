"""How long `llmfleet plan` takes, per resource, against the Pulumi SDK's own floor.

For each example stack and for synthetic fleets of 1, 2, 4, 8 and 16 regions it measures
  imports  loading the component library and provider SDKs (a fresh interpreter),
  program  running the stack program under the recording mocks,
  report   placing, policy evaluation, the terminal report and the JSON,
and prints ms per resource next to two SDK floors under the same recording mocks:
  plain    the same number of plain resources with two small properties,
  replay   the plan's own resources (types, names, inputs) registered flat, with no components,
           no outputs wired between them and no typed SDK classes,
  typed    the same number of typed provider resources (aws.ec2.Vpc, one of the lightest):
           each declared output of a typed class costs the SDK futures and tasks.
program/plain is the ratio the foundation issue names; program/typed is what llmfleet adds
over the provider SDK classes it must use. Ratios are medians of per-repeat ratios, each plan
timed right before its floors (the machine may be shared: run it with nice, compare ratios).

    .venv/bin/python benchmarks/plan_bench.py [--repeat N] [--only hybrid synthetic-16 ...]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pulumi
import pulumi_aws as aws
from rich.console import Console

from llmfleet.components import catalog
from llmfleet.components.spec import parse_fleet
from llmfleet.plan import make_plan
from llmfleet.recorder import Recording, record
from llmfleet.report import print_report
from llmfleet.stackfile import StackConfig, _config_value, find_project, load_stack

REPO = Path(__file__).resolve().parents[1]

EXAMPLES = ["dev", "prod-aws", "prod-gcp", "hybrid"]


def import_seconds() -> float:
    """Import time of the stack program's dependencies in a fresh interpreter."""
    code = (
        "import time; t=time.perf_counter(); import llmfleet.components.fleet, llmfleet.plan; "
        "print(time.perf_counter()-t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    return float(done.stdout.strip())


def synthetic_fleet(regions: int) -> dict:
    """A prod fleet over ``regions`` regions, alternating AWS and GCP, each with an L4 pool."""
    aws = sorted(catalog.regions("aws"))
    gcp = sorted(catalog.regions("gcp"))
    chosen = []
    for i in range(regions):
        cloud, names = ("aws", aws) if i % 2 == 0 else ("gcp", gcp)
        name = names[i // 2]
        region = {"cloud": cloud, "region": name, "cidr": f"10.{i}.0.0/16", "zones": 3}
        if cloud == "gcp":
            region["cidr"] = f"10.{i}.0.0/20"
            region["pods_cidr"] = f"10.{64 + 4 * i}.0.0/14"
            region["services_cidr"] = f"10.{i}.16.0/20"
        if _offers_l4(cloud, name):
            region["cluster"] = {
                "gpu_pools": [{"name": "l4", "accelerator": "nvidia-l4", "max_nodes": 2}]
            }
        chosen.append(region)
    return {
        "name": "bench",
        "environment": "prod",
        "owner": "bench",
        "cost_center": "bench",
        "gcp_project": "bench-project",
        "budget": {"monthly_usd": 10_000_000, "max_accelerators": 1000},
        "regions": chosen,
        # Prod alerts need somewhere to go; email reaches both clouds.
        "observability": {"notify": {"email": "bench@example.com"}},
    }


def _offers_l4(cloud: str, region: str) -> bool:
    try:
        catalog.resolve(cloud, "nvidia-l4", 1, region)
    except catalog.CatalogError:
        return False
    return True


def timed_plan(project, stack: StackConfig) -> tuple[float, float, Recording]:
    gc.collect()  # each timing pays for its own garbage, not the previous run's
    start = time.perf_counter()
    plan = make_plan(project, stack)
    middle = time.perf_counter()
    print_report(plan, Console(file=io.StringIO(), width=120))
    json.dumps(plan.to_json())
    end = time.perf_counter()
    return middle - start, end - middle, plan.recording


def seconds(program) -> float:
    gc.collect()  # each timing pays for its own garbage, not the previous run's
    start = time.perf_counter()
    record(program)
    return time.perf_counter() - start


def plain_floor(count: int) -> float:
    """Register ``count`` plain custom resources under the same recording mocks."""

    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Plain", f"r{i}", {"value": i, "tags": {"a": "b"}})

    return seconds(program)


def typed_floor(count: int) -> float:
    """Register ``count`` typed provider resources (VPCs) under the same recording mocks."""

    def program() -> None:
        for i in range(count):
            aws.ec2.Vpc(f"v{i}", cidr_block="10.0.0.0/16", region="us-east-1", tags={"a": "b"})

    return seconds(program)


def replay_floor(recording: Recording) -> float:
    """Register the recording's resources again, flat, with their recorded inputs."""
    resources = [(r.type, r.name, r.inputs, r.custom) for r in recording.resources]

    def program() -> None:
        for type_, name, inputs, custom in resources:
            if custom and not type_.startswith("pulumi:providers:"):
                pulumi.CustomResource(type_, name, dict(inputs))
            else:
                pulumi.ComponentResource(type_, name)

    return seconds(program)


def measure(project, stack: StackConfig, repeat: int) -> dict[str, list[float]]:
    """Seconds of each run: the plan, its report, and the three floors right after it.

    Each repeat times the plan and the floors back to back, so a machine shared with other
    work loads both alike; ratios are taken per repeat, then their median.
    """
    timed_plan(project, stack)  # warm: provider modules load lazily on first use
    samples: dict[str, list[float]] = {k: [] for k in ("program", "report", *FLOORS, "count")}
    for _ in range(repeat):
        program, report, recording = timed_plan(project, stack)
        count = len(recording.resources)
        samples["program"].append(program)
        samples["report"].append(report)
        samples["plain"].append(plain_floor(count))
        samples["replay"].append(replay_floor(recording))
        samples["typed"].append(typed_floor(count))
        samples["count"].append(count)
    return samples


FLOORS = ("plain", "replay", "typed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="+", metavar="STACK", help="only these cases")
    args = parser.parse_args()
    project = find_project(REPO)
    cases: list[tuple[str, StackConfig]] = [(s, load_stack(project, s)) for s in EXAMPLES]
    for n in (1, 2, 4, 8, 16):
        raw = synthetic_fleet(n)
        config = {"llmfleet:fleet": _config_value(raw, REPO, "llmfleet:fleet")}
        cases.append(
            (f"synthetic-{n}", StackConfig(f"synthetic-{n}", REPO, parse_fleet(raw), config))
        )
    if args.only:
        cases = [(name, stack) for name, stack in cases if name in args.only]
    print(f"imports: {import_seconds() * 1000:.0f} ms (fresh interpreter)")
    header = f"{'stack':<14}{'res':>6}{'program':>10}{'report':>9}{'ms/res':>9}"
    header += f"{'plain':>9}{'replay':>9}{'typed':>9}{'/plain':>8}{'/replay':>8}{'/typed':>8}"
    print(header)
    for name, stack in cases:
        samples = measure(project, stack, args.repeat)
        count = samples["count"][0]
        median = {key: statistics.median(values) for key, values in samples.items()}
        per = [median[key] / count * 1000 for key in ("program", *FLOORS)]
        ratios = [
            statistics.median(
                p / f for p, f in zip(samples["program"], samples[floor], strict=True)
            )
            for floor in FLOORS
        ]
        print(
            f"{name:<14}{count:>6}{median['program'] * 1000:>10.0f}{median['report'] * 1000:>9.0f}"
            + "".join(f"{p:>9.2f}" for p in per)
            + "".join(f"{r:>8.2f}" for r in ratios)
        )


if __name__ == "__main__":
    main()
