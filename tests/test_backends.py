"""``edunn.backends`` against ``torch.backends`` (PyTorch 2.13, CPU build): the same names and
signatures, the same defaults where both describe the same thing, flags that are set, read back
and restored by the ``flags()`` context managers, the float32-precision table's inheritance
rules, the attention switches shared with ``edunn.nn.attention``, and ``opt_einsum`` wired to
``einsum``."""
from __future__ import annotations

import inspect
import types
import warnings

import pytest

import edunn
import edunn.backends as eb
from opcheck import needs_torch, torch

# helpers that torch's modules import and that are not part of their API
_HELPERS = {"Any", "Optional", "TYPE_CHECKING", "contextmanager", "ContextProp", "PropModule", "deprecated",
            "contextlib", "CudnnModule", "MkldnnModule", "OptEinsumModule", "QuantizedEngine", "MiopenModule",
            "PythonNativeModule", "DSLController", "functools", "m", "warnings", "sys", "os", "types", "torch",
            "Library", "CUDNN_TENSOR_DTYPES", "flags_frozen"}
SUBMODULES = ["cudnn", "cuda", "mps", "mkl", "mkldnn", "openmp", "opt_einsum", "cpu", "quantized", "nnpack",
              "miopen", "cusparselt", "kleidiai", "mha", "python_native"]


def _public(mod) -> dict:
    """Public attributes of a (possibly property-carrying) torch/edunn backends module."""
    names = dict(vars(mod))
    inner = getattr(mod, "m", None)
    if isinstance(inner, types.ModuleType):
        names.update(vars(inner))
    names.update({k: v for k, v in vars(type(mod)).items() if not k.startswith("__")})
    return {k: v for k, v in names.items() if not k.startswith("_") and k not in _HELPERS
            and not isinstance(v, types.ModuleType)}


def param_spec(fn) -> list:
    """Parameter names, kinds and defaults (annotations aside; dtype defaults by name)."""
    def default(value):
        if value is inspect.Parameter.empty:
            return "<empty>"
        return str(value).split(".")[-1] if "dtype" in type(value).__name__ else repr(value)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return ["<no signature>"]
    return [(p.name, p.kind, default(p.default)) for p in sig.parameters.values()]


@pytest.fixture
def restore_torch_flags():
    """Put torch's and edunn's global flags back after a test that changes them."""
    saved_t = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic, torch.backends.cudnn.enabled,
               torch.get_float32_matmul_precision())
    saved_e = edunn.get_float32_matmul_precision()
    yield
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic, torch.backends.cudnn.enabled = saved_t[:3]
    torch.backends.fp32_precision = "none"
    for b, ops in (("cuda", ("all", "matmul", "conv", "rnn")), ("mkldnn", ("all", "matmul", "conv", "rnn"))):
        for op in ops:
            torch._C._set_fp32_precision_setter(b, op, "none")
    torch.set_float32_matmul_precision(saved_t[3])
    eb._fp32_precision.update({k: "none" for k in eb._fp32_precision})
    edunn.set_float32_matmul_precision(saved_e)


@needs_torch
@pytest.mark.parametrize("name", SUBMODULES)
def test_every_torch_name_exists_with_its_signature(name):
    t_names, e_mod = _public(getattr(torch.backends, name)), getattr(eb, name)
    e_names = _public(e_mod)
    missing = sorted(set(t_names) - set(e_names))
    assert not missing, f"edunn.backends.{name} lacks {missing}"
    t_mod = getattr(torch.backends, name)
    for attr in t_names:
        t_value = getattr(t_mod, attr)
        if callable(t_value) and not isinstance(t_value, type) and inspect.isroutine(inspect.unwrap(t_value)):
            assert param_spec(getattr(e_mod, attr)) == param_spec(t_value), f"{name}.{attr}"


@needs_torch
def test_top_level_names_and_submodules():
    for attr in ("disable_global_flags", "flags_frozen", "set_flags", "flags", "ContextProp", "PropModule",
                 "fp32_precision", *SUBMODULES):
        assert hasattr(eb, attr), attr
    for attr in ("set_flags", "flags", "disable_global_flags", "flags_frozen"):
        assert param_spec(getattr(eb, attr)) == param_spec(getattr(torch.backends, attr)), attr
    assert edunn.backends is eb and eb.fp32_precision == torch.backends.fp32_precision == "none"


