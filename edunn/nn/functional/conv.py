"""Convolution, transposed convolution, unfold and fold, by im2col (lesson 09)."""

__all__: list = []
