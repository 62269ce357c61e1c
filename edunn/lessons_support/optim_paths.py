"""Optimizer paths on two-dimensional test surfaces, drawn and animated (lesson 14).

A *surface* is a function ``f(x, y)`` written with edunn tensor ops, so the same code gives the
loss of one point (two 0-dim tensors, for autograd) and the contour grid (two 2-D tensors).
``optimizer_path`` runs any ``edunn.optim.Optimizer`` class -- edunn's or the learner's -- from
the surface's starting point and records where it goes; ``plot_paths`` draws the paths over the
contours and ``animate_paths`` writes them as a GIF (``matplotlib.animation.PillowWriter``), one
frame per few steps, so that one sees the optimizers race.

Everything is computed with edunn tensors and handed to matplotlib as Python lists: this module,
like the rest of ``edunn`` outside ``backend.py``, never imports NumPy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import edunn

__all__ = ["Surface", "VALLEY", "BEALE", "SADDLE", "SURFACES", "COLORS", "optimizer_path",
           "plot_paths", "animate_paths"]


def _valley(x: Any, y: Any) -> Any:
    # 0.05 x^2 + y^2: the curvature across the valley (2) is 20 times the curvature along it
    # (0.1), so a learning rate small enough not to bounce across is tiny along it.
    return 0.05 * x ** 2 + y ** 2


def _beale(x: Any, y: Any) -> Any:
    # Beale's function: minimum 0 at (3, 0.5), flat plateaus and steep walls around it.
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def _saddle(x: Any, y: Any) -> Any:
    # x^2 - y^2: a minimum along x, a maximum along y; the gradient vanishes at the origin.
    return x ** 2 - y ** 2


@dataclass(frozen=True)
class Surface:
    """A test function for optimizers, with where to start and what to show.

    ``fn(x, y)`` works on tensors of any (equal) shape; ``levels`` are the contour levels
    (``log=True``: drawn on a logarithmic colour scale, for functions that span decades)."""

    name: str
    fn: Callable[[Any, Any], Any]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    levels: tuple[float, ...]
    minimum: tuple[float, float] | None = None
    log: bool = False

    def __call__(self, x: Any, y: Any) -> Any:
        return self.fn(x, y)


VALLEY = Surface("a long narrow valley: 0.05 x² + y²", _valley, start=(-9.0, 1.6),
                 xlim=(-10.0, 2.0), ylim=(-2.0, 2.0),
                 levels=tuple(0.05 * 1.6 ** k for k in range(12)), minimum=(0.0, 0.0), log=True)
BEALE = Surface("Beale's function", _beale, start=(0.7, 1.4), xlim=(-0.5, 4.0), ylim=(-1.5, 2.0),
                levels=tuple(10 ** (k / 3) for k in range(-6, 16)), minimum=(3.0, 0.5), log=True)
SADDLE = Surface("a saddle point: x² − y²", _saddle, start=(-1.0, 1e-3), xlim=(-1.2, 1.2),
                 ylim=(-1.2, 1.2), levels=tuple(k / 5 for k in range(-7, 8)))
SURFACES = {"valley": VALLEY, "beale": BEALE, "saddle": SADDLE}

# One colour per optimizer name, the same in every picture.
COLORS = {"SGD": "#1f77b4", "momentum": "#ff7f0e", "Nesterov": "#2ca02c", "Adagrad": "#d62728",
          "RMSprop": "#9467bd", "Adam": "#8c564b"}
_OTHER_COLORS = ("#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def optimizer_path(optimizer_class: type, surface: Surface, steps: int,
                   **options: Any) -> list[tuple[float, float]]:
    """Run ``optimizer_class([xy], **options)`` for ``steps`` steps on ``surface`` from its
    start, in float64; return the points visited (``steps + 1`` of them, fewer if the run left
    the picture for good: a point beyond 100 times the plotted range, or not finite, ends it)."""
    xy = edunn.tensor(list(surface.start), dtype=edunn.float64, requires_grad=True)
    optimizer = optimizer_class([xy], **options)
    path = [tuple(surface.start)]
    span = max(surface.xlim[1] - surface.xlim[0], surface.ylim[1] - surface.ylim[0])
    for _ in range(steps):
        xy.grad = None
        surface(xy[0], xy[1]).backward()
        optimizer.step()
        x, y = xy.tolist()
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 100 * span:
            break
        path.append((x, y))
    return path


def _grid(surface: Surface, n: int) -> tuple[list, list, list]:
    xs = edunn.linspace(surface.xlim[0], surface.xlim[1], n, dtype=edunn.float64)
    ys = edunn.linspace(surface.ylim[0], surface.ylim[1], n, dtype=edunn.float64)
    gx, gy = edunn.meshgrid(xs, ys, indexing="xy")
    return gx.tolist(), gy.tolist(), surface(gx, gy).tolist()


def _color(name: str, index: int) -> str:
    return COLORS.get(name, _OTHER_COLORS[index % len(_OTHER_COLORS)])


def _background(surface: Surface, ax: Any, n: int = 120) -> None:
    from matplotlib.colors import LogNorm

    gx, gy, gz = _grid(surface, n)
    norm = LogNorm(surface.levels[0], surface.levels[-1]) if surface.log else None
    ax.contour(gx, gy, gz, levels=list(surface.levels), cmap="Greys_r" if surface.log else "coolwarm",
               norm=norm, linewidths=0.6, alpha=0.6)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", color="k", markersize=10, linestyle="none")
    ax.plot(*surface.start, marker="o", color="k", markersize=4, linestyle="none")
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_paths(surface: Surface, paths: dict[str, list[tuple[float, float]]], ax: Any = None,
               title: str | None = None, legend: bool = True) -> Any:
    """Draw ``paths`` (``{optimizer name: points}``) over the contours of ``surface``; returns
    the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.4))
    _background(surface, ax)
    for i, (name, path) in enumerate(paths.items()):
        xs, ys = zip(*path)
        ax.plot(xs, ys, "-", color=_color(name, i), linewidth=1.4, label=name)
        ax.plot(xs[-1], ys[-1], "o", color=_color(name, i), markersize=4)
    ax.set_title(surface.name if title is None else title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return ax


def animate_paths(surface: Surface, paths: dict[str, list[tuple[float, float]]],
                  filename: str | Path, frames: int = 30, fps: int = 8, dpi: int = 60,
                  figsize: tuple[float, float] = (4.5, 3.4)) -> Path:
    """Write an animated GIF of ``paths`` growing over ``frames`` frames (frame ``k`` shows the
    first ``k / (frames - 1)`` of the longest run); returns the file's path. Small on purpose:
    a few frames, a small figure, few colours."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=figsize)
    _background(surface, ax, n=80)
    ax.set_title(surface.name, fontsize=9)
    longest = max(len(p) for p in paths.values())
    lines, heads = [], []
    for i, name in enumerate(paths):
        (line,) = ax.plot([], [], "-", color=_color(name, i), linewidth=1.4, label=name)
        (head,) = ax.plot([], [], "o", color=_color(name, i), markersize=4)
        lines.append(line)
        heads.append(head)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.tight_layout()

    def draw(k: int) -> list:
        upto = 1 + round(k * (longest - 1) / max(frames - 1, 1))
        for line, head, path in zip(lines, heads, paths.values()):
            xs, ys = zip(*path[:upto])
            line.set_data(xs, ys)
            head.set_data([xs[-1]], [ys[-1]])
        return lines + heads

    animation = FuncAnimation(fig, draw, frames=frames, blit=False)
    filename = Path(filename)
    animation.save(filename, writer=PillowWriter(fps=fps), dpi=dpi)
    plt.close(fig)
    return filename
