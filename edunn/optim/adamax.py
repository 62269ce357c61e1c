"""optim.adamax"""

__all__: list = []