@needs_torch
def test_defaults_equal_torch_cpu_build():
    tb = torch.backends
    pairs = {
        "cudnn.enabled": (eb.cudnn.enabled, tb.cudnn.enabled),
        "cudnn.benchmark": (eb.cudnn.benchmark, tb.cudnn.benchmark),
        "cudnn.deterministic": (eb.cudnn.deterministic, tb.cudnn.deterministic),
        "cudnn.allow_tf32": (eb.cudnn.allow_tf32, tb.cudnn.allow_tf32),
        "cudnn.benchmark_limit": (eb.cudnn.benchmark_limit, tb.cudnn.benchmark_limit),
        "cudnn.fp32_precision": (eb.cudnn.fp32_precision, tb.cudnn.fp32_precision),
        "cudnn.conv.fp32_precision": (eb.cudnn.conv.fp32_precision, tb.cudnn.conv.fp32_precision),
        "cudnn.depthwise_kernel": (eb.cudnn.depthwise_kernel, tb.cudnn.depthwise_kernel),
        "cudnn.is_available": (eb.cudnn.is_available(), tb.cudnn.is_available()),
        "cudnn.version": (eb.cudnn.version(), tb.cudnn.version()),
        "matmul.allow_tf32": (eb.cuda.matmul.allow_tf32, tb.cuda.matmul.allow_tf32),
        "matmul.fp32_precision": (eb.cuda.matmul.fp32_precision, tb.cuda.matmul.fp32_precision),
        "matmul.fp16": (eb.cuda.matmul.allow_fp16_reduced_precision_reduction,
                        tb.cuda.matmul.allow_fp16_reduced_precision_reduction),
        "matmul.fp16_split_k": (eb.cuda.matmul.allow_fp16_reduced_precision_reduction_split_k,
                                tb.cuda.matmul.allow_fp16_reduced_precision_reduction_split_k),
        "matmul.bf16": (eb.cuda.matmul.allow_bf16_reduced_precision_reduction,
                        tb.cuda.matmul.allow_bf16_reduced_precision_reduction),
        "matmul.fp16_acc": (eb.cuda.matmul.allow_fp16_accumulation, tb.cuda.matmul.allow_fp16_accumulation),
        "flash_sdp": (eb.cuda.flash_sdp_enabled(), tb.cuda.flash_sdp_enabled()),
        "mem_efficient_sdp": (eb.cuda.mem_efficient_sdp_enabled(), tb.cuda.mem_efficient_sdp_enabled()),
        "math_sdp": (eb.cuda.math_sdp_enabled(), tb.cuda.math_sdp_enabled()),
        "cudnn_sdp": (eb.cuda.cudnn_sdp_enabled(), tb.cuda.cudnn_sdp_enabled()),
        "fp16_bf16_math_sdp": (eb.cuda.fp16_bf16_reduction_math_sdp_allowed(),
                               tb.cuda.fp16_bf16_reduction_math_sdp_allowed()),
        "flash_available": (eb.cuda.is_flash_attention_available(), tb.cuda.is_flash_attention_available()),
        "ck": (eb.cuda.is_ck_sdpa_available(), tb.cuda.is_ck_sdpa_available()),
        "linalg_lib": (eb.cuda.preferred_linalg_library().name, tb.cuda.preferred_linalg_library().name),
        "blas_lib": (eb.cuda.preferred_blas_library().name, tb.cuda.preferred_blas_library().name),
        "rocm_fa_lib": (eb.cuda.preferred_rocm_fa_library().name, tb.cuda.preferred_rocm_fa_library().name),
        "mps": (eb.mps.is_available(), tb.mps.is_available()), "mps_built": (eb.mps.is_built(), tb.mps.is_built()),
        "mkldnn.enabled": (eb.mkldnn.enabled, tb.mkldnn.enabled),
        "mkldnn.deterministic": (eb.mkldnn.deterministic, tb.mkldnn.deterministic),
        "mkldnn.fp32": (eb.mkldnn.fp32_precision, tb.mkldnn.fp32_precision),
        "mkldnn.matmul": (eb.mkldnn.matmul.fp32_precision, tb.mkldnn.matmul.fp32_precision),
        "mkldnn.acl": (eb.mkldnn.is_acl_available(), tb.mkldnn.is_acl_available()),
        "cpu": (eb.cpu.get_cpu_capability(), tb.cpu.get_cpu_capability()),
        "miopen.immediate": (eb.miopen.immediate, tb.miopen.immediate),
        "cusparselt": (eb.cusparselt.is_available(), tb.cusparselt.is_available()),
        "cusparselt.version": (eb.cusparselt.version(), tb.cusparselt.version()),
        "cusparselt.alg": (eb.cusparselt.get_max_alg_id(), tb.cusparselt.get_max_alg_id()),
        "kleidiai": (eb.kleidiai.is_available(), tb.kleidiai.is_available()),
        "mha": (eb.mha.get_fastpath_enabled(), tb.mha.get_fastpath_enabled()),
        "python_native.all": (eb.python_native.all_dsls, tb.python_native.all_dsls),
        "python_native.available": (eb.python_native.available_dsls, tb.python_native.available_dsls),
        "triton": (repr(eb.python_native.triton), repr(tb.python_native.triton)),
    }
    wrong = {k: v for k, v in pairs.items() if v[0] != v[1]}
    assert not wrong, wrong


