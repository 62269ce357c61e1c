"""nn.instancenorm modules."""

__all__: list = []
