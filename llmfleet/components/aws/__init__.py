"""AWS components: network, cluster, storage and routing on pulumi-aws v7."""
