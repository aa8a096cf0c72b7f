"""Exit codes and how every failure of a command becomes one clear message.

Exit codes mean one thing everywhere: 0 clean; 1 the plan breaks a mandatory policy or the
budget; 2 the stack file or the command line is invalid; 3 an internal error (a bug: one line,
and ``--debug`` shows the traceback). No traceback is printed without ``--debug``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from rich.console import Console

from llmfleet.components.spec import SpecError
from llmfleet.stackfile import UsageError

EXIT_CLEAN, EXIT_POLICY, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def run_reporting_errors(
    command: Callable[[], int], err: Console, *, stack: str | None = None, debug: bool = False
) -> int:
    """Run ``command`` and turn what it raises into a message on ``err`` and an exit code."""
    try:
        return command()
    except SpecError as error:
        where = f" in stack '{stack}'" if stack else ""
        err.print(f"[red]invalid configuration[/]{where}:", highlight=False)
        for path, message in error.problems:
            err.print(f"  {path}: {message}", highlight=False, markup=False)
        return EXIT_USAGE
    except UsageError as error:
        err.print(f"error: {error}", highlight=False, markup=False, style="red")
        return EXIT_USAGE
    except Exception as error:
        if debug:
            err.print(traceback.format_exc(), highlight=False, markup=False, end="")
        summary = str(error).strip().splitlines()
        detail = f": {summary[0]}" if summary else ""
        hint = "" if debug else "; rerun with --debug for the traceback"
        err.print(
            f"internal error (a bug in llmfleet, please report it): "
            f"{type(error).__name__}{detail}{hint}",
            highlight=False,
            markup=False,
            style="red",
        )
        return EXIT_INTERNAL
