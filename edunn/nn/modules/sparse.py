"""nn.sparse modules."""

__all__: list = []
