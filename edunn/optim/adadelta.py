"""optim.adadelta"""

__all__: list = []
