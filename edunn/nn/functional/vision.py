"""pixel_shuffle, interpolate, channel_shuffle (lesson 10)."""

__all__: list = []
