"""The ``llmfleet`` command.

Exit codes (llmfleet.errors): 0 clean; 1 a mandatory policy violation or the budget exceeded;
2 invalid configuration or usage; 3 an internal error. One clear message, no traceback unless
``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from llmfleet.errors import EXIT_CLEAN, EXIT_POLICY, run_reporting_errors
from llmfleet.outputs import check_output_dir, check_output_file
from llmfleet.stackfile import UsageError, find_project, load_stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmfleet", description="Offline plans of llmfleet stacks: no cloud account needed."
    )
    debug = "show the traceback of an internal error (exit code 3)"
    parser.add_argument("--debug", action="store_true", help=debug)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="resource tree, policy report and cost estimate of a stack, offline"
    )
    plan.add_argument("stack", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--json", metavar="FILE", type=Path, help="write the plan as JSON")
    plan.add_argument(
        "--export-manifests",
        metavar="DIR",
        type=Path,
        help="write every Kubernetes object as YAML, one folder per cluster",
    )
    plan.add_argument(
        "--project", metavar="DIR", type=Path, default=Path.cwd(), help="Pulumi project folder"
    )
    plan.add_argument("--no-tree", action="store_true", help="print counts, not the full tree")
    # Also after the command (`llmfleet plan dev --debug`); SUPPRESS keeps the global value.
    plan.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug)
    cost = commands.add_parser(
        "cost", help="monthly cost breakdown of a stack at min and max scale, offline"
    )
    cost.add_argument("stack", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    cost.add_argument("--json", metavar="FILE", type=Path, help="write the estimate as JSON")
    cost.add_argument(
        "--project", metavar="DIR", type=Path, default=Path.cwd(), help="Pulumi project folder"
    )
    cost.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug)
    return parser


def _plan(args: argparse.Namespace, out: Console) -> int:
    # Imported here so `llmfleet --help` stays fast: the provider SDKs are large.
    from llmfleet.manifests import export_manifests
    from llmfleet.plan import make_plan
    from llmfleet.report import print_report

    # Output paths first: a bad one fails before the plan runs and the report is printed.
    if args.json:
        check_output_file(args.json, "--json")
    if args.export_manifests:
        check_output_dir(args.export_manifests, "--export-manifests")
    project = find_project(args.project.resolve())
    stack = load_stack(project, args.stack)
    plan = make_plan(project, stack)
    print_report(plan, out, tree=not args.no_tree)
    if args.json:
        _write(args.json, json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n")
        out.print(f"plan written to {args.json}")
    if args.export_manifests:
        try:
            written = export_manifests(plan.recording, args.export_manifests)
        except OSError as error:
            raise UsageError(f"cannot write {error.filename}: {error.strerror}") from None
        out.print(f"{written} manifests written to {args.export_manifests}")
    return plan.exit_code


def _cost(args: argparse.Namespace, out: Console) -> int:
    """The plan's cost estimate as a table; exits 1 over budget, like the plan."""
    from llmfleet.costs import print_cost
    from llmfleet.plan import estimate_cost, run_program

    if args.json:
        check_output_file(args.json, "--json")
    project = find_project(args.project.resolve())
    stack = load_stack(project, args.stack)
    estimate = estimate_cost(run_program(project, stack), stack)
    print_cost(estimate, out, title=f"monthly cost of stack {stack.name}")
    if args.json:
        _write(args.json, json.dumps(estimate.to_json(), indent=2) + "\n")
        out.print(f"estimate written to {args.json}")
    return EXIT_POLICY if estimate.over_budget else EXIT_CLEAN


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Piped output (CI logs) gets a fixed width instead of rich's 80-column fallback.
    out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, soft_wrap=True)
    command = _cost if args.command == "cost" else _plan
    return run_reporting_errors(
        lambda: command(args, out), err, stack=getattr(args, "stack", None), debug=args.debug
    )


if __name__ == "__main__":
    sys.exit(main())
