"""llmfleet component library: Pulumi components for large-model serving fleets."""
