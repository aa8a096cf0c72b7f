"""Find the Pulumi project and read a stack's configuration file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.spec import FleetSpec, parse_fleet, read_published_models

FLEET_KEY = "llmfleet:fleet"
MODELS_LOCK = "models.lock.yaml"


class UsageError(Exception):
    """A problem with what the user asked for or pointed at; reported with exit code 2."""


@dataclass(frozen=True)
class Project:
    """A Pulumi project directory with its program and stack configuration folder."""

    name: str
    root: Path
    program_dir: Path
    stacks_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stacks_dir / f"Pulumi.{stack}.yaml"

    def stack_names(self) -> list[str]:
        files = self.stacks_dir.glob("Pulumi.*.yaml")
        return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in files)


def find_project(start: Path) -> Project:
    """The Pulumi project containing ``start`` (the nearest Pulumi.yaml at or above it)."""
    for folder in (start, *start.parents):
        project_file = folder / "Pulumi.yaml"
        if project_file.is_file():
            settings = _read_yaml(project_file) or {}
            main = settings.get("main") or "."
            stacks = settings.get("stackConfigDir") or "."
            return Project(
                name=settings.get("name") or folder.name,
                root=folder,
                program_dir=(folder / main).resolve(),
                stacks_dir=(folder / stacks).resolve(),
            )
    raise UsageError(f"no Pulumi.yaml found in {start} or any folder above it")


@dataclass(frozen=True)
class StackConfig:
    """A stack's configuration: the validated fleet and every config value as Pulumi passes it."""

    name: str
    path: Path
    fleet: FleetSpec
    config: dict[str, str]
    """Config keys to values as the language host hands them to the program (objects as JSON)."""


def load_stack(project: Project, stack: str) -> StackConfig:
    """Read and validate ``stacks/Pulumi.<stack>.yaml``.

    Raises UsageError for a missing or unreadable file and SpecError for an invalid fleet.
    """
    path = project.stack_file(stack)
    if not path.is_file():
        available = ", ".join(project.stack_names()) or "none"
        raise UsageError(f"unknown stack '{stack}': no {path}; available stacks: {available}")
    document = _read_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise UsageError(f"{path}: expected a mapping with a 'config' key")
    config = document["config"]
    if FLEET_KEY not in config:
        raise UsageError(f"{path}: config has no '{FLEET_KEY}' key (the fleet definition)")
    lock = project.stacks_dir / MODELS_LOCK
    published = read_published_models(_read_yaml(lock), str(lock)) if lock.is_file() else {}
    fleet = parse_fleet(config[FLEET_KEY], published)
    return StackConfig(
        name=stack,
        path=path,
        fleet=fleet,
        config={key: _config_value(value) for key, value in config.items()},
    )


def _config_value(value: Any) -> str:
    # Pulumi hands structured config to programs as JSON strings, plain values as strings.
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(error, "problem", None) or str(error)
        raise UsageError(f"{path}: invalid YAML{at}: {problem}") from None
