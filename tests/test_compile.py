"""``edunn.compile`` and ``edunn.compiler`` against ``torch.compile`` / ``torch.compiler``: the
same signatures and names; a compiled module is an ``OptimizedModule`` with torch's
``_orig_mod.``-prefixed state_dict keys whose outputs and gradients equal the eager model's (and
torch's ``backend="eager"`` results on the same weights); compiled functions and the decorator
forms; PyTorch's errors for bad backends, modes and arguments; the compiler controls."""
from __future__ import annotations

import copy
import types
import warnings

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch
from test_backends import param_spec

ec = edunn.compiler


def _models():
    e = edunn.nn.Sequential(edunn.nn.Linear(4, 8), edunn.nn.BatchNorm1d(8), edunn.nn.ReLU(), edunn.nn.Linear(8, 3))
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for (name, tp), (_, ep) in zip(t.named_parameters(), e.named_parameters()):
            tp.copy_(torch.tensor(ep.detach().numpy()))
    return e, t


@needs_torch
def test_signatures_and_names_equal_torch():
    assert param_spec(edunn.compile) == param_spec(torch.compile)
    assert ec.compile is edunn.compile
    assert sorted(ec.__all__) == sorted(torch.compiler.__all__)
    for name in torch.compiler.__all__:
        t_obj = getattr(torch.compiler, name)
        if name in ("compile", "config"):
            continue
        assert param_spec(getattr(ec, name)) == param_spec(t_obj), name


