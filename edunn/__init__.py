"""edunn: a deep-learning framework you build yourself, lesson by lesson, with PyTorch's API.

``import edunn as torch`` should make a typical small PyTorch script run unchanged.  The layers,
bottom to top (each imports only from those below it):

1. ``backend.py``  -- the only file that knows NumPy and CuPy;
2. ``autograd/``   -- ``Function``, the graph, backward, grad modes, gradcheck;
3. ``tensor.py`` and ``ops/`` -- the ``Tensor`` and every differentiable op.
"""
from . import backend
from .backend import (device, dtype, Generator, manual_seed, initial_seed, seed, get_default_dtype,
                      set_default_dtype, get_default_device, set_default_device, promote_types, finfo, iinfo,
                      bool_ as bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32,
                      float64, memory_format, contiguous_format, channels_last,
                      channels_last_3d, preserve_format)
from .backend import e, inf, nan, newaxis, pi  # noqa: F401  (torch.pi ...: math's numbers, and None)
from .tensor import Tensor, Size
from .autograd import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled)
from . import autograd
from . import cuda
from ._tensor_str import set_printoptions, get_printoptions, printoptions
from ._runtime import (get_num_threads, set_num_threads, get_float32_matmul_precision,  # noqa: F401
                       set_float32_matmul_precision)
from .ops.creation import *  # noqa: F401,F403  (tensor, zeros, arange, rand, ...)
from .ops.elementwise import *  # noqa: F401,F403  (add, exp, tanh, eq, ...)
from .ops.reduction import *  # noqa: F401,F403  (sum, mean, max, var, ...)
from .ops.shape import *  # noqa: F401,F403  (reshape, cat, stack, split, ...)
from .ops.indexing import *  # noqa: F401,F403  (gather, scatter, where, ...)
from .ops.linalg import *  # noqa: F401,F403  (matmul, einsum, ...)
from .ops.sorting import *  # noqa: F401,F403  (sort, topk, ...)
from .ops.conversion import *  # noqa: F401,F403
from .ops.softmax import softmax, log_softmax  # noqa: F401
from .ops.gamma import *  # noqa: F401,F403  (lgamma, digamma, polygamma, ...)
from .ops.normal import *  # noqa: F401,F403
from .ops.bessel import *  # noqa: F401,F403  (i0)
from .ops.decompositions import *  # noqa: F401,F403  (svd, qr, cholesky, ...)
from .ops.differences import *  # noqa: F401,F403  (diff, trapezoid, cdist, dist)
from .ops.covariance import *  # noqa: F401,F403  (cov, corrcoef)
from .ops.histograms import *  # noqa: F401,F403  (histogram, histogramdd)
from .ops.construction import *  # noqa: F401,F403  (block_diag, combinations, vander, ...)
from .ops.scatter_views import *  # noqa: F401,F403  (select, select_scatter, slice_scatter, ...)
from .ops.utilities import *  # noqa: F401,F403  (isin, renorm, rsub, fill, use_deterministic_algorithms, ...)
from .ops.windows import *  # noqa: F401,F403  (hann_window, kaiser_window, ...)
from .ops.spectral import *  # noqa: F401,F403  (stft, istft)
from .ops.complex import *  # noqa: F401,F403  (real, imag, view_as_real, polar, angle, conj, ...)
from .ops.inplace_toplevel import *  # noqa: F401,F403  (abs_, clamp_, exp_, ...)
from .ops.view_copies import *  # noqa: F401,F403  (permute_copy, split_copy, unsafe_split, ...)
from .ops.strided import *  # noqa: F401,F403  (as_strided, as_strided_, as_strided_scatter)
from .ops.numerical import *  # noqa: F401,F403  (gradient)
from .ops.runtime_queries import *  # noqa: F401,F403  (get_device, typename, set_anomaly_enabled, ...)
from .ops.linalg_extra import *  # noqa: F401,F403  (addr, nuclear_norm, frobenius_norm)
from .ops.index_reduce import *  # noqa: F401,F403  (index_reduce)
from .ops.interop import *  # noqa: F401,F403  (frombuffer, from_dlpack, to_dlpack, range)
from .ops.sampling import *  # noqa: F401,F403  (poisson, binomial)
from .ops.lowrank import *  # noqa: F401,F403  (svd_lowrank, pca_lowrank)
from . import special, linalg  # noqa: E402,F401  (torch.special and torch.linalg)
from . import fft, signal  # noqa: E402,F401  (torch.fft and torch.signal)
from . import sparse  # noqa: E402
from .sparse import sparse_coo_tensor, layout, strided, sparse_coo  # noqa: E402,F401
from .sparse import smm, hspmm, sspaddmm, dsmm, spmm, saddmm  # noqa: E402,F401
from . import nn, optim  # noqa: E402  (layers 4 and 5: they use everything above)
from . import distributions  # noqa: E402,F401
from .nn._top_level import *  # noqa: E402,F401,F403
from .serialization import save, load  # noqa: E402
from ._typed_tensors import *  # noqa: E402,F401,F403  (FloatTensor ... BoolTensor, set_default_tensor_type)
from .storage import UntypedStorage, TypedStorage, is_storage, from_file  # noqa: E402,F401
from ._storage_typed import (FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage, ByteStorage,  # noqa: E402,F401
                             CharStorage, ShortStorage, IntStorage, LongStorage, BoolStorage,
                             ComplexFloatStorage, ComplexDoubleStorage, Storage)
