"""batch_norm, layer_norm, group_norm, instance_norm, local_response_norm (lesson 11)."""

__all__: list = []
