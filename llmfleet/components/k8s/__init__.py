"""Cloud-neutral Kubernetes components: cluster add-ons and model-serving deployments."""
