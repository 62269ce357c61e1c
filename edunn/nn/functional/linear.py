"""linear, bilinear, identity (lesson 05)."""

__all__: list = []
