"""``gradcheck``: compare the analytical gradient (backward) with finite differences.

For a function ``f`` of tensors ``x_1..x_n`` with outputs ``y_1..y_m``, the Jacobian
``J[i, j] = d y_i / d x_j`` is estimated numerically by central differences,

.. math::  J_{:, j} \\approx \\frac{f(x + \\epsilon e_j) - f(x - \\epsilon e_j)}{2 \\epsilon},

and analytically by running backward once per output element with a one-hot gradient.  The two
must agree within ``atol + rtol * |numerical|``.  Inputs should be float64 (or complex128): in
float32 the differences drown in rounding.  Complex inputs and outputs count as pairs of real
ones (see :func:`gradcheck`).  Lesson 02 derives this and uses it on every op the learner writes.
"""
from __future__ import annotations

from typing import Any, Callable

import edunn.tensor as _tensor_mod
from .. import backend


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when the analytical and numerical gradients differ."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(func: Callable, inputs: tuple) -> tuple:
    Tensor = _tensor_mod.Tensor
    return tuple(o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor))


def _real_coords(a: Any) -> Any:
    """A flat float64 array of the real coordinates of ``a``: its values, or for a complex array
    its real parts followed by its imaginary parts (a complex number is two real numbers)."""
    flat = a.reshape(-1)
    if flat.dtype.kind == "c":
        xp = _tensor_mod.backend.array_module(flat)
        return xp.concatenate([flat.real, flat.imag]).astype("float64")
    return flat.astype("float64")


def _n_real(a: Any) -> int:
    return a.size * (2 if a.dtype.kind == "c" else 1)


def _numerical_jacobian(func: Callable, inputs: tuple, x: Any, eps: float) -> list:
    """One list of columns per output, one column per real coordinate of ``x`` (for a complex
    ``x``: the real parts of its entries, then their imaginary parts), built by perturbing ``x``
    in place."""
    from ..autograd.grad_mode import no_grad
    flat = x._data.reshape(-1)  # a view: perturbing it perturbs x
    n = flat.size
    steps = (eps, 1j * eps) if flat.dtype.kind == "c" else (eps,)
    columns = None
    with no_grad():
        for part, step in enumerate(steps):
            for j in range(n):
                orig = flat[j].item()
                flat[j] = orig + step
                plus = [_real_coords(o._data).copy() for o in _outputs(func, inputs)]
                flat[j] = orig - step
                minus = [_real_coords(o._data).copy() for o in _outputs(func, inputs)]
                flat[j] = orig
                if columns is None:
                    columns = [[None] * (n * len(steps)) for _ in plus]
                for k, (p, m) in enumerate(zip(plus, minus)):
                    columns[k][part * n + j] = (p - m) / (2 * eps)
    return columns or []


def _coord_name(index: int, a: Any) -> str:
    """``[3]`` for a real array, ``[3].real``/``[3].imag`` for a complex one."""
    if a.dtype.kind != "c":
        return f"[{index}]"
    part, j = divmod(index, a.size)
    return f"[{j}].{'imag' if part else 'real'}"