def test_truthful_library_answers():
    """What edunn itself has: NumPy's BLAS decides MKL; no oneDNN, no MPS, no cuDNN kernels."""
    from threadpoolctl import threadpool_info
    edunn.ones(2, 2) @ edunn.ones(2, 2)
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert eb.mkl.is_available() == any(p["internal_api"] == "mkl" for p in blas)
    assert eb.mkldnn.is_available() is False and eb.cudnn.is_available() is False
    assert eb.nnpack.is_available() is False and eb.kleidiai.is_available() is False
    assert eb.cuda.is_built() == (edunn.backend.cupy is not None)
    assert eb.opt_einsum.is_available() is True and eb.opt_einsum.get_opt_einsum() is None
    assert isinstance(eb.openmp.is_available(), bool)
    assert eb.quantized.engine == "none" and eb.quantized.supported_engines == ["none"]


def test_mps_queries_raise():
    for fn in (eb.mps.get_name, eb.mps.get_core_count, lambda: eb.mps.is_macos_or_newer(13, 0),
               eb.mps.is_macos13_or_newer):
        with pytest.raises(RuntimeError, match="without MPS backend"):
            fn()


def test_cudnn_flags_set_read_back_and_restored():
    assert eb.cudnn.benchmark is False
    eb.cudnn.benchmark = True
    try:
        assert eb.cudnn.benchmark is True
        with eb.cudnn.flags(enabled=False, benchmark=False, deterministic=True, allow_tf32=False):
            assert (eb.cudnn.enabled, eb.cudnn.benchmark, eb.cudnn.deterministic, eb.cudnn.allow_tf32) == (
                False, False, True, False)
            assert eb.cudnn.conv.fp32_precision == "ieee"
        assert (eb.cudnn.enabled, eb.cudnn.benchmark, eb.cudnn.deterministic, eb.cudnn.allow_tf32) == (
            True, True, False, True)
    finally:
        eb.cudnn.benchmark = False
        eb._fp32_precision.update({k: "none" for k in eb._fp32_precision})
    with pytest.raises(TypeError, match="bool"):
        eb.cudnn.benchmark = "yes"
    with pytest.raises(RuntimeError, match="depthwise_kernel"):
        eb.cudnn.depthwise_kernel = "fast"
    # deterministic is independent of use_deterministic_algorithms, as in PyTorch
    eb.cudnn.deterministic = True
    assert edunn.are_deterministic_algorithms_enabled() is False
    eb.cudnn.deterministic = False


