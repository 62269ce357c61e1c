"""nn.channelshuffle modules."""

__all__: list = []
