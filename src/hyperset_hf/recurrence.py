# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The one recurrence that every model of this package runs.

A recurrent-depth model applies each of its (few, weight-tied) layers `num_recurrences` times:

    x_0 = embeddings (or a given initial state: a warm start)
    x_{t+1} = update(layer, t, x_t)                                 t = 0 ... T - 1, for every layer in turn

What differs between the models is only `update` (and `energies`, for the energy-based ones), defined by their encoder,
a subclass of [`RecurrentEncoder`]:

- Hyper-SET: a gradient step on the hyperspherical energy with learned step sizes (`modeling_hyperset.HyperSETEncoder`);
- the paper's Transformer baseline: a pre-norm Transformer block (`modeling_hyperset.HyperSETTransformerEncoder`);
- Energy Transformer on images and on graphs: a gradient step on the attention + Hopfield energy
  (`modeling_energy_transformer`).

[`iterate_recurrence`] is the only loop. It handles, for every model alike:

- the energies of x_0 and of the state after every iteration (`output_energies`), stacked once;
- truncated backpropagation (the first `gradient_free` iterations run without autograd graph) and segment-wise
  training (`detach_interval`);
- gradient checkpointing: every iteration runs inside [`RecurrentStep`], a `GradientCheckpointingLayer`;
- hidden states and attentions: transformers' output capturing records the outputs of [`RecurrentStep`] (the state
  after each iteration, full batch, and the attention of that iteration);
- adaptive exit ([`AdaptiveExit`], inference only): a sample stops after the first iteration whose relative change is
  below a threshold; finished samples leave the computation (the step runs on the remaining ones only) and keep
  their state, energies and last attention.

Nothing in the loop depends on the data unless adaptive exit is on: a fixed-depth forward compiles to one graph.

