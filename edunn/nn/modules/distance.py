"""nn.distance modules."""

__all__: list = []
