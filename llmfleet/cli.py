"""The ``llmfleet`` command.

Exit codes (llmfleet.errors): 0 clean; 1 a mandatory policy violation or the budget exceeded;
2 invalid configuration or usage; 3 an internal error. One clear message, no traceback unless
``--debug``. Flags follow the Pulumi CLI's: ``-s/--stack`` (also ``org/project/stack``),
``-C/--cwd``, ``--color``, ``--version``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from importlib.metadata import version
from pathlib import Path

from rich.console import Console

from llmfleet.errors import EXIT_CLEAN, EXIT_POLICY, run_reporting_errors
from llmfleet.outputs import check_output_dir, check_output_file
from llmfleet.stackfile import Project, StackConfig, UsageError, find_project, load_stack

STDOUT = "-"
"""``--json -`` writes the JSON to standard output (and the human report to standard error)."""

Command = Callable[[argparse.Namespace, Console], int]


def _global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """Options accepted before and after the command, like Pulumi's global flags."""

    # After the command, SUPPRESS keeps the value given before it (`llmfleet --debug plan dev`).
    def default(value: object) -> object:
        return argparse.SUPPRESS if on_command else value

    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show the traceback of an internal error (exit code 3)",
    )
    parser.add_argument(
        "-C",
        "--cwd",
        "--project",
        dest="project",
        metavar="DIR",
        type=Path,
        default=default(Path.cwd()),
        help="run as if started in DIR (the Pulumi project folder or one below it)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=default("auto"),
        help="colorize output (auto: only on a terminal; NO_COLOR is honoured)",
    )


def _stack_options(parser: argparse.ArgumentParser) -> None:
    stack_help = "stack name or org/project/stack: reads stacks/Pulumi.<stack>.yaml"
    parser.add_argument("stack", nargs="?", help=stack_help)
    parser.add_argument("-s", "--stack", dest="stack_option", metavar="STACK", help=stack_help)


def _add(
    commands: argparse._SubParsersAction, name: str, run: Command, help_: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_, description=help_)
    parser.set_defaults(run=run)
    _global_options(parser, on_command=True)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmfleet", description="Offline plans of llmfleet stacks: no cloud account needed."
    )
    parser.add_argument("--version", action="version", version=f"llmfleet {version('llmfleet')}")
    _global_options(parser, on_command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = _add(
        commands, "plan", _plan, "summary, policy report and cost estimate of a stack, offline"
    )
    _stack_options(plan)
    plan.add_argument(
        "--json", metavar="FILE", help="write the plan as JSON (- for standard output)"
    )
    plan.add_argument(
        "--export-manifests",
        metavar="DIR",
        type=Path,
        help="write every Kubernetes object as YAML, one folder per cluster",
    )
    plan.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="markdown: the report for pull-request comments and CI job summaries",
    )
    plan.add_argument(
        "--diagram",
        metavar="FILE",
        help="write a Mermaid flowchart of the fleet (- for standard output)",
    )
    plan.add_argument("--tree", action="store_true", help="also print the resource tree")
    plan.add_argument("--types", action="store_true", help="also print resources by type")
    plan.add_argument(
        "--alerts",
        action="store_true",
        help="also print every alert with its threshold and notification channel",
    )
    plan.add_argument(
        "--compare-to",
        metavar="OLD.json",
        type=Path,
        help="print what changed since an earlier `plan --json` (resources, inputs, cost)",
    )
    # Kept for scripts written before the summary became the default: it is the default now.
    plan.add_argument("--no-tree", action="store_true", help=argparse.SUPPRESS)

    cost = _add(
        commands, "cost", _cost, "monthly cost breakdown of a stack at min and max scale, offline"
    )
    _stack_options(cost)
    cost.add_argument(
        "--json", metavar="FILE", help="write the estimate as JSON (- for standard output)"
    )

    init = _add(commands, "init", _init, "write a new stack file that validates and plans clean")
    init.add_argument("stack", help="name of the new stack: writes stacks/Pulumi.<stack>.yaml")
    for cloud in ("aws", "gcp"):
        init.add_argument(
            f"--{cloud}",
            action="append",
            default=[],
            metavar="REGION:ACCELERATOR[:COUNT]",
            help=f"a {cloud.upper()} region and an accelerator pool in it (repeatable)",
        )
    init.add_argument("--gcp-project", help="GCP project of the GCP regions")
    init.add_argument(
        "--budget", type=float, required=True, metavar="USD", help="monthly budget in USD"
    )
    init.add_argument("--environment", choices=("dev", "staging", "prod"), default="dev")
    init.add_argument(
        "--notify",
        metavar="EMAIL",
        help="email address receiving the fleet's alerts (required with --environment prod)",
    )
    init.add_argument("--owner", default="change-me", help="team owning the fleet (tags)")
    init.add_argument("--cost-center", default="change-me", help="cost centre (tags)")
    init.add_argument("--force", action="store_true", help="replace an existing stack file")

    validate = _add(commands, "validate", _validate, "check a stack file's fleet spec only")
    _stack_options(validate)

    _add(commands, "stacks", _stacks, "list the project's stacks")

    accelerators = _add(
        commands,
        "accelerators",
        _accelerators,
        "accelerators, the instance types llmfleet picks per count, prices and regions",
    )
    accelerators.add_argument("name", nargs="?", help="one accelerator, e.g. nvidia-l4")
    _catalog_filters(accelerators)
    accelerators.add_argument("--region", help="only this region (shows its zones)")

    _add(commands, "schema", _schema, "print the JSON Schema of stack files (for editors)")

    regions = _add(commands, "regions", _regions, "cloud regions, their zones and accelerators")
    _catalog_filters(regions)
    return parser


