"""Optimizer"""

__all__: list = []
