"""nn.normalization modules."""

__all__: list = []
