# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Per-iteration diagnostics of Hyper-SET models (paper Sec. 5.4, App. D.5, Fig. 5-6) and plotting helpers.

What is measured, at the initial state and after every iteration, for every sample:

- the attention, feedforward and total energy (the analysis energies of the model, parameter-free RMS norms);
- for every head, on the head's normalised projections z = rms_norm(W_h^T x) (shape `(tokens, head_dim)`, no learned
  gain): the effective rank exp(-sum_i pi_i log pi_i) with pi the normalised singular values (Eq. 17), the numerical
  rank, and the average angle between tokens in degrees, in two definitions:
  `"mean_of_angles"` (the mean over all ordered token pairs i != j of arccos(cos(z_i, z_j)); what the reference code
  computes and the paper's figures show) and `"angle_of_mean_cosine"` (arccos of the mean cosine, the paper's Eq. 18).
  By Jensen's inequality the two differ whenever the angles are not all equal.

Unlike the reference "vis" mode, entry 0 is the initial state x_0 (the reference records only the states after each
iteration). With depth-wise LoRA, entry t uses the weights of iteration t (entry 0 those of iteration 1).

```python
>>> import torch
>>> from hyperset_hf import HyperSETConfig, HyperSETForSudoku
>>> from hyperset_hf.analysis import iteration_diagnostics
>>> config = HyperSETConfig.from_preset("sudoku", hidden_size=32, num_attention_heads=4, intermediate_size=64)
>>> diagnostics = iteration_diagnostics(HyperSETForSudoku(config), {"input_ids": torch.randint(0, 10, (2, 81))}, 6)
>>> diagnostics["energy"].shape, diagnostics["effective_rank"].shape
(torch.Size([2, 7]), torch.Size([2, 4, 7]))

```

The plotting helpers import matplotlib lazily (`pip install matplotlib`); nothing else here needs it.
"""

import math
from collections.abc import Iterable, Mapping

import torch
from torch.nn import functional as F


ANGLE_DEFINITIONS = ("mean_of_angles", "angle_of_mean_cosine")
DIAGNOSTIC_KEYS = (
    "energy",
    "attention_energy",
    "feedforward_energy",
    "effective_rank",
    "rank",
    "average_angle_mean_of_angles",
    "average_angle_of_mean_cosine",
)


def effective_rank(matrices: torch.Tensor) -> torch.Tensor:
    """Effective rank (Roy & Vetterli 2007; paper Eq. 17) of the last two dimensions: `exp(-sum_i pi_i log pi_i)`
    with `pi = s / sum(s)` and s the singular values. Zero singular values contribute nothing (0 log 0 = 0); an all-zero
    matrix has effective rank 0. `(..., rows, columns)` -> `(...)`."""
    singular_values = torch.linalg.svdvals(matrices)
    total = singular_values.sum(dim=-1, keepdim=True)
    probabilities = singular_values / total.clamp_min(torch.finfo(singular_values.dtype).tiny)
    entropy = -torch.where(probabilities > 0, probabilities * probabilities.clamp_min(1e-300).log(), 0.0).sum(-1)
    return torch.where(total.squeeze(-1) > 0, entropy.exp(), torch.zeros_like(entropy))


def matrix_rank(matrices: torch.Tensor) -> torch.Tensor:
    """Numerical rank of the last two dimensions with torch's default tolerance. `(..., rows, columns)` -> `(...)`."""
    return torch.linalg.matrix_rank(matrices)


