"""edunn's answers to the exercises of lesson 20, written with the library's own tools.

The learner writes each of these by hand (a loop over samples, a double vjp, an
``autograd.Function`` that recomputes, a loss scaler); edunn's versions below are one or two
calls of ``edunn.func``, ``edunn.utils.checkpoint`` and ``edunn.amp``, and the graders compare
the two.
"""

from __future__ import annotations

from typing import Any, Callable


def per_sample_grads(model: Any, loss_fn: Callable, inputs: Any, targets: Any) -> dict:
    """The gradient of ``loss_fn(model(x_i), y_i)`` for every sample ``i``, one tensor of shape
    ``(N, *p.shape)`` per trainable parameter: ``torch.func``'s recipe, ``vmap(grad(...))`` over
    the model as a function of its parameters (``functional_call``)."""
    from edunn.func import functional_call, grad, vmap
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}

    def loss_of_one(params: dict, x: Any, y: Any) -> Any:
        return loss_fn(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

    return vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, inputs, targets)


def jvp(f: Callable, x: Any, v: Any) -> tuple:
    """``(f(x), J_f(x) v)``, the Jacobian-vector product of ``f`` at ``x`` in direction ``v``."""
    from edunn.func import jvp as func_jvp
    return func_jvp(f, (x,), (v,))


def checkpoint(function: Callable, *args: Any) -> Any:
    """``function(*args)`` without keeping its activations: recomputed during backward
    (``torch.utils.checkpoint.checkpoint`` in its reentrant form, which runs the first
    forward under ``no_grad``)."""
    from edunn.utils.checkpoint import checkpoint as library_checkpoint
    return library_checkpoint(function, *args, use_reentrant=True)


def GradScaler(init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
               growth_interval: int = 2000) -> Any:
    """``edunn.amp.GradScaler`` for the CPU, with the arguments of the lesson's ``MyGradScaler``."""
    from edunn.amp import GradScaler as library_scaler
    return library_scaler("cpu", init_scale=init_scale, growth_factor=growth_factor,
                          backoff_factor=backoff_factor, growth_interval=growth_interval)
