"""Ownership tags: every tagged or labelled resource says who owns it and who pays for it."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

REQUIRED_KEYS = ("owner", "cost-center")

# Where each cloud keeps a resource's tags. GKE clusters label their resources separately.
_TAG_PROPERTIES = {"aws": ("tags",), "gcp": ("labels", "resourceLabels")}

# Cloud Monitoring keeps a resource's own labels in userLabels; a notification channel's
# `labels` are its configuration (the address it notifies).
_MONITORING = ("gcp:monitoring/", ("userLabels",))


def _tag_sets(args: ResourceValidationArgs) -> list[tuple[str, dict]]:
    cloud = args.resource_type.split(":", 1)[0]
    properties = _TAG_PROPERTIES.get(cloud, ())
    if args.resource_type.startswith(_MONITORING[0]):
        properties = _MONITORING[1]
    return [
        (prop, args.props[prop]) for prop in properties if isinstance(args.props.get(prop), dict)
    ]


def _require_owner_and_cost_center(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    for prop, tags in _tag_sets(args):
        missing = [key for key in REQUIRED_KEYS if not tags.get(key)]
        if missing:
            report_violation(f"{prop} lacks {', '.join(missing)}", args.urn)


required_ownership_tags = ResourceValidationPolicy(
    name="required-ownership-tags",
    description="Tagged AWS and labelled GCP resources carry owner and cost-center.",
    validate=_require_owner_and_cost_center,
)

POLICIES = [required_ownership_tags]
