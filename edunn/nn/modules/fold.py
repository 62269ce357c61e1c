"""nn.fold modules."""

__all__: list = []
