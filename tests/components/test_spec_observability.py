"""The observability section: SLO thresholds with documented defaults, per-serving overrides and
the notification channel; every refusal names its field."""

from __future__ import annotations

import pytest

from llmfleet.components.spec import ObservabilitySpec, SpecError, parse_fleet

SERVING = {
    "models": [{"name": "llama", "version": "v1", "source": "hf://meta/llama", "parameters_b": 8}],
    "serving": [{"name": "chat", "model": "llama", "version": "v1", "pool": "l4"}],
}
POOLS = [{"name": "l4", "accelerator": "nvidia-l4", "count": 1, "max_nodes": 2}]


def with_observability(config: dict, observability: dict) -> dict:
    config["regions"][0]["cluster"] = {"gpu_pools": POOLS}
    return {**config, **SERVING, "observability": observability}


def problems(config: dict) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as raised:
        parse_fleet(config)
    return raised.value.problems


def test_defaults_are_documented_and_sane():
    spec = ObservabilitySpec()
    assert (spec.ttft_p95_seconds, spec.error_rate, spec.kv_cache_saturation) == (2.0, 0.01, 0.95)
    assert (spec.for_minutes, spec.pending_gpu_pod_minutes, spec.idle_gpu_minutes) == (5, 15, 120)
    assert (spec.capacity_exhausted_minutes, spec.health_check_minutes) == (10, 3)
    assert spec.notify is None
    for name, field in ObservabilitySpec.model_fields.items():
        assert field.description, f"{name} has no docstring"


def test_dev_may_omit_the_channel(dev_config):
    assert parse_fleet(with_observability(dev_config, {})).observability.notify is None


def test_staging_may_omit_the_channel(dev_config):
    dev_config["environment"] = "staging"
    assert parse_fleet(with_observability(dev_config, {})).observability.notify is None


def test_prod_without_a_channel_is_refused(prod_config):
    del prod_config["observability"]
    assert problems(prod_config) == [
        (
            "fleet.observability.notify",
            "required in prod: name where alerts go, e.g. notify: {email: oncall@example.com} "
            "(one of email, sns_topic_arn, pubsub_topic, webhook)",
        )
    ]


def test_prod_with_an_email_channel(prod_fleet):
    notify = prod_fleet.observability.notify
    assert (notify.kind, notify.target) == ("email", "oncall-ml@example.com")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("error_rate", 1.5, "1.5 is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %"),
        ("error_rate", -0.01, "-0.01 is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %"),
        ("kv_cache_saturation", 95, "95 is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %"),
        ("ttft_p95_seconds", -2, "-2 is not above 0: give seconds above 0, e.g. 2.5"),
        ("ttft_p95_seconds", 0, "0 is not above 0: give seconds above 0, e.g. 2.5"),
        ("pending_gpu_pod_minutes", -5, "Input should be greater than or equal to 1"),
        ("idle_gpu_minutes", 5, "Input should be greater than or equal to 10"),
        ("ttft_p95_seconds", "inf", "Input should be a finite number"),
    ],
)
def test_out_of_range_thresholds_are_refused(dev_config, field, value, message):
    config = with_observability(dev_config, {field: value})
    assert problems(config) == [(f"fleet.observability.{field}", message)]


def test_a_serving_override_out_of_range_names_its_path(dev_config):
    config = with_observability(dev_config, {"serving": {"chat": {"error_rate": 2}}})
    assert problems(config) == [
        (
            "fleet.observability.serving.chat.error_rate",
            "2 is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %",
        )
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ttft_p95_seconds", 0, "0 is not above 0: give seconds above 0, e.g. 2.5"),
        ("kv_cache_saturation", 1.2, "1.2 is outside 0 to 1: give a fraction, e.g. 0.05 for 5 %"),
        ("ttft_p95_seconds", "inf", "Input should be a finite number"),
        ("error_rate", "nan", "Input should be a finite number"),
        ("kv_cache_saturation", "nan", "Input should be a finite number"),
    ],
)
def test_every_override_is_checked_like_its_fleet_wide_threshold(dev_config, field, value, message):
    config = with_observability(dev_config, {"serving": {"chat": {field: value}}})
    assert problems(config) == [(f"fleet.observability.serving.chat.{field}", message)]


def test_an_override_for_an_unknown_serving_entry_is_refused(dev_config):
    config = with_observability(dev_config, {"serving": {"caht": {"ttft_p95_seconds": 4}}})
    assert problems(config) == [
        (
            "fleet.observability.serving.caht",
            "'caht' is not a serving entry; allowed: chat",
        )
    ]


def test_overrides_replace_only_what_they_name(dev_config):
    config = with_observability(
        dev_config, {"ttft_p95_seconds": 3, "serving": {"chat": {"error_rate": 0.05}}}
    )
    slo = parse_fleet(config).observability.slo("chat")
    assert (slo.ttft_p95_seconds, slo.error_rate, slo.kv_cache_saturation) == (3, 0.05, 0.95)


