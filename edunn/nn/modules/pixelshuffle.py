"""nn.pixelshuffle modules."""

__all__: list = []