def _catalog_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cloud", choices=("aws", "gcp"), help="only this cloud")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _load(args: argparse.Namespace, out: Console) -> tuple[Project, StackConfig]:
    """The project and the named stack, its fleet and provider config checked (exit 2)."""
    from llmfleet.provider_config import check_provider_config

    project = _project(args)
    stack = load_stack(project, _stack_name(args, project, out))
    check_provider_config(stack)
    return project, stack


def _project(args: argparse.Namespace) -> Project:
    return find_project(args.project.resolve())


def _stack_name(args: argparse.Namespace, project: Project, out: Console) -> str:
    """The stack named by the positional argument or -s/--stack (``org/project/stack`` too)."""
    given = [name for name in (args.stack, args.stack_option) if name]
    if len(given) == 2 and given[0] != given[1]:
        raise UsageError(f"two stacks given: '{given[0]}' and -s '{given[1]}'; give one")
    if not given:
        available = ", ".join(project.stack_names()) or "none"
        raise UsageError(f"no stack given (llmfleet {args.command} -s STACK); stacks: {available}")
    parts = given[0].split("/")
    if len(parts) > 3 or not all(parts):
        raise UsageError(f"stack '{given[0]}': expected STACK or ORG/PROJECT/STACK")
    if len(parts) >= 2 and parts[-2] != project.name:
        raise UsageError(
            f"stack '{given[0]}' names project '{parts[-2]}', but {project.root} holds "
            f"project '{project.name}'"
        )
    return parts[-1]


def _plan(args: argparse.Namespace, out: Console) -> int:
    # Imported here so `llmfleet --help` stays fast: the provider SDKs are large.
    from llmfleet.compare import compare, describe, read_plan
    from llmfleet.manifests import export_manifests
    from llmfleet.plan import make_plan
    from llmfleet.report import print_report

    # Inputs and output paths first: a bad one fails before the plan runs.
    if args.json == STDOUT and args.diagram == STDOUT:
        raise UsageError("--json - and --diagram - both want standard output; give one a FILE")
    if args.json and args.json != STDOUT:
        check_output_file(Path(args.json), "--json")
    if args.diagram and args.diagram != STDOUT:
        check_output_file(Path(args.diagram), "--diagram", example="fleet.mmd")
    if args.export_manifests:
        check_output_dir(args.export_manifests, "--export-manifests")
    earlier = read_plan(args.compare_to) if args.compare_to else None
    project, stack = _load(args, out)
    plan = make_plan(project, stack)
    body = plan.to_json()
    if args.format == "markdown":
        from llmfleet.markdown import MarkdownCollector

        collected = MarkdownCollector()
        print_report(  # type: ignore[arg-type]
            plan, collected, tree=args.tree, types=args.types, alerts=args.alerts
        )
        out.file.write(collected.text())
    else:
        print_report(plan, out, tree=args.tree, types=args.types, alerts=args.alerts)
    if earlier is not None:
        out.print(f"[bold]changes since {args.compare_to}[/]", highlight=False)
        for line in describe(compare(earlier, body)):
            out.print(line, highlight=False, markup=False)
    if args.json:
        _write_json(args.json, body, out)
    if args.diagram:
        from llmfleet.diagram import fleet_diagram

        _write_text(args.diagram, fleet_diagram(plan), out, "diagram")
    if args.export_manifests:
        try:
            written = export_manifests(plan.recording, args.export_manifests)
        except OSError as error:
            raise UsageError(f"cannot write {error.filename}: {error.strerror}") from None
        out.print(f"{written} files written to {args.export_manifests}", highlight=False)
    return plan.exit_code


