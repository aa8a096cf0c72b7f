"""Validate custom resources against their upstream CRDs, as close to the API server as JSON
Schema gets.

``validate_custom_resource(obj, crd_path)`` checks the object's group and kind against the CRD,
picks the served version its ``apiVersion`` names and validates against that version's
``openAPIV3Schema``: types, enums, patterns, bounds and required fields. Kubernetes structural
schemas silently prune fields they do not declare, so a misspelt field would vanish instead of
failing; here every object whose schema lists ``properties`` (and neither allows extra keys
through ``additionalProperties`` nor preserves unknown fields) is closed, so unknown keys fail at
any depth. CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml


@cache
def _crd(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def served_schema(crd_path: Path | str, api_version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the served CRD version that ``api_version`` names."""
    crd = _crd(Path(crd_path))
    group, _, version = api_version.rpartition("/")
    if group != crd["spec"]["group"]:
        raise AssertionError(f"{api_version} is not in group {crd['spec']['group']}")
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise AssertionError(f"{api_version} is not served; served: {', '.join(served)}")
    return served[version]["schema"]["openAPIV3Schema"]


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in which every declared object rejects undeclared keys."""
    schema = dict(schema)
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    if "properties" in schema:
        schema["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _closed(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        schema["items"] = _closed(schema["items"])
    # Structural schemas declare every field outside anyOf/allOf/oneOf/not; those only add
    # value checks, so they stay as they are.
    return schema


def _json_numbers(value: Any) -> Any:
    """Pulumi carries every number as a double: ``1.0`` is the integer 1 it was given."""
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def validate_custom_resource(obj: dict[str, Any], crd_path: Path | str) -> None:
    """Raise AssertionError listing every schema violation of ``obj`` (path: message)."""
    crd = _crd(Path(crd_path))
    kind = crd["spec"]["names"]["kind"]
    if obj.get("kind") != kind:
        raise AssertionError(f"kind {obj.get('kind')!r} is not {kind!r}")
    schema = _closed(served_schema(crd_path, obj.get("apiVersion", "")))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(
        validator.iter_errors(_json_numbers(copy.deepcopy(obj))), key=lambda e: list(e.path)
    )
    if errors:
        raise AssertionError(
            f"{kind} {obj.get('metadata', {}).get('name')}:\n"
            + "\n".join(f"  {'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors)
        )


def vendored_crds(schemas_dir: Path) -> dict[tuple[str, str], Path]:
    """Every vendored CRD by (group, kind)."""
    found = {}
    for path in sorted(schemas_dir.glob("*/*.yaml")):
        spec = _crd(path)["spec"]
        found[(spec["group"], spec["names"]["kind"])] = path
    return found
