"""``cupy.random`` of the stand-in: CuPy's ``Generator`` (its methods only) over NumPy's PCG64,
whose state lives in a device array (``bit_generator._state``) as CuPy keeps its curand states,
and the legacy functions over a private ``RandomState``."""
from __future__ import annotations

import inspect
import types

import numpy

from . import _names
from ._array import current_device, ndarray, unwrap
from ._module import ArrayModule

_MASK = (1 << 64) - 1


class _BitGenerator:
    def __init__(self, seed):
        state = numpy.random.PCG64(seed).state
        self._state = ndarray._make(_pack(state), current_device())

    def numpy_generator(self) -> numpy.random.Generator:
        bits = numpy.random.PCG64()
        bits.state = _unpack(self._state._a)
        return numpy.random.Generator(bits)

    def store(self, generator: numpy.random.Generator) -> None:
        self._state._a[...] = _pack(generator.bit_generator.state)


def _pack(state: dict) -> numpy.ndarray:
    s, inc = state["state"]["state"], state["state"]["inc"]
    return numpy.array([s >> 64, s & _MASK, inc >> 64, inc & _MASK, state["has_uint32"],
                        state["uinteger"]], dtype=numpy.uint64)


def _unpack(words: numpy.ndarray) -> dict:
    w = [int(x) for x in words]
    return {"bit_generator": "PCG64", "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
            "has_uint32": w[4], "uinteger": w[5]}


class Generator:
    """``cupy.random.Generator``: only the methods CuPy 14.2's has."""

    def __init__(self, bit_generator):
        self.bit_generator = bit_generator

    def __getattr__(self, name):
        if name.startswith("_") or name not in _names.GENERATOR:
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")

        def draw(*args, dtype=None, out=None, **kwargs):
            if self.bit_generator._state._dev != current_device():
                raise ValueError(f"Array device must be same as the current device: array device = "
                                 f"{self.bit_generator._state._dev} while current = {current_device()}")
            generator = self.bit_generator.numpy_generator()
            method = getattr(generator, name)
            takes_dtype = "dtype" in inspect.signature(method).parameters
            a = unwrap(args, {})
            k = {key: unwrap(v, {}) for key, v in kwargs.items()}
            if takes_dtype and dtype is not None:
                k["dtype"] = dtype
            result = numpy.asarray(method(*a, **k))
            self.bit_generator.store(generator)
            if dtype is not None and not takes_dtype:
                result = result.astype(dtype)
            if out is not None:
                out._a[...] = result
                return out
            return ndarray._make(result, current_device())
        return draw


def default_rng(seed=None) -> Generator:
    if isinstance(seed, ndarray):
        seed = seed.get()
    return Generator(_BitGenerator(seed))


def make_random() -> types.ModuleType:
    legacy = numpy.random.RandomState(0)
    random = ArrayModule("cupy.random", legacy, _names.of("cupy.random"))
    random.default_rng = default_rng
    random.Generator = Generator
    random.seed = legacy.seed
    random.RandomState = numpy.random.RandomState
    random.get_random_state = lambda: legacy
    random.reset_states = lambda: legacy.seed(0)
    return random
