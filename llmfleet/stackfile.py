"""Find the Pulumi project and read a stack's configuration file.

Stack files are read the way Pulumi reads them, so ``llmfleet plan`` and ``pulumi up`` agree on
what a file says: UTF-8 (a UTF-8 or UTF-16 byte-order mark is honoured), one YAML document,
no duplicate keys. Anything else is a UsageError naming the file, and where possible the line.
"""

from __future__ import annotations

import codecs
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmfleet.components.spec import FleetSpec, parse_fleet, read_published_models

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
        close = difflib.get_close_matches(FLEET_KEY, [str(k) for k in config], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UsageError(f"{path}: config has no '{FLEET_KEY}' key (the fleet definition){hint}")
    _refuse_secrets(config[FLEET_KEY], path, stack)
    lock = project.stacks_dir / MODELS_LOCK
    published = read_published_models(_read_yaml(lock), str(lock)) if lock.is_file() else {}
    fleet = parse_fleet(config[FLEET_KEY], published)
    return StackConfig(
        name=stack,
        path=path,
        fleet=fleet,
        config={str(key): _config_value(value, path, key) for key, value in config.items()},
    )


def _config_value(value: Any, path: Path, key: Any) -> str:
    # Pulumi hands structured config to programs as JSON strings, plain values as strings.
    if isinstance(value, str):
        return value
    try:
        # Dates and other YAML scalars JSON lacks pass as text, as Pulumi passes them.
        return json.dumps(value, default=str)
    except ValueError as error:  # a recursive alias (`&a [*a]`)
        raise UsageError(f"{path}: config key '{key}' cannot be passed on: {error}") from None


SECURE = "secure"


def _refuse_secrets(value: Any, path: Path, stack: str, where: str = "fleet") -> None:
    """Refuse Pulumi secure values in the fleet: they need the stack's secrets provider."""
    if isinstance(value, dict):
        if set(value) == {SECURE}:
            raise UsageError(
                f"{path}: {where} is a Pulumi secret (secure: ...), encrypted by the stack's "
                "secrets provider, which llmfleet plan cannot reach offline. The fleet holds no "
                "secrets: keep it as plain config (`pulumi config set --path` without --secret), "
                f"or print the plain value with `pulumi config get {FLEET_KEY} --stack {stack}` "
                "and plan a copy of the stack file holding that"
            )
        for key, item in value.items():
            _refuse_secrets(item, path, stack, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_secrets(item, path, stack, f"{where}[{i}]")


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys as Pulumi's YAML reader does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key_node, _ in node.value:
            # `<<` merges may repeat, and keys written after a merge override merged ones.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            first = seen.setdefault(key, key_node)
            if first is not key_node:
                first_line = first.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key_node.value!r} (first at line {first_line}); "
                    "Pulumi refuses duplicate keys, so keep one",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_BOMS = (
    (codecs.BOM_UTF32_LE, None),
    (codecs.BOM_UTF32_BE, None),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
"""Byte-order marks, longest first, and the codec for the ones Pulumi's reader accepts."""

SAVE_AS_UTF8 = "save the file as UTF-8 (in most editors: Save with encoding, UTF-8)"


def _decode(path: Path, data: bytes) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            if codec is None:
                raise UsageError(f"{path}: is UTF-32, which Pulumi cannot read; {SAVE_AS_UTF8}")
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                raise UsageError(
                    f"{path}: starts with a {codec} byte-order mark but is not valid {codec} "
                    f"(byte {error.start}); {SAVE_AS_UTF8}"
                ) from None
    if b"\x00" in data[:4]:
        # YAML's own detection rule: an ASCII first character next to a zero byte is UTF-16.
        order = "little" if data[1:2] == b"\x00" else "big"
        raise UsageError(
            f"{path}: looks like UTF-16 ({order}-endian) without a byte-order mark, which "
            f"neither llmfleet nor Pulumi can read safely; {SAVE_AS_UTF8}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        guess = bytes([byte]).decode("cp1252", errors="replace")
        raise UsageError(
            f"{path}: is not UTF-8: byte 0x{byte:02x} at line {line}, column {column} "
            f"(in Latin-1 / Windows-1252 that is {guess!r}); {SAVE_AS_UTF8}"
        ) from None


def _read_yaml(path: Path) -> Any:
    try:
        text = _decode(path, path.read_bytes())
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    try:
        return yaml.load(text, Loader=_StackFileLoader)
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark or error.context_mark
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        # Keep the context: "expected a single document in the stream, but found another".
        parts = [part for part in (error.context, error.problem) if part]
        raise UsageError(f"{path}: invalid YAML{at}: {', '.join(parts)}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: invalid YAML: {error}") from None
