"""optim.nadam"""

__all__: list = []
