"""The Pulumi SDK internals the recorder relies on, named once.

The mock runtime's public API (``pulumi.runtime.set_mocks`` and ``Mocks``) hands a mock the
inputs of each resource but not the request the engine would get: parent, provider,
dependencies, protect and the other options the plan and the policy pack judge. The recorder
therefore extends the SDK's own ``MockMonitor`` and runs programs the way the language host
does, which needs the names below. None of them is public: any SDK release may move or change
them. ``tests/llmfleet/test_pulumi_internals.py`` checks every one against the installed SDK
and fails naming what changed, so an upgrade breaks a test, not a plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pulumi.runtime import mocks as _mocks
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc as _rpc
from pulumi.runtime.proto import resource_pb2 as _resource_pb2
from pulumi.runtime.proto import source_pb2 as _source_pb2
from pulumi.runtime.settings import ROOT as _ROOT
from pulumi.runtime.stack import run_pulumi_func as _run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

TESTED_SDK = "3.272"
"""The pulumi SDK version these internals were last checked against."""

MockMonitor = _mocks.MockMonitor
"""The mock resource monitor ``set_mocks`` installs by default; the recorder extends it."""
ResourceRegistration = _mocks.MockMonitor.ResourceRegistration
"""What ``MockMonitor`` keeps per URN (``urn``, ``id``, ``state``); reads and invokes of the
program look resources up there."""
RegisterResourceResponse = _resource_pb2.RegisterResourceResponse
"""The engine's answer to a registration (URN, id, output properties)."""

deserialize_properties = _rpc.deserialize_properties
"""A request's protobuf ``object`` -> Python values (secrets stay wrapped)."""
serialize_properties = _rpc.serialize_properties
"""Python values -> the protobuf struct a response carries (a coroutine)."""
UNKNOWN = _rpc.UNKNOWN
"""The value standing for an output not known during preview."""
SIGNATURE_KEY = _rpc._special_sig_key
"""Key marking a special value (secret, asset, resource reference) in a property map."""
SECRET_SIGNATURE = _rpc._special_secret_sig
"""The signature of a secret: ``{SIGNATURE_KEY: SECRET_SIGNATURE, "value": ...}``."""

ensure_event_loop = _ensure_event_loop
"""Gives the monitor's thread an event loop (deserialising resource references needs one)."""
sync_await = _sync_await
"""Runs a coroutine to completion on the SDK's loop, from synchronous code."""
run_program = _run_pulumi_func
"""Runs a program as the language host does: a stack resource around it, every output and
registration awaited before it returns (a coroutine)."""
ROOT = _ROOT
"""The context variable holding the stack resource; cleared before each recording so one
program's stack is not the next one's parent."""

STACK_TRACE_OWNER = _resource
"""The module whose ``_get_stack_trace()`` every registration calls for its source position."""
StackTrace = _source_pb2.StackTrace
"""What ``_get_stack_trace`` returns; empty, the registration carries no source position."""


@contextmanager
def without_source_positions() -> Iterator[None]:
    """Registrations carry no stack trace or source position while inside.

    The SDK extracts the whole Python stack, with each frame's source line, for every resource
    it registers (for the engine's diagnostics); components nest deeply, so that walk is a good
    part of a plan's time, and the recording monitor never reads it.
    """
    original = STACK_TRACE_OWNER._get_stack_trace
    STACK_TRACE_OWNER._get_stack_trace = StackTrace
    try:
        yield
    finally:
        STACK_TRACE_OWNER._get_stack_trace = original
