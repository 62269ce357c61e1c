"""nn.upsampling modules."""

__all__: list = []
