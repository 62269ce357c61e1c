"""lazy"""

__all__: list = []
