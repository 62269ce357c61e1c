"""nn.init"""

__all__: list = []