def average_angle(tokens: torch.Tensor, definition: str = "mean_of_angles") -> torch.Tensor:
    """Average angle in degrees between the rows of the last two dimensions `(..., num_tokens, dim)` -> `(...)`, over
    all ordered pairs i != j of the unit-normalised rows.

    `definition="mean_of_angles"`: mean of arccos(cos_ij) (the reference code, the paper's figures);
    `definition="angle_of_mean_cosine"`: arccos(mean of cos_ij) (the paper's Eq. 18)."""
    if definition not in ANGLE_DEFINITIONS:
        raise ValueError(f"`definition` must be one of {ANGLE_DEFINITIONS}, got {definition!r}.")
    num_tokens = tokens.shape[-2]
    if num_tokens < 2:
        raise ValueError(f"The average angle needs at least 2 tokens, got {num_tokens}.")
    unit = F.normalize(tokens, dim=-1)
    cosines = torch.matmul(unit, unit.transpose(-1, -2)).clamp(-1.0, 1.0)
    off_diagonal = ~torch.eye(num_tokens, dtype=torch.bool, device=tokens.device)
    cosines = cosines[..., off_diagonal]  # (..., N (N - 1))
    if definition == "mean_of_angles":
        return torch.rad2deg(torch.arccos(cosines)).mean(dim=-1)
    return torch.rad2deg(torch.arccos(cosines.mean(dim=-1).clamp(-1.0, 1.0)))


def _base_model(model):
    base = getattr(model, getattr(model, "base_model_prefix", ""), model)
    encoder = getattr(base, "encoder", None)
    if encoder is None or not getattr(encoder, "is_energy_based", False):
        raise ValueError(
            f"Diagnostics need an energy-based Hyper-SET model (HyperSETModel or one of its heads with "
            f"layer_type='hyperset'), got {type(model).__name__}."
        )
    return base


@torch.no_grad()
def state_diagnostics(encoder, layer, hidden_states: torch.Tensor, iteration: int = 0) -> dict:
    """Diagnostics of one state under one [`HyperSETLayer`] of `encoder` (with the weights of `iteration` under
    depth-wise LoRA): energies `(batch_size,)`, and effective rank, rank and both average angles of every head's
    normalised projections `(batch_size, num_heads)`."""
    attention_weight, _ = encoder.iteration_weights(layer, iteration)
    attention_energy, feedforward_energy = encoder.energies(layer, iteration, hidden_states)
    projections = layer.attention.project_heads(hidden_states, attention_weight)
    projections = F.rms_norm(projections, (projections.shape[-1],)).double()  # (batch, heads, tokens, head_dim)
    return {
        "energy": attention_energy + feedforward_energy,
        "attention_energy": attention_energy,
        "feedforward_energy": feedforward_energy,
        "effective_rank": effective_rank(projections),
        "rank": matrix_rank(projections),
        "average_angle_mean_of_angles": average_angle(projections, "mean_of_angles"),
        "average_angle_of_mean_cosine": average_angle(projections, "angle_of_mean_cosine"),
    }


@torch.no_grad()
def iteration_diagnostics(model, inputs: Mapping[str, torch.Tensor], num_recurrences: int | None = None) -> dict:
    """Runs `model` (a [`HyperSETModel`] or any Hyper-SET head) on `inputs` (`{"input_ids": ...}` or
    `{"pixel_values": ...}`) for `num_recurrences` iterations (default: the config's) and measures every state.

    Returns a dict of tensors (see the module docstring) with an iteration axis of length `num_layers *
    num_recurrences + 1` (entry 0 = the initial state, entry l T + t = after iteration t of layer l):
    `energy`, `attention_energy`, `feedforward_energy` of shape `(batch_size, L T + 1)`; `effective_rank`, `rank`,
    `average_angle_mean_of_angles`, `average_angle_of_mean_cosine` of shape `(batch_size, num_heads, L T + 1)`.
    The model is not switched to eval mode; call `model.eval()` first to turn dropout off."""
    base = _base_model(model)
    num_recurrences = base.config.num_recurrences if num_recurrences is None else num_recurrences
    outputs = base(**inputs, num_recurrences=num_recurrences, output_hidden_states=True)
    encoder = base.encoder
    per_state = []
    for index, state in enumerate(outputs.hidden_states):
        layer_index = 0 if index == 0 else (index - 1) // num_recurrences
        iteration = 0 if index == 0 else (index - 1) % num_recurrences
        per_state.append(state_diagnostics(encoder, encoder.layers[layer_index], state, iteration))
    return {key: torch.stack([entry[key] for entry in per_state], dim=-1) for key in DIAGNOSTIC_KEYS}