@backend.on_input_device
def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: Any = None) -> bool:
    """True when ``func``'s backward matches finite differences for every input that requires
    grad; otherwise raises ``GradcheckError`` naming the output, the input and the worst entry
    (or returns False with ``raise_exception=False``).  ``fast_mode``, the batched and forward-AD
    checks are PyTorch options that edunn accepts and does not need: the full Jacobian is always
    compared.

    Complex inputs and outputs, as PyTorch checks them: a complex number ``z = x + iy`` is two
    real numbers, so a complex input contributes the rows ``d/dx`` and ``d/dy`` of the real
    Jacobian and a complex output the columns ``Re w`` and ``Im w``.  PyTorch's backward, given
    the output gradient ``g``, returns ``dL/dx + i dL/dy`` for the real loss
    ``L = Re(sum(conj(g) * w))``; so ``g`` one-hot at an entry gives that entry's ``Re w`` row
    (real part: ``d Re w/dx``, imaginary part: ``d Re w/dy``) and ``g = 1j`` one-hot its ``Im w``
    row.  Comparing these with central differences along ``x`` and along ``y`` checks both
    Wirtinger derivatives of the op (``torch.autograd.gradcheck`` does the same)."""
    from .api import grad as autograd_grad
    Tensor = _tensor_mod.Tensor
    inputs = _as_tuple(inputs)
    diff_inputs = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have requires_grad=True.")
    for i, t in diff_inputs:
        if t._data.dtype.itemsize < (16 if t._data.dtype.kind == "c" else 8):
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point or complex. "
                          "This check will likely fail if all the inputs are not of double precision floating point or complex. ")
    outputs = _outputs(func, inputs)
    xp = _tensor_mod.backend.array_module(outputs[0]._data) if outputs else None

    def fail(msg: str) -> bool:
        if raise_exception:
            raise GradcheckError(msg)
        return False

    for k, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        n_out = out._data.size
        n_out_real = _n_real(out._data)
        numerical = {i: _numerical_jacobian(func, inputs, t, eps)[k] for i, t in diff_inputs}
        analytical = {i: [] for i, _ in diff_inputs}
        for r in range(n_out_real):  # one backward per real coordinate of the output
            outs = _outputs(func, inputs)
            onehot = xp.zeros(n_out, dtype=outs[k]._data.dtype)
            onehot[r % n_out] = 1 if r < n_out else 1j  # 1j: the imaginary part's row
            g = Tensor._make(onehot.reshape(outs[k]._data.shape))
            grads = autograd_grad(outs[k], [t for _, t in diff_inputs], g, allow_unused=True)
            for (i, t), gi in zip(diff_inputs, grads):
                if gi is None:
                    analytical[i].append(xp.zeros(_n_real(t._data)))
                    continue
                if gi._data.shape != t._data.shape:
                    return fail(f"Gradient for input {i} has shape {list(gi.shape)}, expected {list(t.shape)}")
                if gi._data.dtype.kind == "c" and t._data.dtype.kind != "c":
                    return fail(f"Gradient for the real input {i} is complex ({gi.dtype})")
                gd = gi._data.astype(t._data.dtype) if t._data.dtype.kind == "c" else gi._data
                analytical[i].append(_real_coords(gd))
        for i, t in diff_inputs:
            n_in_real = _n_real(t._data)
            num = xp.stack(numerical[i], axis=0) if numerical[i] else xp.zeros((0, n_out_real))  # (n_in, n_out)
            ana = xp.stack(analytical[i], axis=1) if analytical[i] else xp.zeros((n_in_real, 0))
            diff = xp.abs(ana - num)
            tol = atol + rtol * xp.abs(num)
            if bool((diff > tol).any()) or bool(xp.isnan(ana).any() != xp.isnan(num).any()):
                worst = int(xp.argmax(diff - tol))
                wi, wo = divmod(worst, max(n_out_real, 1))
                return fail(
                    f"Jacobian mismatch for output {k} with respect to input {i},\n"
                    f"numerical:{num}\nanalytical:{ana}\n"
                    f"worst entry: d out{_coord_name(wo, out._data)} / d in{_coord_name(wi, t._data)} "
                    f"numerical {float(num.reshape(-1)[worst]):.6g} "
                    f"vs analytical {float(ana.reshape(-1)[worst]):.6g}\n")
    return True


@backend.on_input_device
def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of the function ``(inputs, v) -> grad(func(inputs), inputs, v)``
    built with ``create_graph=True``."""
    from .api import grad as autograd_grad
    Tensor = _tensor_mod.Tensor
    inputs = _as_tuple(inputs)
    outputs = _outputs(func, inputs)
    if grad_outputs is None:
        from ..ops.creation import randn_like
        from .. import backend
        grad_outputs = tuple(randn_like(o, generator=backend.Generator(o.device).manual_seed(0)).requires_grad_()
                             for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*args):
        from .grad_mode import enable_grad
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():  # the finite differences call this under no_grad
            outs = _outputs(func, ins)
            gs = autograd_grad(outs, [ins[i] for i in diff_idx], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
