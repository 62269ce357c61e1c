"""Activation functions and the softmax family (lessons 05, 06)."""

__all__: list = []
