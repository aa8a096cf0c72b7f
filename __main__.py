"""Component provider entry point: ``pulumi package add`` runs this (PulumiPlugin.yaml).

It hosts llmfleet's package components (llmfleet/components/package.py) for programs in
any language.
"""

from pulumi.provider.experimental import component_provider_host

from llmfleet.components.package import COMPONENTS, PACKAGE

if __name__ == "__main__":
    component_provider_host(components=COMPONENTS, name=PACKAGE, version="0.1.0")
