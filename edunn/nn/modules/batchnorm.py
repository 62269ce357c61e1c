"""nn.batchnorm modules."""

__all__: list = []
