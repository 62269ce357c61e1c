"""Small helpers the lessons use for pictures (plots and animations made by edunn itself).

Nothing here is part of the PyTorch-like API; ``import edunn`` does not import this package.
"""
