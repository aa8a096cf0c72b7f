"""The Pulumi SDK internals the recorder relies on still are what it expects.

Every check names what changed: after an SDK upgrade a failure here says which private name
moved or changed shape, and llmfleet/pulumi_internals.py is the one file to adapt.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from importlib.metadata import version

import pulumi
import pytest

from llmfleet import pulumi_internals as sdk
from llmfleet.recorder import ProviderMocks

SDK = version("pulumi")


def test_mock_monitor_still_registers_and_keeps_resources():
    for method in ("RegisterResource", "make_urn", "Invoke", "ReadResource", "SupportsFeature"):
        assert callable(getattr(sdk.MockMonitor, method, None)), (
            f"pulumi {SDK}: MockMonitor.{method} is gone (tested with {sdk.TESTED_SDK})"
        )
    params = list(inspect.signature(sdk.MockMonitor.__init__).parameters)
    assert params[:2] == ["self", "mocks"], f"pulumi {SDK}: MockMonitor({params}) changed"
    monitor = sdk.MockMonitor(ProviderMocks())
    assert monitor.resources == {}, f"pulumi {SDK}: MockMonitor.resources is not a dict"
    assert sdk.ResourceRegistration._fields == ("urn", "id", "state"), (
        f"pulumi {SDK}: ResourceRegistration fields are {sdk.ResourceRegistration._fields}"
    )


def test_property_serialisation_round_trips_and_marks_secrets():
    # Secrets serialise as secrets only when the monitor says it supports them, as the
    # recorder's monitor does; without one (this test alone) they would go out in plain text.
    pulumi.runtime.set_mocks(ProviderMocks(), preview=False)
    struct = sdk.sync_await(sdk.serialize_properties({"a": 1, "s": pulumi.Output.secret("x")}, {}))
    back = sdk.deserialize_properties(struct)
    assert back["a"] == 1, f"pulumi {SDK}: serialise/deserialise changed numbers: {back}"
    assert back["s"] == {sdk.SIGNATURE_KEY: sdk.SECRET_SIGNATURE, "value": "x"}, (
        f"pulumi {SDK}: secrets deserialise as {back['s']!r}, not the signature map"
    )
    assert isinstance(sdk.UNKNOWN, str) and sdk.UNKNOWN, f"pulumi {SDK}: rpc.UNKNOWN changed"


def test_response_carries_urn_id_and_object():
    fields = set(sdk.RegisterResourceResponse.DESCRIPTOR.fields_by_name)
    assert {"urn", "id", "object"} <= fields, f"pulumi {SDK}: RegisterResourceResponse {fields}"


def test_program_runner_and_root_context():
    assert inspect.iscoroutinefunction(sdk.run_program) or asyncio.iscoroutinefunction(
        sdk.run_program
    ), f"pulumi {SDK}: run_pulumi_func is no longer a coroutine function"
    assert list(inspect.signature(sdk.run_program).parameters)[:1] == ["func"], (
        f"pulumi {SDK}: run_pulumi_func{inspect.signature(sdk.run_program)} changed"
    )
    assert isinstance(sdk.ROOT, contextvars.ContextVar), f"pulumi {SDK}: settings.ROOT moved"
    sdk.ensure_event_loop()
    assert sdk.sync_await(asyncio.sleep(0, result=7)) == 7, f"pulumi {SDK}: _sync_await changed"


def test_registrations_take_their_stack_trace_from_one_function():
    get = getattr(sdk.STACK_TRACE_OWNER, "_get_stack_trace", None)
    assert callable(get), f"pulumi {SDK}: resource._get_stack_trace is gone"
    assert not inspect.signature(get).parameters, f"pulumi {SDK}: _get_stack_trace takes args"
    assert isinstance(get(), sdk.StackTrace), f"pulumi {SDK}: _get_stack_trace returns {get()!r}"


def test_without_source_positions_empties_stack_traces_and_restores_the_sdk():
    original = sdk.STACK_TRACE_OWNER._get_stack_trace
    with pytest.raises(RuntimeError), sdk.without_source_positions():
        assert sdk.STACK_TRACE_OWNER._get_stack_trace() == sdk.StackTrace()
        raise RuntimeError
    assert sdk.STACK_TRACE_OWNER._get_stack_trace is original
