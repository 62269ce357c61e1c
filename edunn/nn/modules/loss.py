"""nn.loss modules."""

__all__: list = []
