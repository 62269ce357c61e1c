"""containers"""

__all__: list = []