@pytest.mark.parametrize(
    ("field", "value"),
    [("error_rate", 0), ("error_rate", 1), ("kv_cache_saturation", 1), ("ttft_p95_seconds", 0.5)],
)
def test_fractions_may_be_0_or_1_and_seconds_below_one(dev_config, field, value):
    config = with_observability(dev_config, {field: value})
    assert getattr(parse_fleet(config).observability, field) == value


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ({}, "give exactly one of email, sns_topic_arn, pubsub_topic, webhook (found: none)"),
        (
            {"email": "a@example.com", "webhook": "https://hooks.example.com/x"},
            "give exactly one of email, sns_topic_arn, pubsub_topic, webhook (found: email, "
            "webhook)",
        ),
    ],
)
def test_exactly_one_channel(dev_config, notify, message):
    config = with_observability(dev_config, {"notify": notify})
    assert problems(config) == [("fleet.observability.notify", message)]


@pytest.mark.parametrize(
    ("kind", "value", "hint"),
    [
        ("email", "oncall", "use an email address, e.g. 'oncall-ml@example.com'"),
        ("webhook", "http://hooks.example.com", "use an https:// URL"),
        ("sns_topic_arn", "llm-alerts", "use an SNS topic ARN"),
        ("pubsub_topic", "llm-alerts", "use projects/<project>/topics/<name>"),
    ],
)
def test_malformed_channels_say_what_is_allowed(dev_config, kind, value, hint):
    [(path, message)] = problems(with_observability(dev_config, {"notify": {kind: value}}))
    assert path == f"fleet.observability.notify.{kind}"
    assert message.startswith(f"{value!r} is not allowed; {hint}")


def test_an_sns_topic_cannot_reach_gcp_alerts(prod_config):
    topic = "arn:aws:sns:us-east-1:123456789012:llm-alerts"
    prod_config["observability"] = {"notify": {"sns_topic_arn": topic}}
    assert problems(prod_config) == [
        (
            "fleet.observability.notify.sns_topic_arn",
            "reaches only aws alerts, but us-central1, europe-west4 run elsewhere; use email or "
            "webhook, which reach both clouds",
        )
    ]


def test_a_pubsub_topic_cannot_reach_aws_alerts(prod_config):
    prod_config["observability"] = {
        "notify": {"pubsub_topic": "projects/llm-prod-serving/topics/llm-alerts"}
    }
    [(path, message)] = problems(prod_config)
    assert path == "fleet.observability.notify.pubsub_topic"
    assert message.startswith("reaches only gcp alerts, but us-east-1, us-west-2 run elsewhere")


def test_an_sns_topic_on_an_aws_only_fleet(dev_config):
    topic = "arn:aws:sns:us-east-1:123456789012:llm-alerts"
    config = with_observability(dev_config, {"notify": {"sns_topic_arn": topic}})
    assert parse_fleet(config).observability.notify.target == topic


@pytest.mark.parametrize("region", ["eu-west-1", "us-west-2"])
def test_an_aws_only_fleets_uptime_alarms_need_a_us_east_1_topic(dev_config, region):
    topic = f"arn:aws:sns:{region}:123456789012:llm-alerts"
    config = with_observability(dev_config, {"notify": {"sns_topic_arn": topic}})
    config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABCDEFGHIJ"}
    assert problems(config) == [
        (
            "fleet.observability.notify.sns_topic_arn",
            "uptime alarms of routing.domain live in us-east-1 (where Route 53 publishes "
            "health-check metrics) and notify only a topic there; use a us-east-1 topic, or "
            "email or webhook",
        )
    ]
    config["observability"]["notify"]["sns_topic_arn"] = topic.replace(region, "us-east-1")
    assert parse_fleet(config).observability.notify.kind == "sns_topic_arn"


@pytest.mark.parametrize(
    ("kind", "target"),
    [("email", "oncall-ml@example.com"), ("webhook", "https://hooks.example.com/alerts")],
)
def test_email_and_webhooks_reach_an_aws_only_fleets_uptime_alarms(dev_config, kind, target):
    config = with_observability(dev_config, {"notify": {kind: target}})
    config["routing"] = {"domain": "llm.example.com", "zone": "Z0123456789ABCDEFGHIJ"}
    assert parse_fleet(config).observability.notify.target == target


@pytest.mark.parametrize(
    ("field", "highest"),
    [
        ("for_minutes", 1440),
        ("capacity_exhausted_minutes", 1440),
        ("pending_gpu_pod_minutes", 1440),
        ("idle_gpu_minutes", 10080),
        ("health_check_minutes", 60),
    ],
)
def test_durations_have_a_documented_ceiling(dev_config, field, highest):
    config = with_observability(dev_config, {field: highest})
    assert getattr(parse_fleet(config).observability, field) == highest
    config = with_observability(dev_config, {field: highest + 1})
    assert problems(config) == [
        (f"fleet.observability.{field}", f"Input should be less than or equal to {highest}")
    ]


@pytest.mark.parametrize("field", ["ttft_p95_seconds", "error_rate", "kv_cache_saturation"])
def test_fleet_wide_thresholds_are_finite(dev_config, field):
    for value in ("nan", "inf"):
        config = with_observability(dev_config, {field: value})
        assert problems(config) == [
            (f"fleet.observability.{field}", "Input should be a finite number")
        ]


@pytest.mark.parametrize(
    "field",
    [
        "for_minutes",
        "capacity_exhausted_minutes",
        "pending_gpu_pod_minutes",
        "health_check_minutes",
    ],
)
def test_durations_of_one_minute_are_the_shortest(dev_config, field):
    assert (
        getattr(parse_fleet(with_observability(dev_config, {field: 1})).observability, field) == 1
    )
    assert problems(with_observability(dev_config, {field: 0})) == [
        (f"fleet.observability.{field}", "Input should be greater than or equal to 1")
    ]
