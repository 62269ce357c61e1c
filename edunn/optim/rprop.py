"""optim.rprop"""

__all__: list = []