@needs_torch
def test_is_acceptable_matches_torch():
    for t, e in ((torch.ones(2), edunn.ones(2)), (torch.ones(2, dtype=torch.int64), edunn.ones(2, dtype=edunn.int64))):
        assert eb.cudnn.is_acceptable(e) == torch.backends.cudnn.is_acceptable(t)


def test_disable_global_flags_freezes_assignment_but_not_flags():
    assert eb.flags_frozen() is False
    eb.disable_global_flags()
    try:
        assert eb.flags_frozen() is True
        with pytest.raises(RuntimeError, match="not allowed to set edunn.backends.cudnn flags after "
                                               "disable_global_flags; please use flags"):
            eb.cudnn.benchmark = True
        with pytest.raises(RuntimeError, match="disable_global_flags"):
            eb.python_native.triton.enabled = False
        with eb.cudnn.flags(enabled=True, benchmark=True):
            assert eb.cudnn.benchmark is True
        assert eb.cudnn.benchmark is False
    finally:
        eb._allow_nonbracketed_mutation_flag = True


@needs_torch
def test_fp32_precision_table_follows_torch(restore_torch_flags):
    """The same sequence of settings gives the same readings in torch and in edunn."""
    steps = [("cuda", "matmul", "tf32"), ("generic", "all", "ieee"), ("generic", "all", "bf16"),
             ("generic", "all", "none"), ("cuda", "all", "ieee"), ("cuda", "all", "none"), ("cuda", "matmul", "none"),
             ("mkldnn", "matmul", "bf16"), ("mkldnn", "conv", "tf32")]
    pairs = [(b, op) for b in ("cuda", "mkldnn") for op in ("all", "matmul", "conv", "rnn")] + [("generic", "all")]
    for backend_name, op, value in steps:
        torch._C._set_fp32_precision_setter(backend_name, op, value)
        eb._set_fp32_precision(backend_name, op, value)
        for b, o in pairs:
            assert eb._get_fp32_precision(b, o) == torch._C._get_fp32_precision_getter(b, o), (backend_name, op,
                                                                                                value, b, o)
    for bad, message in ((("cuda", "matmul", "bf16"), "backend 'cuda' does not support precision 'bf16'"),
                         (("generic", "all", "x"), "Unknown precision: x")):
        with pytest.raises(RuntimeError, match=message):
            torch._C._set_fp32_precision_setter(*bad)
        with pytest.raises(RuntimeError, match=message):
            eb._set_fp32_precision(*bad)
    with pytest.raises(RuntimeError, match="Invalid"):
        eb._get_fp32_precision("generic", "matmul")
    with eb.flags(fp32_precision="ieee"):
        assert eb.fp32_precision == "ieee" and eb.cuda.matmul.fp32_precision == "ieee"
    assert eb.fp32_precision == "none"
    with pytest.raises(AttributeError, match="Unknown attribute"):
        eb.cudnn.conv.other = 1


@needs_torch
def test_matmul_allow_tf32_is_float32_matmul_precision(restore_torch_flags):
    for value in (True, False):
        torch.backends.cuda.matmul.allow_tf32 = value
        eb.cuda.matmul.allow_tf32 = value
        assert edunn.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        assert eb.cuda.matmul.fp32_precision == torch.backends.cuda.matmul.fp32_precision
        assert eb.cuda.matmul.allow_tf32 is value
    edunn.set_float32_matmul_precision("high")     # the other spelling of the same permission
    eb._fp32_precision[("cuda", "matmul")] = "none"
    assert eb.cuda.matmul.allow_tf32 is True
    edunn.set_float32_matmul_precision("highest")
    assert eb.cuda.matmul.allow_tf32 is False
    eb.cuda.matmul.allow_fp16_reduced_precision_reduction = (False, False)
    assert eb.cuda.matmul.allow_fp16_reduced_precision_reduction is False
    assert eb.cuda.matmul.allow_fp16_reduced_precision_reduction_split_k is False
    eb.cuda.matmul.allow_fp16_reduced_precision_reduction = True
    for bad, match in (("x", "expects a bool or a tuple/list of bools"), ((), "at least one"),
                       ((True, True, True), "at most two"), ((1,), "expects a bool for allow_reduced_precision")):
        with pytest.raises(TypeError, match=match):
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = bad
        with pytest.raises(TypeError, match=match):
            eb.cuda.matmul.allow_bf16_reduced_precision_reduction = bad
    with pytest.raises(AttributeError, match="Unknown attribute foo"):
        eb.cuda.matmul.foo = 1


