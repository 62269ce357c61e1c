"""nn.padding modules."""

__all__: list = []
