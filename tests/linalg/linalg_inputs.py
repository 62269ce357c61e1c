"""Input makers shared by the tests of ``edunn.linalg``: well-conditioned, symmetric positive-
definite and triangular matrices (numpy arrays, for ``OpSpec.make_inputs``)."""
import numpy as np


def general(*shape):
    """Random matrices with a boosted diagonal (well-conditioned when square)."""
    def make(rng):
        a = rng.normal(size=shape)
        m, n = shape[-2:]
        a[..., range(min(m, n)), range(min(m, n))] += 3.0
        return [a]
    return make


def plain(*shapes):
    """Standard normal arrays of the given shapes."""
    return lambda rng: [rng.normal(size=s) for s in shapes]


def spd(*shape):
    """Symmetric positive-definite matrices."""
    def make(rng):
        a = rng.normal(size=shape)
        return [a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])]
    return make


def with_rhs(a_shape, b_shape):
    """A well-conditioned A and a standard normal B."""
    def make(rng):
        return general(*a_shape)(rng) + [rng.normal(size=b_shape)]
    return make