This module imports only torch and transformers, so it travels with the modeling files as Hub remote code.
"""

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import torch
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer


def accumulation_dtype(tensor: torch.Tensor) -> torch.dtype:
    """float32 for half-precision tensors (softmax, log-sum-exp and energies accumulate in it), else their dtype."""
    return torch.float32 if tensor.element_size() < 4 else tensor.dtype


def upcast(tensor: torch.Tensor) -> torch.Tensor:
    """A half-precision tensor in float32, others unchanged."""
    return tensor.to(accumulation_dtype(tensor))


def relative_energy_change(state, new_state, energy, new_energy):
    """|E(x_t) - E(x_{t-1})| / |E(x_{t-1})| per sample."""
    return (new_energy - energy).abs() / energy.abs().clamp_min(torch.finfo(energy.dtype).tiny)


def relative_state_change(state, new_state, energy, new_energy):
    """||x_t - x_{t-1}|| / ||x_{t-1}|| over all tokens of a sample (in float32 for half-precision states)."""
    state, new_state = upcast(state), upcast(new_state)
    norm = torch.linalg.vector_norm(state, dim=(1, 2)).clamp_min(torch.finfo(state.dtype).tiny)
    return torch.linalg.vector_norm(new_state - state, dim=(1, 2)) / norm


# criterion name -> (relative change of one iteration, whether it needs the energies)
EXIT_CRITERIA = {"energy": (relative_energy_change, True), "state": (relative_state_change, False)}


@dataclass(frozen=True)
class AdaptiveExit:
    """Adaptive test-time compute: a sample leaves a layer's recurrence after the first iteration, not before
    `min_recurrences`, whose relative change (`criterion`: `"energy"` or `"state"`, see `EXIT_CRITERIA`) is
    below `threshold` (0 never exits; NaN keeps iterating). Every sample is computed independently of the others."""

    threshold: float
    criterion: str = "energy"
    min_recurrences: int = 1

    @property
    def needs_energy(self) -> bool:
        return EXIT_CRITERIA[self.criterion][1]

    def change(self, state, new_state, energy, new_energy) -> torch.Tensor:
        return EXIT_CRITERIA[self.criterion][0](state, new_state, energy, new_energy)


class RecurrenceOutput(NamedTuple):
    """What [`iterate_recurrence`] returns.

    Attributes:
        last_hidden_state: the final state, the shape of the input state.
        energies: per layer, the (attention, feedforward) energies of x_0 and after every iteration, each of shape
            `(batch_size, num_recurrences + 1)` (`(num_recurrences + 1,)` for a graph); `None` unless requested.
        iterations_used: `(batch_size,)` iterations actually run per sample, summed over layers (adaptive exit only).
    """

    last_hidden_state: torch.Tensor
    energies: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    iterations_used: torch.Tensor | None = None


def _take(tensor, active):
    """The rows `active` of a per-sample tensor (all of it, or a non-tensor context, when `active` is None)."""
    return tensor if active is None or not isinstance(tensor, torch.Tensor) else tensor.index_select(0, active)


def _put(tensor, active, rows):
    """`tensor` with its rows `active` replaced by `rows` (just `rows` when all samples are active)."""
    return rows if active is None or tensor is None or rows is None else tensor.index_copy(0, active, rows)


class RecurrentStep(GradientCheckpointingLayer):
    """One iteration of the recurrence, as a module without weights: the unit that gradient checkpointing recomputes
    (a checkpointed training step keeps only the state x_t of every iteration) and whose outputs transformers' output
    capturing records (`hidden_states`: x_0, then output 0 of every call; `attentions`: output 1).

    With `active` (adaptive exit) only those samples are updated; the others keep their state and last attention."""

    def forward(self, hidden_states, context=None, active=None, attention=None, *, update, energies=None):
        """
        Args:
            hidden_states: x_t, `(batch_size, ...)`.
            context: what the encoder's `prepare` computed once per forward (per-sample tensors are subset too).
            active: `(num_active,)` indices of the samples to update, or `None` for all.
            attention: the attention recorded at the previous iteration (kept for inactive samples).
            update: `update(state, context) -> (new_state, attention or None)`, one iteration of the encoder.
            energies: `energies(state, context) -> (attention_energy, feedforward_energy)`, or `None`.
        Returns:
            x_{t+1} (full batch), the attention of this iteration (full batch, or `None`) and the energies of the
            updated samples' new states (or `None`).
        """
        context = _take(context, active)
        new_state, new_attention = update(_take(hidden_states, active), context)
        new_energies = None if energies is None else energies(new_state, context)
        return _put(hidden_states, active, new_state), _put(attention, active, new_attention), new_energies


class RecurrentEncoder(nn.Module):
    """The base of every encoder: a subclass builds `self.layers` and defines `update` (and `energies` when it is
    energy-based); `forward` runs [`iterate_recurrence`] over them."""

    is_energy_based = True
    # with per-iteration weights (depth-wise LoRA) the energy of a state depends on the iteration's weights
    energies_depend_on_iteration = False

    def __init__(self):
        super().__init__()
        self.step = RecurrentStep()

    def max_recurrences(self) -> int | None:
        """The most iterations this encoder can run (`None`: no limit)."""
        return None

    def prepare(self, hidden_states: torch.Tensor) -> Any:
        """Once per forward, from the embeddings x_0: what every iteration needs (e.g. step-size conditioning)."""
        return None

    def update(self, layer: nn.Module, iteration: int, hidden_states: torch.Tensor, context: Any):
        """One iteration of `layer` (0-based `iteration`): returns (x_{t+1}, attention of this iteration or None)."""
        raise NotImplementedError

    def energies(self, layer: nn.Module, iteration: int, hidden_states: torch.Tensor, context: Any):
        """(attention energy, feedforward energy) of a state, each `(batch_size,)` (`()` for a graph)."""
        raise NotImplementedError(f"{type(self).__name__} has no energy")

    def forward(self, hidden_states, num_recurrences: int, context=None, **options) -> RecurrenceOutput:
        """`iterate_recurrence(self, hidden_states, num_recurrences, context, **options)`."""
        return iterate_recurrence(self, hidden_states, num_recurrences, context, **options)


def iterate_recurrence(
    encoder: RecurrentEncoder,
    hidden_states: torch.Tensor,
    num_recurrences: int,
    context: Any = None,
    *,
    output_energies: bool = False,
    gradient_free: int = 0,
    detach_interval: int = 0,
    adaptive_exit: AdaptiveExit | None = None,
    output_attentions: bool = False,
) -> RecurrenceOutput:
    """Runs every layer of `encoder` for `num_recurrences` iterations (layer-major) from the state `hidden_states`.

    Args:
        encoder: defines `layers`, `update`, `energies` (see [`RecurrentEncoder`]).
        hidden_states: the initial state `(batch_size, tokens, hidden_size)` (`(num_nodes, hidden_size)` for a graph):
            the embeddings, or any state to continue from (warm start).
        num_recurrences: iterations of every layer.
        context: `encoder.prepare(embeddings)`, computed once by the caller.
        output_energies: return the energies of the initial state and after every iteration.
        gradient_free: the first `gradient_free` iterations of every layer run without autograd graph.
        detach_interval: with k > 0, the state is detached every k iterations (segment-wise training).
        adaptive_exit: an [`AdaptiveExit`] rule (inference only), or `None` for a fixed depth.
        output_attentions: passed to `encoder.update` (an attention matrix that is not always formed is formed).
    """
    needs_energy = output_energies or (adaptive_exit is not None and adaptive_exit.needs_energy)
    grad_enabled = torch.is_grad_enabled()
    batch_size = hidden_states.shape[0]
    iterations_used = None
    if adaptive_exit is not None:
        iterations_used = torch.zeros(batch_size, dtype=torch.long, device=hidden_states.device)
    all_energies = []
    for layer in encoder.layers:
        energies = encoder.energies(layer, 0, hidden_states, context) if needs_energy else None
        trajectory, attention = [energies], None
        active = None if adaptive_exit is None else torch.arange(batch_size, device=hidden_states.device)
        for iteration in range(num_recurrences):
            if detach_interval and iteration and iteration % detach_interval == 0:
                hidden_states = hidden_states.detach()  # segment-wise training: a new segment starts here
            measure = partial(encoder.energies, layer, iteration) if needs_energy else None
            state = _take(hidden_states, active)  # what adaptive exit compares the new state with
            with torch.set_grad_enabled(grad_enabled and iteration >= gradient_free):  # truncated backpropagation
                hidden_states, attention, new_energies = encoder.step(
                    hidden_states, context, active, attention, update=partial(encoder.update, layer, iteration, output_attentions=output_attentions),
                    energies=measure,
                )  # fmt: skip
            if adaptive_exit is not None:
                iterations_used.index_add_(0, active, torch.ones_like(active))
                energy = new_energy = None
                if needs_energy:
                    old_energies = tuple(_take(e, active) for e in energies)
                    if encoder.energies_depend_on_iteration:  # compare both states under this iteration's weights
                        old_energies = measure(state, _take(context, active))
                    energy, new_energy = sum(old_energies), sum(new_energies)
                    new_energies = tuple(_put(e, active, n) for e, n in zip(energies, new_energies))
                if iteration + 1 >= adaptive_exit.min_recurrences:
                    change = adaptive_exit.change(state, _take(hidden_states, active), energy, new_energy)
                    active = active[~(change < adaptive_exit.threshold)]  # NaN keeps iterating
            energies = new_energies
            trajectory.append(energies)
        if output_energies:  # (attention, feedforward), each (batch_size, num_recurrences + 1)
            all_energies.append(tuple(torch.stack(column, dim=-1) for column in zip(*trajectory)))
    return RecurrenceOutput(hidden_states, all_energies if output_energies else None, iterations_used)


def energy_fields(energies: list[tuple[torch.Tensor, torch.Tensor]] | None) -> dict:
    """The energy fields of every model output from the per-layer (attention, feedforward) energies of
    [`iterate_recurrence`]: `energies` (their sum), `attention_energies`, `feedforward_energies`, each a tuple with
    one tensor per layer (all `None` when the energies were not requested)."""
    if energies is None:
        return {"energies": None, "attention_energies": None, "feedforward_energies": None}
    attention, feedforward = (tuple(layer[index] for layer in energies) for index in (0, 1))
    return {
        "energies": tuple(map(torch.add, attention, feedforward)),
        "attention_energies": attention,
        "feedforward_energies": feedforward,
    }
