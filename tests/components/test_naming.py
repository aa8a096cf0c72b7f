"""Names the clouds accept: bounded, stable, distinct, clear of Pulumi's auto-name suffix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmfleet.components.naming import AUTONAME_SUFFIX, GCP_NAME_MAX, autonamed, fit_name

LOGICAL_NAMES = st.from_regex(r"[a-z][-a-z0-9]{0,120}[a-z0-9]", fullmatch=True)


def test_a_name_that_fits_is_kept():
    assert fit_name("llm-prod-us-east-1-cluster", 64) == "llm-prod-us-east-1-cluster"
    assert fit_name("x" * 64, 64) == "x" * 64
    assert autonamed("llm-prod-gcp-models-nam4-keyring") == "llm-prod-gcp-models-nam4-keyring"


def test_a_long_name_is_cut_to_the_limit_and_ends_in_a_stable_hash_of_the_whole():
    long_a, long_b = "a" * 70 + "-first", "a" * 70 + "-second"
    fitted = fit_name(long_a, 64)
    assert len(fitted) == 64
    assert fitted.startswith("a" * 55 + "-")
    assert fitted == fit_name(long_a, 64)
    assert fitted != fit_name(long_b, 64)


def test_the_auto_name_suffix_is_a_dash_and_seven_hex_digits():
    assert AUTONAME_SUFFIX == 8


@given(LOGICAL_NAMES)
def test_an_auto_name_never_exceeds_what_gcp_accepts(name):
    shortened = autonamed(name)
    assert len(shortened) + AUTONAME_SUFFIX <= GCP_NAME_MAX
    assert shortened == autonamed(name)
    assert not shortened.startswith("-") and not shortened.endswith("-")


def test_names_shortened_alike_stay_distinct():
    prefix = "llm-serving-prod-gcp-models-europe-west1-europe-west4"
    assert autonamed(f"{prefix}-keyring") != autonamed(f"{prefix}-key")
    assert autonamed(f"{prefix}-keyring").startswith("llm-serving-prod-gcp-models-europe")
