"""nn.activation modules."""

__all__: list = []
