"""Resource names the clouds accept: bounded in length, stable across deployments.

Pulumi auto-names a resource ``<logical name>-<7 hex digits>`` with no length limit of its own,
while the clouds refuse long names when the resource is created (IAM roles and EventBridge
rules: 64 characters; GCP key rings, keys, buckets, Compute Engine resources: 63). Names built
from long fleet, region and component names are shortened here, ending in a hash of the whole
name, so they stay unique and never change between deployments.
"""

from __future__ import annotations

import hashlib

GCP_NAME_MAX = 63
"""Key rings, crypto keys, buckets and Compute Engine resources take at most 63 characters."""

AUTONAME_SUFFIX = len("-0123abc")
"""What Pulumi appends to a logical name when it auto-names the resource."""

_DIGEST = 8


def fit_name(name: str, max_length: int) -> str:
    """``name`` when it fits in ``max_length`` characters, else its beginning and a stable hash
    of the whole name (distinct names stay distinct)."""
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]
    return f"{name[: max_length - _DIGEST - 1].rstrip('-')}-{digest}"


def autonamed(name: str, max_length: int = GCP_NAME_MAX) -> str:
    """A logical name whose Pulumi auto-name fits in ``max_length`` characters."""
    return fit_name(name, max_length - AUTONAME_SUFFIX)