def _cost(args: argparse.Namespace, out: Console) -> int:
    """The plan's cost estimate as a table; exits 1 over budget, like the plan."""
    from llmfleet.costs import print_cost
    from llmfleet.plan import estimate_cost, run_program

    if args.json and args.json != STDOUT:
        check_output_file(Path(args.json), "--json")
    project, stack = _load(args, out)
    estimate = estimate_cost(run_program(project, stack), stack)
    print_cost(estimate, out, title=f"monthly cost of stack {stack.name}")
    if args.json:
        _write_json(args.json, estimate.to_json(), out, "estimate")
    return EXIT_POLICY if estimate.over_budget else EXIT_CLEAN


def _init(args: argparse.Namespace, out: Console) -> int:
    from llmfleet import scaffold

    project = _project(args)
    choices = [scaffold.parse_choice("aws", text) for text in args.aws]
    choices += [scaffold.parse_choice("gcp", text) for text in args.gcp]
    document = scaffold.fleet_document(
        args.stack,
        choices,
        environment=args.environment,
        budget_usd=args.budget,
        owner=args.owner,
        cost_center=args.cost_center,
        gcp_project=args.gcp_project,
        notify_email=args.notify,
    )
    path = scaffold.write_stack(project, args.stack, document, force=args.force)
    out.print(f"wrote {path}; next: llmfleet plan {args.stack}", highlight=False)
    return EXIT_CLEAN


def _validate(args: argparse.Namespace, out: Console) -> int:
    _, stack = _load(args, out)
    fleet = stack.fleet
    pools = sum(len(r.cluster.gpu_pools) for r in fleet.regions)
    counts = f"{len(fleet.regions)} regions, {pools} accelerator pools"
    out.print(
        f"stack {stack.name}: [green]valid[/] ({counts})",
        highlight=False,
    )
    return EXIT_CLEAN


def _stacks(args: argparse.Namespace, out: Console) -> int:
    project = _project(args)
    for name in project.stack_names():
        out.print(name, highlight=False)
    return EXIT_CLEAN


def _accelerators(args: argparse.Namespace, out: Console) -> int:
    from llmfleet import catalog_tables

    if args.name is None and args.region is None and not args.json:
        out.print(catalog_tables.accelerator_summary())
        return EXIT_CLEAN
    found = catalog_tables.offers(args.name, args.cloud, args.region)
    if args.json:
        sys.stdout.write(json.dumps([catalog_tables.offer_json(o) for o in found], indent=2) + "\n")
        return EXIT_CLEAN
    out.print(catalog_tables.offers_table(found, show_zones=args.region is not None))
    for warning in catalog_tables.stale_prices(found, date.today()):
        out.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return EXIT_CLEAN


def _regions(args: argparse.Namespace, out: Console) -> int:
    from llmfleet import catalog_tables

    if args.json:
        sys.stdout.write(json.dumps(catalog_tables.regions_json(args.cloud), indent=2) + "\n")
    else:
        out.print(catalog_tables.regions_table(args.cloud))
    return EXIT_CLEAN


def _schema(args: argparse.Namespace, out: Console) -> int:
    from llmfleet.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_CLEAN


def _write_json(target: str, body: dict, out: Console, what: str = "plan") -> None:
    _write_text(target, json.dumps(body, indent=2) + "\n", out, what)


def _write_text(target: str, text: str, out: Console, what: str) -> None:
    """``text`` to the file ``target`` (``-``: standard output), saying where it went."""
    if target == STDOUT:
        sys.stdout.write(text)
        return
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    out.print(f"{what} written to {path}", highlight=False)


def _consoles(args: argparse.Namespace) -> tuple[Console, Console]:
    """The report console and the error console.

    With ``--json -`` (or ``--diagram -``) that output owns standard output, so the report goes
    to standard error.
    """
    color = {"always": True, "never": False, "auto": None}[args.color]
    options = {"soft_wrap": True, "force_terminal": color, "no_color": color is False}
    err = Console(stderr=True, **options)
    if STDOUT in (getattr(args, "json", None), getattr(args, "diagram", None)):
        return err, err
    # Piped output (CI logs) gets a fixed width instead of rich's 80-column fallback.
    width = None if sys.stdout.isatty() else 160
    return Console(width=width, **options), err


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err = _consoles(args)
    stack = getattr(args, "stack", None) or getattr(args, "stack_option", None)
    return run_reporting_errors(lambda: args.run(args, out), err, stack=stack, debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
