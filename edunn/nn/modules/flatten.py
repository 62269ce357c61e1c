"""nn.flatten modules."""

__all__: list = []
