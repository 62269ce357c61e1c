"""optim.rmsprop"""

__all__: list = []
