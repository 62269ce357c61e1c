"""``LBFGS``: a quasi-Newton method that learns the curvature from its last few steps.

Lesson 15 derives it (curvature from history; why it needs a closure).  Like PyTorch's, it works
on the flattened parameter vector: the gradients of all parameters are gathered into one array,
the search direction is computed there, and the step is added back through views of it.  An
optional strong-Wolfe line search (PyTorch's ``_strong_wolfe``, ported from minFunc) chooses the
step length.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from .optimizer import Optimizer, _check_lr, _get_value, _to_scalar

__all__ = ["LBFGS"]


def _cubic_interpolate(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any,
                       bounds: tuple | None = None) -> Any:
    """The minimiser of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``,
    ``g2``, clamped to ``bounds`` (by default the interval between the points); the middle of
    the interval when the cubic has no minimum (minFunc's ``polyinterp``)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2);  d2 = sqrt(d1^2 - g1 g2)
    # min_pos = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = backend.array_module(d2_square).sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func: Callable, x: list, t: Any, d: Any, f: float, g: Any, gtd: Any,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple:
    """A step length ``t`` along ``d`` that satisfies the strong Wolfe conditions

        f(x + t d) <= f(x) + c1 t g.d         (sufficient decrease, Armijo)
        |g(x + t d).d| <= c2 |g.d|            (the slope has flattened enough)

    found by bracketing then zooming with cubic interpolation (PyTorch's port of minFunc's
    ``lswolfe``).  ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d``.
    Returns ``(f_new, g_new, t, function evaluations)``.  Works on raw arrays."""
    xp = backend.array_module(d)
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the most iterations allowed
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the criteria
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break  # the bracket is too small to refine
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # A trial too close to an end of the bracket makes little progress: after two such
        # trials in a row (or one outside the bracket) move it 10% of the width inside.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied, or not lower than the lowest point
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # Wolfe conditions satisfied
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high becomes the new low
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # the new point becomes the new low
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals


def _wrap(value: Any) -> Any:
    """An array (or NumPy scalar) as a state tensor; Python numbers and None stay as they are."""
    if value is None or type(value) in (int, float):  # not NumPy's float64, a float subclass
        return value
    xp = backend.array_module(value)
    return Tensor._make(xp.asarray(value))


def _unwrap(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


class LBFGS(Optimizer):
    r"""Implements the L-BFGS algorithm, as ``torch.optim.LBFGS`` (heavily inspired by minFunc).

    ::

        input: theta_0 (params), f(theta) (objective, through a closure), gamma (lr),
               m (history_size)
        g <- grad f(theta);  if max|g| <= tolerance_grad: return
        for k = 1 to max_iter do
            if k == 1 (first iteration ever):  d <- -g,  H_diag <- 1
            else:
                y <- g - g_prev,  s <- t d_prev                       (the last step)
                if y.s > 1e-10:  remember (y, s, rho = 1 / y.s), keeping the last m;
                                 H_diag <- y.s / y.y
                q <- -g                                                (two-loop recursion)
                for i = newest .. oldest:  a_i <- rho_i s_i.q;   q <- q - a_i y_i
                r <- H_diag q
                for i = oldest .. newest:  b_i <- rho_i y_i.r;   r <- r + (a_i - b_i) s_i
                d <- r                                            (d = -H g, H ~ inverse Hessian)
            t <- min(1, 1 / sum|g|) gamma on the very first iteration, else gamma
            if g.d > -tolerance_change: stop                  (not a descent direction)
            if line_search_fn == 'strong_wolfe': t <- a step satisfying the strong Wolfe conditions
            theta <- theta + t d;  re-evaluate f and g (through the closure)
            stop when max_iter or max_eval is reached, max|g| <= tolerance_grad,
                 max|t d| <= tolerance_change or |f - f_prev| < tolerance_change

    The pairs ``(s, y)`` of the last ``history_size`` steps stand in for the inverse Hessian:
    the two-loop recursion applies it to the gradient without ever forming a matrix.  One
    ``step(closure)`` runs up to ``max_iter`` iterations, so the closure (which must zero the
    gradients, compute the loss, call ``backward`` and return the loss) is required.

    Like PyTorch's, this optimizer allows only one parameter group, all parameters on one
    device, and costs ``param_bytes * (history_size + 1)`` bytes of memory.

    Args:
        params: an iterable of parameters (or ``(name, parameter)`` pairs) to optimize.
        lr (float or Tensor): learning rate (default: 1).
        max_iter (int): maximal number of iterations per optimization step (default: 20).
        max_eval (int, optional): maximal number of function evaluations per optimization step
            (default: ``max_iter * 5 // 4``).
        tolerance_grad (float): termination tolerance on first order optimality (default: 1e-7).
        tolerance_change (float): termination tolerance on function value / parameter changes
            (default: 1e-9).
        history_size (int): update history size (default: 100).
        line_search_fn (str, optional): either ``'strong_wolfe'`` or None (default: None).

    State (PyTorch's names, all held under the first parameter): ``func_evals``, ``n_iter``,
    ``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``,
    ``prev_loss`` and ``al``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    # ------------------------------------------------------------ the flat parameter vector
    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(p.numel() for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self) -> Any:
        """All gradients as one new flat array (zeros for a parameter without one)."""
        xp = backend.array_module(self._params[0]._data)
        views = []
        for p in self._params:
            if p.grad is None:
                views.append(xp.zeros(p._data.size, p._data.dtype))
            else:
                views.append(p.grad._data.reshape(-1))
        return xp.concatenate(views, 0)

    def _add_grad(self, step_size: Any, update: Any) -> None:
        """theta += step_size * update, each parameter through its slice of the flat update."""
        offset = 0
        for p in self._params:
            numel = p._data.size
            view = update[offset:offset + numel].reshape(p._data.shape)
            p._data += view * step_size
            p._version_counter[0] += 1
            offset += numel
        if offset != self._numel():
            raise AssertionError(f"Expected offset {offset} to equal {self._numel()}")

    def _clone_param(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data: list) -> None:
        for p, pdata in zip(self._params, params_data):
            p._data[...] = pdata
            p._version_counter[0] += 1

    def _directional_evaluate(self, closure: Callable, x: list, t: Any, d: Any) -> tuple:
        """Loss and flat gradient at x + t d; the parameters are put back to x afterwards."""
        self._add_grad(t, d)
        with grad_mode.enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ the algorithm
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations.  ``closure`` re-evaluates the model
        (zero the gradients, compute the loss, call ``backward``) and returns the loss; the
        loss of its first call is returned."""
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step() requires a closure that reevaluates the model and "
                            f"returns the loss, got {closure!r}")
        if len(self.param_groups) != 1:
            raise AssertionError(
                f"Expected exactly one param_group, but got {len(self.param_groups)}")
        with grad_mode.no_grad():
            return self._step(closure)

    def _step(self, closure: Callable[[], Any]) -> Any:
        group = self.param_groups[0]
        lr = _get_value(_to_scalar(group["lr"]))
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        # LBFGS has only global state; PyTorch keeps it under the first parameter, which lets
        # load_state_dict move it to that parameter's device and dtype.
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with grad_mode.enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        xp = backend.array_module(flat_grad)
        opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss

        d = _unwrap(state.get("d"))
        t = _unwrap(state.get("t"))
        old_dirs = [_unwrap(v) for v in state["old_dirs"]] if "old_dirs" in state else None
        old_stps = [_unwrap(v) for v in state["old_stps"]] if "old_stps" in state else None
        ro = [_unwrap(v) for v in state["ro"]] if "ro" in state else None
        H_diag = _unwrap(state.get("H_diag"))
        prev_flat_grad = _unwrap(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = [_unwrap(v) for v in state["al"]] if "al" in state else None

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- the search direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # update the memory with the last step s and gradient change y
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # forget the oldest pair
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)  # scale of the initial inverse Hessian

                # the two-loop recursion: d = -H g, with one buffer
                num_old = len(old_dirs)
                if al is None:  # (made here, as PyTorch does, so the state keys keep its order)
                    al = [None] * history_size
                    state["al"] = al
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = xp.dot(old_stps[i], q) * ro[i]
                    q -= old_dirs[i] * al[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = xp.dot(old_dirs[i], r) * ro[i]
                    r += old_stps[i] * (al[i] - be_i)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = xp.dot(flat_grad, d)  # directional derivative
            if gtd > -tolerance_change:
                break  # not a descent direction (any more)

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x: list, t: Any, d: Any) -> tuple:
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                # a fixed step; in a stochastic setting re-evaluating after the last
                # iteration would be wasted, so it is skipped
                self._add_grad(t, d)
                if n_iter != max_iter:
                    with grad_mode.enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping conditions
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break  # lack of progress
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = _wrap(d)
        state["t"] = _wrap(t)
        state["old_dirs"] = [_wrap(v) for v in old_dirs]
        state["old_stps"] = [_wrap(v) for v in old_stps]
        state["ro"] = [_wrap(v) for v in ro]
        state["H_diag"] = _wrap(H_diag)
        state["prev_flat_grad"] = _wrap(prev_flat_grad)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = [_wrap(v) for v in al]
        return orig_loss