from . import quasirandom, hub, multiprocessing  # noqa: E402,F401
from . import futures  # noqa: E402,F401  (torch.futures: Future, collect_all, wait_all)
from . import distributed  # noqa: E402,F401  (mpi4py/cupy imported by init_process_group only)
from . import random, testing, func, amp  # noqa: E402,F401
from . import backends, cpu, accelerator, compiler  # noqa: E402,F401  (torch.backends, torch.cpu, ...)
from ._compile import compile  # noqa: E402,F401  (torch.compile: runs eagerly)
from . import profiler  # noqa: E402,F401  (torch.profiler; loads edunn.autograd.profiler too)
from .func import vmap  # noqa: E402,F401  (torch.vmap is torch.func.vmap)
from .amp import (autocast, is_autocast_enabled, set_autocast_enabled, get_autocast_dtype,  # noqa: E402,F401
                  set_autocast_dtype, is_autocast_cpu_enabled, set_autocast_cpu_enabled, get_autocast_cpu_dtype,
                  set_autocast_cpu_dtype, get_autocast_gpu_dtype, set_autocast_gpu_dtype, is_autocast_ipu_enabled,
                  set_autocast_ipu_enabled, get_autocast_ipu_dtype, set_autocast_ipu_dtype, is_autocast_xla_enabled,
                  set_autocast_xla_enabled, get_autocast_xla_dtype, set_autocast_xla_dtype,
                  is_autocast_cache_enabled, set_autocast_cache_enabled, clear_autocast_cache,
                  autocast_increment_nesting, autocast_decrement_nesting)

half, float, double = float16, float32, float64
from .backend import complex32, complex64, complex128  # noqa: E402
cfloat, cdouble, chalf = complex64, complex128, complex32
long, int, short = int64, int32, int16

__version__ = "0.1.0"


def is_tensor(obj) -> "builtins.bool":
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> "builtins.bool":
    return input.is_floating_point()


def numel(input: Tensor) -> "builtins.int":
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype ``tensor1 op tensor2`` would have (either may be a Python number), by PyTorch's
    promotion rules (lesson 01)."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor):
        return backend.result_type(tensor1.dtype, tensor1.ndim, tensor2.dtype, tensor2.ndim)
    if isinstance(tensor1, Tensor):
        return backend.scalar_result_type(tensor1.dtype, tensor2)
    if isinstance(tensor2, Tensor):
        return backend.scalar_result_type(tensor2.dtype, tensor1)
    return backend.scalar_result_type(backend.scalar_default_dtype(tensor1), tensor2)


def can_cast(from_: dtype, to: dtype) -> "builtins.bool":
    """Whether PyTorch's casting rule lets a value of ``from_`` be stored into ``to`` (a float
    does not go into an integer tensor, nor anything non-bool into a bool one)."""
    return backend.can_cast_result(from_.np, to.np)


from .random import get_rng_state, set_rng_state  # noqa: E402  (one implementation, in random.py)


default_generator = backend.default_generator()
