"""nn.pooling modules."""

__all__: list = []
