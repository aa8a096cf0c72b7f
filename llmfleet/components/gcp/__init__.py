"""GCP components: network, cluster, storage and routing on pulumi-gcp."""
