"""``edunn.distributed``: process groups and collectives with PyTorch's shape (lesson 18).

Being written; see issue 9."""
__all__: list = []