def collect_diagnostics(
    model, batches: Iterable[Mapping[str, torch.Tensor]], num_recurrences: int | None = None
) -> dict:
    """[`iteration_diagnostics`] over several input batches, concatenated along the batch axis."""
    collected = [iteration_diagnostics(model, batch, num_recurrences) for batch in batches]
    if not collected:
        raise ValueError("`batches` is empty.")
    return {key: torch.cat([entry[key] for entry in collected], dim=0) for key in DIAGNOSTIC_KEYS}


def summarize(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over samples of a trajectory `(num_samples, [num_heads,] num_states)`: heads are
    averaged per sample first. Returns two tensors of shape `(num_states,)`."""
    values = values.double()
    if values.ndim == 3:
        values = values.mean(dim=1)
    if values.ndim != 2:
        raise ValueError(f"Expected a trajectory of shape (samples, [heads,] states), got {tuple(values.shape)}.")
    return values.mean(dim=0), values.std(dim=0, unbiased=values.shape[0] > 1)


DEFAULT_TITLES = {
    "energy": "total energy",
    "attention_energy": "attention energy",
    "feedforward_energy": "feedforward energy",
    "effective_rank": "effective rank (mean over heads)",
    "rank": "rank (mean over heads)",
    "average_angle_mean_of_angles": "average angle, mean of angles (deg)",
    "average_angle_of_mean_cosine": "average angle, angle of mean cosine (deg)",
}


def plot_trajectory(
    ax, values: torch.Tensor, label: str | None = None, color=None, trained_iterations: int | None = None
):
    """Draws the mean over samples (line) and mean +- one standard deviation (band) of a trajectory
    `(num_samples, [num_heads,] num_states)` against the iteration (0 = initial state) on a matplotlib axis; a dashed
    vertical line marks `trained_iterations` when given. Returns the line."""
    mean, std = summarize(values)
    iterations = torch.arange(mean.shape[0]).numpy()
    mean, std = mean.cpu().numpy(), std.cpu().numpy()
    (line,) = ax.plot(iterations, mean, label=label, color=color)
    ax.fill_between(iterations, mean - std, mean + std, color=line.get_color(), alpha=0.25, linewidth=0)
    if trained_iterations is not None:
        ax.axvline(trained_iterations, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("iteration")
    return line


def plot_diagnostics(
    diagnostics: Mapping[str, torch.Tensor],
    keys: Iterable[str] | None = None,
    trained_iterations: int | None = None,
    columns: int = 3,
    title: str | None = None,
):
    """One panel per diagnostic (default: all of [`iteration_diagnostics`]), each with the mean and spread over the
    samples. Returns the matplotlib figure (`figure.savefig("trajectories.png")`). Needs matplotlib."""
    try:
        from matplotlib import pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("Plotting needs matplotlib: `pip install matplotlib`.") from error
    keys = list(DIAGNOSTIC_KEYS if keys is None else keys)
    unknown = [key for key in keys if key not in diagnostics]
    if unknown:
        raise ValueError(f"Unknown diagnostics {unknown}; available: {sorted(diagnostics)}.")
    columns = min(columns, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        plot_trajectory(ax, diagnostics[key], trained_iterations=trained_iterations)
        ax.set_title(DEFAULT_TITLES.get(key, key), fontsize=10)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


__all__ = [
    "ANGLE_DEFINITIONS",
    "DIAGNOSTIC_KEYS",
    "average_angle",
    "collect_diagnostics",
    "effective_rank",
    "iteration_diagnostics",
    "matrix_rank",
    "plot_diagnostics",
    "plot_trajectory",
    "state_diagnostics",
    "summarize",
]