@needs_torch
def test_compiled_module_matches_eager_and_torch():
    e, t = _models()
    ce = edunn.compile(e, backend="eager")
    reference = copy.deepcopy(e)
    ct = torch.compile(t, backend="eager")
    assert type(ce).__name__ == type(ct).__name__ == "OptimizedModule"
    assert isinstance(ce, edunn.nn.Module) and ce._orig_mod is e
    assert list(ce.state_dict().keys()) == list(ct.state_dict().keys())
    assert [n for n, _ in ce.named_parameters()] == [n for n, _ in ct.named_parameters()]
    assert repr(ce).replace("edunn", "torch") == repr(ct)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    xe, xt = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = ce(xe), ct(xt)
    ye_eager = reference(edunn.tensor(x))   # a copy: BatchNorm's running stats move once
    np.testing.assert_allclose(ye.detach().numpy(), ye_eager.detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    (ye ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (_, ep), (_, tp) in zip(ce.named_parameters(), ct.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.detach().numpy(), rtol=1e-4, atol=1e-5)
    # running stats moved in the wrapped module, as in torch
    np.testing.assert_allclose(e[1].running_mean.numpy(), t[1].running_mean.numpy(), rtol=1e-5, atol=1e-6)


def test_optimized_module_forwards_attributes_and_modes():
    model = edunn.nn.Linear(2, 3)
    compiled = edunn.compile(model, backend="eager")
    assert compiled.weight is model.weight and compiled.in_features == 2
    compiled.tag = "x"
    assert model.tag == "x"
    compiled.eval()
    assert model.training is False and compiled.training is False
    compiled.train()
    assert model.training is True
    calls = []
    model.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
    compiled(edunn.ones(1, 2))
    assert calls == [edunn.Size([1, 3])]
    state = {k: v.clone() + 1 for k, v in compiled.state_dict().items()}
    compiled.load_state_dict(state)
    np.testing.assert_allclose(model.bias.detach().numpy(), state["_orig_mod.bias"].numpy())
    assert "weight" in dir(compiled) and "_orig_mod" in dir(compiled)
    twin = copy.deepcopy(compiled)   # the copy calls its own module, not the original
    with edunn.no_grad():
        twin.weight.fill_(0.0)
        twin.bias.fill_(0.0)
    assert float(twin(edunn.ones(1, 2)).abs().sum()) == 0.0 and float(model.weight.abs().sum()) > 0
    with pytest.raises(AttributeError):
        compiled.no_such_attribute


@needs_torch
def test_compiled_functions_and_decorators():
    def f(x, y=1):
        return x * 2 + y

    cf = edunn.compile(f, backend="eager")
    tf = torch.compile(f, backend="eager")
    assert cf.__name__ == tf.__name__ == "f" and cf.__wrapped__ is f and cf._torchdynamo_orig_callable is f
    assert float(cf(edunn.tensor(3.0), y=2)) == float(tf(torch.tensor(3.0), y=2)) == 8.0

    @edunn.compile(backend="eager")
    def g(x):
        return x + 1

    assert float(g(edunn.tensor(1.0))) == 2.0
    model = edunn.nn.Linear(2, 2)
    assert edunn.compile(model, disable=True) is model
    assert torch.compile(torch.nn.Linear(2, 2), disable=True).__class__.__name__ == "Linear"
    with pytest.raises(RuntimeError, match="Model can't be None"):
        edunn.compile(backend="eager")(None)


@needs_torch
@pytest.mark.parametrize("kwargs,args", [({"backend": "nope"}, (lambda x: x,)),
                                          ({"mode": "nope"}, (lambda x: x,)),
                                          ({"mode": "max-autotune", "options": {}}, (lambda x: x,)),
                                          ({}, (3,))])
def test_errors_equal_torch(kwargs, args):
    with pytest.raises(Exception) as t_err:
        torch.compile(*args, **kwargs)
    with pytest.raises(Exception) as e_err:
        edunn.compile(*args, **kwargs)
    assert str(e_err.value) == str(t_err.value)
    assert isinstance(e_err.value, RuntimeError) == isinstance(t_err.value, RuntimeError)
    assert type(e_err.value).__name__ == type(t_err.value).__name__


def test_non_eager_backends_run_eagerly_and_warn_once():
    ec.reset()
    with pytest.warns(UserWarning, match="runs eagerly"):
        f = edunn.compile(lambda x: x + 1, backend="inductor", mode="reduce-overhead")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edunn.compile(lambda x: x, backend="inductor")
        edunn.compile(lambda x: x, backend="eager")
    assert float(f(edunn.tensor(1.0))) == 2.0
    ec.reset()
    with pytest.warns(UserWarning, match="my_backend"):
        def my_backend(gm, example_inputs):
            return gm
        edunn.compile(lambda x: x, backend=my_backend)


@needs_torch
def test_list_backends_and_default_backend():
    for tags in (("debug", "experimental"), (), ("debug",), ("experimental",), None):
        assert ec.list_backends(tags) == torch.compiler.list_backends(tags)
    assert ec.list_backends() == torch.compiler.list_backends()
    assert ec.get_default_backend() == torch.compiler.get_default_backend() == "inductor"
    ec.set_default_backend("eager")
    try:
        assert ec.get_default_backend() == "eager"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            edunn.compile(lambda x: x)
    finally:
        ec.set_default_backend(None)
    assert ec.get_default_backend() == "inductor"
    with pytest.raises(RuntimeError, match="Invalid backend: 'nope'"):
        ec.set_default_backend("nope")


@needs_torch
def test_compiler_controls_outside_compilation():
    for name in ("is_compiling", "is_dynamo_compiling", "is_exporting"):
        assert getattr(ec, name)() is getattr(torch.compiler, name)() is False
    assert ec.save_cache_artifacts() is torch.compiler.save_cache_artifacts() is None
    assert ec.load_cache_artifacts(b"") is None
    f = lambda x: x + 1  # noqa: E731
    assert ec.allow_in_graph(f) is f and ec.assume_constant_result(f) is f and f._dynamo_marked_constant
    assert ec.allow_in_graph([f, f]) == [f, f]
    d = ec.disable(f, reason="not traceable")
    assert d(1) == 2 and d._torchdynamo_disable and d._torchdynamo_disable_msg == "not traceable"
    assert ec.disable(recursive=False)(f)._torchdynamo_disable_recursive is False
    t_d = torch.compiler.disable(f)
    assert t_d._torchdynamo_disable is True
    assert ec.nested_compile_region(f) is f and ec.nested_compile_region(max_reuse_entries=2)(f) is f
    ec.cudagraph_mark_step_begin()
    torch_results = [torch.compiler.set_enable_guard_collectives(v) for v in (True, True, False, False)]
    assert [ec.set_enable_guard_collectives(v) for v in (True, True, False, False)] == torch_results
    with pytest.raises(RuntimeError, match="cannot load"):
        ec.load_compiled_function(None)
    for key in ("recompile_limit", "accumulated_recompile_limit", "dynamic_shapes", "cache_key_tag", "job_id",
                "capture_scalar_outputs", "automatic_dynamic_shapes", "verbose"):
        assert getattr(ec.config, key) == getattr(torch.compiler.config, key), key


@needs_torch
def test_set_stance_function_context_and_decorator():
    assert ec._current_stance() == "default"
    with ec.set_stance("force_eager"):
        assert ec._current_stance() == "force_eager"
    assert ec._current_stance() == "default"
    ec.set_stance("eager_on_recompile")
    assert ec._current_stance() == "eager_on_recompile"
    ec.set_stance("default")

    @ec.set_stance("fail_on_recompile")
    def run():
        return ec._current_stance()

    assert ec._current_stance() == "default" and run() == "fail_on_recompile" and ec._current_stance() == "default"
    with pytest.raises(RuntimeError) as t_err:
        torch.compiler.set_stance("force_eager", force_backend="eager")
    with pytest.raises(RuntimeError) as e_err:
        ec.set_stance("force_eager", force_backend="eager")
    assert str(e_err.value) == str(t_err.value)


@needs_torch
def test_guard_filters_equal_torch():
    param = torch.nn.Parameter(torch.ones(1))
    e_param = edunn.nn.Parameter(edunn.ones(1))

    def entries(value_param, value_tensor):
        src = types.SimpleNamespace(is_unspecialized_builtin_nn_module=lambda: True,
                                    is_unspecialized_nn_module=lambda: False)
        g = lambda t, glob, value: types.SimpleNamespace(  # noqa: E731
            guard_type=t, is_global=glob, value=value, orig_guard=types.SimpleNamespace(source=src))
        return [g("TENSOR_MATCH", False, value_param), g("TENSOR_MATCH", True, value_tensor),
                g("GLOBAL_STATE", True, None), g("SHAPE_ENV", False, None), g("ID_MATCH", True, None)]

    t_entries, e_entries = entries(param, torch.ones(1)), entries(e_param, edunn.ones(1))
    for name in ("keep_portable_guards_unsafe", "skip_guard_on_inbuilt_nn_modules_unsafe",
                 "skip_guard_on_all_nn_modules_unsafe", "keep_tensor_guards_unsafe", "skip_guard_on_globals_unsafe",
                 "skip_all_guards_unsafe"):
        assert getattr(ec, name)(e_entries) == getattr(torch.compiler, name)(t_entries), name
    assert ec.keep_tensor_guards_unsafe(e_entries, keep_parameters=True) == \
        torch.compiler.keep_tensor_guards_unsafe(t_entries, keep_parameters=True)


@needs_torch
def test_wrap_numpy_and_substitute_in_graph():
    def np_fn(a, b):
        return a @ b + 1

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((3, 2), dtype=np.float32)
    got = ec.wrap_numpy(np_fn)(edunn.tensor(a), edunn.tensor(b))
    want = torch.compiler.wrap_numpy(np_fn)(torch.tensor(a), torch.tensor(b))
    assert isinstance(got, edunn.Tensor)
    np.testing.assert_allclose(got.numpy(), want.numpy())

    def original(x, y):
        return x - y

    @ec.substitute_in_graph(original)
    def polyfill(x, y):
        return x - y

    assert polyfill(5, 3) == 2 and polyfill.__torch_dynamo_original__ is original
    with pytest.raises(TypeError, match="Signature mismatch"):
        ec.substitute_in_graph(original)(lambda x: x)
    assert ec.substitute_in_graph(original, skip_signature_check=True)(lambda x: x)(4, 1) == 3
