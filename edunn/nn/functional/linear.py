"""``linear`` and ``bilinear``: the affine maps behind ``nn.Linear`` and ``nn.Bilinear`` (lesson 05).

``linear`` is the hot path of every MLP, so it is one ``Function`` with its backward written out:
one matrix product forward (inputs flattened to a matrix so any number of batch dims costs one
BLAS call), and backward only the products whose inputs need a gradient.  Lesson 05 derives

    y = x W^T + b      dL/dx = g W      dL/dW = g^T x      dL/db = sum over the batch of g

``bilinear`` is rarer and is written as a composition of differentiable tensor ops.
"""
from __future__ import annotations

import math

from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from ...ops._operands import _widened
from ...amp import _policy as _autocast

__all__ = ["linear", "bilinear"]

_grad_state = grad_mode.state

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_name(t: Tensor) -> str:
    return _TORCH_NAMES.get(t.dtype.name, t.dtype.name)


def _check_device(a: Tensor, b: Tensor) -> None:
    ad, bd = a._data, b._data
    if ad.__class__ is not bd.__class__ or (ad.__class__ is not backend.ndarray and a.device != b.device):
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                           f"devices, {a.device} and {b.device}!")


class Linear(Function):
    """``y = x W^T + b`` with ``x`` of shape ``(*, in)``, ``W`` of shape ``(out, in)`` (or ``(in,)``,
    which drops the last dim of ``y``) and ``b`` broadcastable to ``y``.  Complex tensors: the
    gradients are ``g conj(W)`` and ``g^T conj(x)`` (PyTorch's convention, as for ``matmul``)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, w, b):
        xd, wd = x._data, w._data
        k = xd.shape[-1]
        x2 = xd.reshape(-1, k) if xd.ndim != 2 else xd
        y = x2 @ (wd.T if wd.ndim == 2 else wd)          # (N, out) or (N,): one BLAS call
        y = y.reshape(xd.shape[:-1] + wd.shape[:-1])
        if b is not None:
            bd = b._data
            if bd.shape == y.shape[-bd.ndim:] if bd.ndim else True:
                y += bd                                 # in place: y is a fresh array
            else:
                y = y + bd
        ctx._save_factors(x, w)  # x only for W's gradient, W only for x's
        ctx.shapes = (xd.shape, wd.shape, None if b is None else b._data.shape)
        # ml_dtypes' bfloat16 product comes back as float32 (it accumulates there, as PyTorch)
        return y if y.dtype == xd.dtype else y.astype(xd.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        if _grad_state.enabled or grad._data.dtype.kind == "c":
            if grad._data.dtype.kind == "c":  # holomorphic in x and in W: the other one conjugated
                from ...ops.elementwise import _conj
                x, w = _conj(x), _conj(w)
            # create_graph: the gradient must be differentiable again
            return _linear_backward_graph(grad, x, w, ctx.shapes, need_x, need_w, need_b)
        x_shape, w_shape, b_shape = ctx.shapes
        g = grad._data
        rows = math.prod(x_shape[:-1])     # not -1: a reshape cannot infer it when k or out is 0
        g2 = g.reshape(rows, w_shape[0]) if len(w_shape) == 2 else g.reshape(rows, 1)
        gx = gw = gb = None
        if need_x:
            wd = w._data
            gx = Tensor._make((g2 @ wd if wd.ndim == 2 else g2 * wd).reshape(x_shape))
        if need_w:
            x2 = x._data.reshape(rows, x_shape[-1])
            gw = Tensor._make(g2.T @ x2 if len(w_shape) == 2 else (g2.T @ x2).reshape(w_shape))
        if need_b:
            if len(b_shape) == 1 and len(w_shape) == 2 and b_shape[0] == g2.shape[1]:
                gb = Tensor._make(_widened(g2).sum(axis=0).astype(g.dtype, copy=False))  # (out,)
            else:
                gb = grad                               # the engine sums it down to b's shape
        return gx, gw, gb


def _linear_backward_graph(grad: Tensor, x: Tensor | None, w: Tensor | None, shapes: tuple,
                           need_x: bool, need_w: bool, need_b: bool) -> tuple:
    x_shape, w_shape, _ = shapes
    rows = math.prod(x_shape[:-1])
    if len(w_shape) == 2:
        g2 = grad.reshape(rows, w_shape[0])
        gx = (g2 @ w).reshape(x_shape) if need_x else None
        gw = g2.mT @ x.reshape(rows, x_shape[-1]) if need_w else None
    else:
        g2 = grad.reshape(rows, 1)
        gx = (g2 * w).reshape(x_shape) if need_x else None
        gw = (g2.mT @ x.reshape(rows, x_shape[-1])).reshape(w_shape) if need_w else None
    return gx, gw, (grad if need_b else None)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Apply the affine map :math:`y = x A^T + b`.

    Shapes: ``input`` :math:`(*, \text{in\_features})` (any number of batch dims, or none),
    ``weight`` :math:`(\text{out\_features}, \text{in\_features})` or :math:`(\text{in\_features})`,
    ``bias`` :math:`(\text{out\_features})` or anything broadcastable to the output;
    output :math:`(*, \text{out\_features})` (or :math:`(*)` for a 1-D weight).

    Computed as one matrix product and one add in the inputs' dtype; gradients are computed only
    for the arguments that require them.  Lesson 05 derives the backward.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear(): argument 'weight' (position 2) must be Tensor, not {type(weight).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"linear(): argument 'bias' (position 3) must be Tensor, not {type(bias).__name__}")
    if _autocast.active and "linear" in _autocast.listed: return _autocast.call("linear", linear, input, weight, bias)  # noqa: E501,E701
    xd, wd = input._data, weight._data
    if xd.ndim == 0 or wd.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {xd.ndim}D "
                           f"and {wd.ndim}D")
    if wd.ndim > 2:
        raise RuntimeError(f"linear(): weight must be 1-D or 2-D (out_features, in_features), got a "
                           f"{wd.ndim}-D tensor of shape {list(wd.shape)}")
    _check_device(input, weight)
    if xd.dtype != wd.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_torch_name(input)} and "
                           f"{_torch_name(weight)}")
    if xd.shape[-1] != wd.shape[-1]:
        n = 1
        for s in xd.shape[:-1]:
            n *= s
        w_t = f"{wd.shape[-1]}x{wd.shape[0]}" if wd.ndim == 2 else f"{wd.shape[0]}x1"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{xd.shape[-1]} and {w_t}): "
                           f"linear() got input of shape {list(xd.shape)} with {xd.shape[-1]} features, "
                           f"but weight of shape {list(wd.shape)} expects {wd.shape[-1]}")
    if bias is not None:
        _check_device(input, bias)
        bd = bias._data
        if bd.dtype != xd.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got {_torch_name(bias)} and "
                               f"{_torch_name(input)}")
        out_shape = xd.shape[:-1] + wd.shape[:-1]
        if bd.ndim > len(out_shape) or any(b != 1 and b != o for b, o in
                                           zip(bd.shape[::-1], out_shape[::-1])):
            raise RuntimeError(f"linear(): bias of shape {list(bd.shape)} cannot be broadcast to the "
                               f"output shape {list(out_shape)} (expected a bias of shape "
                               f"[{wd.shape[0] if wd.ndim == 2 else ''}])")
    return Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    r"""Apply :math:`y_k = x_1^T A_k x_2 + b_k` for every output feature :math:`k`.

    Shapes: ``input1`` :math:`(*, H_{in1})`, ``input2`` :math:`(*, H_{in2})` with the same batch
    dims, ``weight`` :math:`(H_{out}, H_{in1}, H_{in2})`, ``bias`` :math:`(H_{out})`; output
    :math:`(*, H_{out})`.

    Computed as ``t = x_1 A`` (one matrix product giving, for each sample, the vectors
    :math:`x_1^T A_k`) followed by a dot product of each with :math:`x_2`; autograd differentiates
    the composition (lesson 05).
    """
    if _autocast.active and "bilinear" in _autocast.listed: return _autocast.call("bilinear", bilinear, input1, input2, weight, bias)  # noqa: E501,E701
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    if input1.ndim == 0:
        raise RuntimeError("bilinear(): inputs must be at least 1-D (*, features), got 0-D tensors")
    for i in range(input1.ndim - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got "
                               f"{input1.shape[i]} and {input2.shape[i]}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), "
                           f"got shape {list(weight.shape)}")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} "
                           f"but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} "
                           f"but expected {in2}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_f):
        got = bias.shape[-1] if bias.ndim else bias.shape
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {got} but expected {out_f}")
    for t in (input2, weight) + (() if bias is None else (bias,)):
        _check_device(input1, t)
        if t.dtype != input1.dtype:
            raise RuntimeError(f"bilinear(): expected all tensors to have the same dtype, but got "
                               f"{_torch_name(input1)} and {_torch_name(t)}")
    batch = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, 1, in2)
    # A as an (in1, out * in2) matrix: x1 @ it holds x1^T A_k for every k side by side
    a = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    y = ((x1 @ a).reshape(-1, out_f, in2) * x2).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(tuple(batch) + (out_f,))
