"""Module"""

__all__: list = []