@needs_torch
def test_sdp_flags_share_state_with_nn_attention():
    from edunn.nn.attention import SDPBackend, _cur_sdpa_kernel_backends, sdpa_kernel
    eb.cuda.enable_math_sdp(False)
    try:
        assert SDPBackend.MATH not in _cur_sdpa_kernel_backends()
    finally:
        eb.cuda.enable_math_sdp(True)
    with sdpa_kernel(SDPBackend.MATH):
        assert eb.cuda.math_sdp_enabled() and not eb.cuda.flash_sdp_enabled()
        assert not eb.cuda.mem_efficient_sdp_enabled() and not eb.cuda.cudnn_sdp_enabled()
    assert eb.cuda.flash_sdp_enabled()
    with warnings.catch_warnings(record=True) as w_t:
        warnings.simplefilter("always")
        with torch.backends.cuda.sdp_kernel(enable_flash=False, enable_cudnn=False):
            t_state = [b.name for b in torch.nn.attention._cur_sdpa_kernel_backends()]
    with warnings.catch_warnings(record=True) as w_e:
        warnings.simplefilter("always")
        with eb.cuda.sdp_kernel(enable_flash=False, enable_cudnn=False):
            e_state = [b.name for b in _cur_sdpa_kernel_backends()]
    assert e_state == t_state
    assert [(w.category, str(w.message)) for w in w_e] == [(w.category, str(w.message)) for w in w_t]
    assert eb.cuda.flash_sdp_enabled() and eb.cuda.cudnn_sdp_enabled()
    eb.cuda.allow_fp16_bf16_reduction_math_sdp(True)
    assert eb.cuda.fp16_bf16_reduction_math_sdp_allowed() is True
    eb.cuda.allow_fp16_bf16_reduction_math_sdp(False)
    q = edunn.ones(1, 1, 2, 4)
    params = eb.cuda.SDPAParams(q, q, q, None, 0.0, False, False)
    assert not eb.cuda.can_use_flash_attention(params) and not eb.cuda.can_use_cudnn_attention(params)
    with pytest.warns(UserWarning, match="cuDNN attention"):
        eb.cuda.can_use_cudnn_attention(params, True)


@needs_torch
def test_preferred_libraries_and_errors():
    for fn in ("preferred_linalg_library", "preferred_blas_library"):
        with pytest.raises(RuntimeError) as t_err:
            getattr(torch.backends.cuda, fn)("bad")
        with pytest.raises(RuntimeError) as e_err:
            getattr(eb.cuda, fn)("bad")
        assert str(e_err.value) == str(t_err.value)
        with pytest.raises(RuntimeError, match="Unknown input value type"):
            getattr(eb.cuda, fn)(3.5)
    assert eb.cuda.preferred_linalg_library("cusolver").name == "Cusolver"
    assert eb.cuda.preferred_linalg_library().name == "Cusolver"
    eb.cuda.preferred_linalg_library("default")
    with pytest.raises(RuntimeError, match="MAGMA"):
        eb.cuda.preferred_linalg_library("magma")
    assert eb.cuda.preferred_blas_library("cublaslt") is eb.cuda._BlasBackend.Cublaslt
    assert eb.cuda.preferred_blas_library("cublas") is eb.cuda._BlasBackend.Cublas


@needs_torch
@pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the no-GPU error path")
def test_cuda_only_parts_raise_without_a_gpu():
    with pytest.raises(RuntimeError) as t_err:
        torch.backends.cuda.cufft_plan_cache[0]
    with pytest.raises(RuntimeError) as e_err:
        eb.cuda.cufft_plan_cache[0]
    assert "expected 0 <= device index < 0" in str(t_err.value)
    assert "CUDA is not available" in str(e_err.value) or str(e_err.value) == str(t_err.value)
    for fn in (eb.cuda.cublas_workspace_size, eb.cuda.cublaslt_workspace_size, eb.cuda.blas_workspace_size):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            fn()


