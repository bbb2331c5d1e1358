"""A tour of minidl's optimizers: every one from the same start on four classic test surfaces.

Each surface is a function of two parameters, written with minidl tensor ops; each optimizer
minimises it from the same starting point with ``loss.backward()`` and ``optimizer.step()``,
exactly as it would train a network. The figure draws every trajectory over the loss contours:

* saddle — ``x^2 + y^4/4 - y^2/2``: a saddle at the origin between two valleys at ``y = +-1``;
  starting almost on the ridge, plain SGD lingers near the saddle while adaptive methods escape;
* Rosenbrock — ``(1 - x)^2 + 100 (y - x^2)^2``: a curved, narrow valley down to ``(1, 1)``;
* Beale — a flat plateau with steep walls, its minimum at ``(3, 0.5)``;
* noisy quadratic — ``(x^2 + 10 y^2) / 2``, ill-conditioned, with Gaussian noise added to every
  gradient (as minibatches do); the loss reported is the noise-free one.

    python examples/optimizers_tour.py                   # 500 steps each: runs/optimizers_tour/
    python examples/optimizers_tour.py --quick           # 120 steps, coarser contours (for tests)

Writes ``optimizers_tour.png`` and ``metrics.json`` (each optimizer's final loss per surface,
with the starting loss and the surface's minimum) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import minidl as md
from minidl import optim
from minidl.training import progress
from minidl.training.plots import require_matplotlib

LossFunction = Callable[[md.Tensor, md.Tensor], md.Tensor]


@dataclass
class Surface:
    name: str
    loss: LossFunction          # f(x, y), elementwise: works on scalars and on grids
    start: tuple[float, float]
    minimum: float
    view: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the plot
    learning_rates: dict[str, float]         # per optimizer: each needs its own scale on each surface
    gradient_noise: float = 0.0
    log_contours: bool = False
    minimisers: list[tuple[float, float]] = field(default_factory=list)


def saddle(x: md.Tensor, y: md.Tensor) -> md.Tensor:
    return x**2 + y**4 / 4 - y**2 / 2


def rosenbrock(x: md.Tensor, y: md.Tensor) -> md.Tensor:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def beale(x: md.Tensor, y: md.Tensor) -> md.Tensor:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def quadratic(x: md.Tensor, y: md.Tensor) -> md.Tensor:
    return (x**2 + 10 * y**2) / 2


def rates(sgd: float, momentum: float, adagrad: float, adadelta: float, rmsprop: float, adam: float) -> dict:
    return {
        "SGD": sgd, "SGD momentum": momentum, "Nesterov": momentum, "Adagrad": adagrad, "Adadelta": adadelta,
        "RMSprop": rmsprop, "Adam": adam, "AdamW": adam,
    }


SURFACES = [
    Surface("saddle", saddle, (1.5, 1e-3), -0.25, (-2.0, 2.0, -1.6, 1.6), rates(0.05, 0.02, 0.3, 5.0, 0.02, 0.05),
            minimisers=[(0.0, 1.0), (0.0, -1.0)]),
    Surface("Rosenbrock", rosenbrock, (-1.5, 2.0), 0.0, (-2.0, 2.0, -1.0, 3.0),
            rates(4e-4, 1e-4, 0.5, 5.0, 0.01, 0.05), log_contours=True, minimisers=[(1.0, 1.0)]),
    Surface("Beale", beale, (1.0, 1.4), 0.0, (-1.0, 4.0, -1.5, 2.0), rates(2e-3, 5e-4, 0.3, 5.0, 0.01, 0.05),
            log_contours=True, minimisers=[(3.0, 0.5)]),
    Surface("noisy quadratic", quadratic, (-2.5, 1.5), 0.0, (-3.0, 3.0, -2.0, 2.0),
            rates(0.05, 0.02, 0.5, 10.0, 0.02, 0.1), gradient_noise=1.0, minimisers=[(0.0, 0.0)]),
]

OPTIMIZERS: dict[str, Callable[[list[md.Tensor], float], optim.Optimizer]] = {
    "SGD": lambda params, lr: optim.SGD(params, lr=lr),
    "SGD momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "Nesterov": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
    "Adadelta": lambda params, lr: optim.Adadelta(params, lr=lr),
    "RMSprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: optim.Adam(params, lr=lr),
    "AdamW": lambda params, lr: optim.AdamW(params, lr=lr, weight_decay=0.01),
}


def descend(surface: Surface, name: str, steps: int) -> np.ndarray:
    """The optimizer's path on the surface: ``(steps + 1, 2)`` points, the start included."""
    point = md.tensor(surface.start, requires_grad=True)
    optimizer = OPTIMIZERS[name]([point], surface.learning_rates[name])
    path = [point.detach().numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = surface.loss(point[0], point[1])
        if surface.gradient_noise:
            loss = loss + surface.gradient_noise * (md.randn(2) * point).sum()  # a random gradient offset
        loss.backward()
        optimizer.step()
        path.append(point.detach().numpy().copy())
    return np.array(path)


def loss_at(surface: Surface, x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    return surface.loss(md.tensor(x, dtype=md.float64), md.tensor(y, dtype=md.float64)).numpy()


def draw(paths: dict[str, dict[str, np.ndarray]], resolution: int, out: Path) -> Path:
    """Trajectories over the contours, one panel per surface, into ``out``."""
    Figure = require_matplotlib()
    figure = Figure(figsize=(13, 10.5), layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    colors = {name: f"C{index}" for index, name in enumerate(OPTIMIZERS)}
    for ax, surface in zip(axes, SURFACES):
        x_min, x_max, y_min, y_max = surface.view
        grid_x, grid_y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
        heights = loss_at(surface, grid_x, grid_y)
        if surface.log_contours:
            levels = np.logspace(np.log10(max(heights.min(), 1e-3)), np.log10(heights.max()), 25)
            ax.contour(grid_x, grid_y, heights, levels=levels, cmap="viridis", norm="log", linewidths=0.7)
        else:
            ax.contour(grid_x, grid_y, heights, levels=25, cmap="viridis", linewidths=0.7)
        for name, path in paths[surface.name].items():
            ax.plot(path[:, 0], path[:, 1], color=colors[name], linewidth=1.3, label=name)
            ax.plot(*path[-1], marker="o", color=colors[name], markersize=4)
        ax.plot(*surface.start, marker="x", color="black", markersize=8)
        for minimiser in surface.minimisers:
            ax.plot(*minimiser, marker="*", color="red", markersize=12)
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_min, y_max)
        ax.set_title(surface.name)
    axes[0].legend(loc="lower left", fontsize=8)
    figure.suptitle("minidl optimizers from the same start (x: start, star: minimum)")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/optimizers_tour/", help="folder for the PNG and metrics.json")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run (default 500, quick 120)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the gradient noise")
    parser.add_argument("--quick", action="store_true", help="fewer steps and coarser contours (for tests)")
    args = parser.parse_args()
    steps = args.steps if args.steps is not None else (120 if args.quick else 500)
    out = Path(args.out)

    md.manual_seed(args.seed)
    runs = [(surface, name) for surface in SURFACES for name in OPTIMIZERS]
    paths: dict[str, dict[str, np.ndarray]] = {surface.name: {} for surface in SURFACES}
    for surface, name in progress(runs, desc="optimizer runs", unit="run"):
        paths[surface.name][name] = descend(surface, name, steps)

    metrics = {"steps": steps, "surfaces": {}}
    for surface in SURFACES:
        final = {name: float(loss_at(surface, *path[-1])) for name, path in paths[surface.name].items()}
        metrics["surfaces"][surface.name] = {
            "start_loss": float(loss_at(surface, *surface.start)), "minimum": surface.minimum, "final_loss": final,
        }
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    figure = draw(paths, resolution=80 if args.quick else 300, out=out / "optimizers_tour.png")

    for surface_name, result in metrics["surfaces"].items():
        ranking = sorted(result["final_loss"].items(), key=lambda item: item[1])
        print(f"{surface_name:>16}: start {result['start_loss']:.4g}, minimum {result['minimum']:g}; final "
              + ", ".join(f"{name} {loss:.3g}" for name, loss in ranking))
    print(f"wrote {figure} and {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
