"""optim.lbfgs"""

__all__: list = []