@pytest.mark.gpu
def test_cufft_plan_cache_is_cupys():
    cache = eb.cuda.cufft_plan_cache[0]
    old = cache.max_size
    cache.max_size = 3
    assert eb.cuda.cufft_plan_cache.max_size == 3 and cache.size >= 0
    cache.clear()
    with pytest.raises(RuntimeError, match="read-only"):
        cache.size = 1
    cache.max_size = old
    assert eb.cuda.cublas_workspace_size(1024) == 1024


@needs_torch
def test_opt_einsum_is_wired_to_einsum():
    from edunn.ops import linalg
    a, b, c = (edunn.randn(3, 4, dtype=edunn.float64), edunn.randn(4, 5, dtype=edunn.float64),
               edunn.randn(5, 2, dtype=edunn.float64))
    expected = torch.einsum("ij,jk,kl->il", *(torch.tensor(x.numpy()) for x in (a, b, c))).numpy()
    assert eb.opt_einsum.enabled is True and eb.opt_einsum.strategy == "auto" and linalg._einsum_optimize == "greedy"
    with eb.opt_einsum.flags(strategy="optimal"):
        assert linalg._einsum_optimize == "optimal"
        assert abs(edunn.einsum("ij,jk,kl->il", a, b, c).numpy() - expected).max() < 1e-12
    with eb.opt_einsum.flags(enabled=False):
        assert linalg._einsum_optimize is False and eb.opt_einsum.enabled is False
        assert abs(edunn.einsum("ij,jk,kl->il", a, b, c).numpy() - expected).max() < 1e-12
        with pytest.raises(ValueError, match="opt_einsum is not enabled"):
            eb.opt_einsum.strategy = "greedy"
    assert linalg._einsum_optimize == "greedy" and eb.opt_einsum.strategy == "auto"
    with pytest.raises(ValueError, match=r"must be one of the following: \[auto, greedy, optimal\] but is best"):
        eb.opt_einsum.strategy = "best"


@needs_torch
def test_other_flag_modules():
    with pytest.raises(RuntimeError) as t_err:
        torch.backends.quantized.engine = "foo"
    with pytest.raises(RuntimeError) as e_err:
        eb.quantized.engine = "foo"
    assert str(e_err.value) == str(t_err.value)
    with pytest.raises(RuntimeError, match="not supported"):
        eb.quantized.engine = "fbgemm"
    with eb.nnpack.flags(enabled=False):
        assert eb.nnpack._flags["enabled"] is False
    assert eb.nnpack._flags["enabled"] is True
    with eb.miopen.flags(immediate=True):
        assert eb.miopen.immediate is True
    assert eb.miopen.immediate is False
    with eb.mkldnn.flags(enabled=False, deterministic=True):
        assert eb.mkldnn.enabled is False and eb.mkldnn.deterministic is True
    assert eb.mkldnn.enabled is True and eb.mkldnn.deterministic is False
    with eb.mkl.verbose(eb.mkl.VERBOSE_OFF):
        pass
    with pytest.raises(AssertionError, match="MKLDNN"):
        with eb.mkldnn.verbose(eb.mkldnn.VERBOSE_ON):
            pass
    eb.mha.set_fastpath_enabled(False)
    assert eb.mha.get_fastpath_enabled() is False
    eb.mha.set_fastpath_enabled(True)


@needs_torch
def test_python_native_filters_follow_torch():
    for mod in (torch.backends.python_native, eb.python_native):
        with mod.operations_disabled("scaled_mm"):
            assert mod.is_operation_disabled("scaled_mm")
        assert not mod.is_operation_disabled("scaled_mm")
        with mod.triton.disabled():
            assert not mod.triton.enabled and mod.is_dsl_disabled("triton")
        assert mod.triton.enabled
        assert mod.get_dsl_operations("triton") == []
    with pytest.raises(ValueError, match="Unknown DSL"):
        eb.python_native.get_dsl_operations("cuda_c")
    with pytest.raises(AttributeError):
        eb.python_native.not_a_dsl
