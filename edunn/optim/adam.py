"""optim.adam"""

__all__: list = []
