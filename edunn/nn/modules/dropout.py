"""nn.dropout modules."""

__all__: list = []
