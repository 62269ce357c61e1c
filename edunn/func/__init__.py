"""``edunn.func``: composable function transforms, as ``torch.func`` (formerly functorch).

A transform turns a function into another function: :func:`grad` (its gradient),
:func:`grad_and_value`, :func:`vjp`, :func:`jvp`, :func:`linearize`, :func:`jacrev`,
:func:`jacfwd`, :func:`hessian`, and :func:`vmap` (the function mapped over a batch dimension).
They nest freely -- ``vmap(grad(loss), in_dims=(None, 0, 0))`` is per-sample gradients,
``jacfwd(jacrev(f))`` is a Hessian.  :func:`functional_call` and :func:`stack_module_state` make a
``Module`` a pure function of its parameters; :func:`rearrange` is einops' ``rearrange``.

How edunn does it (PyTorch's functorch has per-level tensor wrappers and batching rules; edunn
has neither), honestly:

* the autodiff transforms are built on edunn's reverse-mode autograd with ``create_graph=True``
  (:mod:`edunn.func._transforms`); forward mode (``jvp``, ``jacfwd``) is the exact double-vjp
  trick, two backward passes instead of one forward;
* ``vmap`` is a loop over the batch that calls the function once per slice and stacks the
  results (:mod:`edunn.func._vmap`): the same results and composition as PyTorch, slower;
* ``randomness='error'|'same'|'different'`` works through one hook in ``edunn/backend.py``
  (``random_draw_hook``, called by every random draw).

Lesson 02 (autograd) derives vjp and the Jacobian; these transforms package them.
"""
from ._transforms import grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian
from ._vmap import vmap
from ._module_utils import (functional_call, stack_module_state, replace_all_batch_norm_modules_,
                            functionalize, debug_unwrap)
from ._einops import rearrange

__all__ = ["grad", "grad_and_value", "vmap", "replace_all_batch_norm_modules_", "functionalize",
           "hessian", "jacfwd", "jacrev", "jvp", "linearize", "rearrange", "vjp", "functional_call",
           "stack_module_state", "debug_unwrap"]
