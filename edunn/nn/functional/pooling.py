"""Pooling (lesson 10)."""

__all__: list = []
