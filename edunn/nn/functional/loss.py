"""Loss functions (lesson 06)."""

__all__: list = []
