"""The CPU stand-in for CuPy (``tests/fake_cupy``) is as strict as CuPy where it matters: each
check below is a behaviour of CuPy 14.2 that edunn's GPU code must respect.  The stand-in is
installed in a child process (this process may already have imported edunn without CuPy)."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CHECKS = {
    "no_implicit_host_copy": """
        x = cupy.arange(3.0)
        with raises(TypeError, "Implicit conversion to a NumPy array is not allowed"):
            numpy.asarray(x)
        assert isinstance(x.get(), numpy.ndarray) and cupy.asnumpy(x).tolist() == [0.0, 1.0, 2.0]
    """,
    "no_numpy_array_in_a_device_op": """
        x = cupy.arange(3.0)
        for op in (lambda: x + numpy.ones(3), lambda: numpy.ones(3) * x, lambda: cupy.add(x, numpy.ones(3)),
                   lambda: cupy.concatenate([x, numpy.ones(3)])):
            with raises(TypeError, "Unsupported type"):
                op()
        assert (x + numpy.float32(2)).tolist() == [2.0, 3.0, 4.0]   # NumPy scalars are numbers
    """,
    "zero_d_results": """
        x = cupy.arange(4.0)
        for r in (x.sum(), x[1], cupy.max(x), numpy.sum(x)):
            assert type(r) is cupy.ndarray and r.ndim == 0
        assert float(x.sum()) == 6.0
    """,
    "numpy_functions_dispatch_to_the_device": """
        x = cupy.arange(4.0)
        assert type(numpy.exp(x)) is cupy.ndarray and type(numpy.concatenate([x, x])) is cupy.ndarray
        with raises(TypeError, "no implementation found"):
            numpy.busday_count(x, x)           # CuPy has no busday_count
    """,
    "only_cupys_names_and_arguments": """
        with raises(AttributeError, "errstate"):
            cupy.errstate
        with raises(TypeError, "unexpected keyword argument 'stable'"):
            cupy.argsort(cupy.arange(3), stable=True)
        with raises(AttributeError, "normal"):
            cupy.random.default_rng(0).normal
        with raises(NotImplementedError, "accumulate"):
            cupy.maximum.accumulate(cupy.arange(3))
    """,
    "launches_only_on_the_current_device": """
        with cupy.cuda.Device(1):
            y = cupy.ones(3)
        assert y.device.id == 1 and cupy.cuda.runtime.getDevice() == 0
        for op in (lambda: y + 1, lambda: y.sum(), lambda: cupy.exp(y), lambda: y[cupy.asarray([0])]):
            with raises(ValueError, "Array device must be same as the current device"):
                op()
        with cupy.cuda.Device(1):
            assert float((y + 1).sum()) == 6.0
        z = cupy.asarray(y)                   # an explicit copy to the current device
        assert z.device.id == 0 and z.tolist() == [1.0, 1.0, 1.0]
    """,
    "out_of_range_integer_indices_wrap": """
        x = cupy.arange(5)
        assert x[cupy.asarray([5, -6])].tolist() == [0, 4]
    """,
    "synchronisation_can_be_forbidden": """
        x = cupy.arange(3.0)
        with cupyx.allow_synchronize(False):
            y = x * 2
            with raises(cupyx.DeviceSynchronized, "synchronization"):
                y.get()
            with raises(cupyx.DeviceSynchronized, "synchronization"):
                float(y.sum())
    """,
    "generator_state_is_a_live_device_array": """
        g = cupy.random.default_rng(7)
        saved = g.bit_generator._state.copy()
        a = g.random(4)
        g.bit_generator._state[...] = saved
        assert g.random(4).tolist() == a.tolist() and type(a) is cupy.ndarray
    """,
    "memory_pool_counts_live_arrays": """
        pool = cupy.get_default_memory_pool()
        before = pool.used_bytes()
        x = cupy.empty(1000, dtype=cupy.float64)
        assert pool.used_bytes() == before + 8000
        del x
        assert pool.used_bytes() == before
    """,
}

PRELUDE = """
import re, sys
sys.path.insert(0, {tests!r})
import fake_cupy
fake_cupy.install(2)
import cupy, cupyx, numpy

class raises:
    def __init__(self, kind, match):
        self.kind, self.match = kind, match
    def __enter__(self):
        return self
    def __exit__(self, kind, value, tb):
        assert kind is not None, f"expected {{self.kind.__name__}}, nothing was raised"
        assert issubclass(kind, self.kind) and re.search(self.match, str(value)), (kind, value)
        return True
"""


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_stand_in_behaves_as_cupy(name):
    code = PRELUDE.format(tests=str(TESTS)) + textwrap.dedent(CHECKS[name])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
