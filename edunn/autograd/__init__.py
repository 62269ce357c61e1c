"""``edunn.autograd``: automatic differentiation (PyTorch's ``torch.autograd``).

* ``function.py``  -- ``Function``, the op and graph node a learner can subclass;
* ``engine.py``    -- the backward pass in reverse topological order;
* ``api.py``       -- ``backward`` and ``grad``;
* ``grad_mode.py`` -- ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``;
* ``gradcheck.py`` -- finite-difference checks of any op's gradient;
* ``anomaly_mode.py`` -- ``detect_anomaly``.

Lesson 02 builds this package.
"""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .function import Function, FunctionCtx, once_differentiable
from .api import backward, grad
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled, is_anomaly_check_nan_enabled
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import functional

__all__ = ["Function", "FunctionCtx", "once_differentiable", "backward", "grad", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "gradcheck", "gradgradcheck",
           "GradcheckError", "functional"]
