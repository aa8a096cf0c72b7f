"""The offline toolchain behind the ``llmfleet`` command (plan, policy report, cost, manifests)."""
