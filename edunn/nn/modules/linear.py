"""nn.linear modules."""

__all__: list = []
