"""optim.adamw"""

__all__: list = []
