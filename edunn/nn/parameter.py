"""Parameter"""

__all__: list = []
