"""nn.conv modules."""

__all__: list = []
