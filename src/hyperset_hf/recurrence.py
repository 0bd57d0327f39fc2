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
from typing import Any, NamedTuple, TypedDict

import torch
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

from .input_checks import as_count, check_forward_kwargs, shape_of


def accumulation_dtype(tensor: torch.Tensor) -> torch.dtype:
    """float32 for half-precision tensors (softmax, log-sum-exp and energies accumulate in it), else their dtype."""
    return torch.float32 if tensor.element_size() < 4 else tensor.dtype


class RecurrentModelKwargs(TypedDict, total=False):
    """The keyword arguments that the `forward` of every model in this package accepts (both families, base models and
    heads), typed once, as transformers' `TransformersKwargs`: `forward(..., **kwargs: Unpack[RecurrentModelKwargs])`.
    Heads pass them on untouched; the base model (or the graph model) checks them once.

    Attributes:
        num_recurrences (`int`): iterations of every layer for this call (default `config.num_recurrences`).
        output_energies (`bool`): return the energies of the initial state and after every iteration.
        output_hidden_states (`bool`): return the initial state and the state after every iteration.
        output_attentions (`bool`): return the attention of every iteration.
        return_dict (`bool`): return a `ModelOutput` (default) or a tuple.
        adaptive_exit_threshold (`float`), adaptive_exit_criterion (`str`), adaptive_exit_min_recurrences (`int`):
            adaptive test-time compute, see [`AdaptiveExit`] (defaults: the config's, where it has them).
        initial_state (`torch.FloatTensor` of the embeddings' shape): continue the recurrence from this state instead
            of the embeddings (a warm start); the embeddings still condition the step, and the iteration count
            starts again at 0 (time-conditioned step sizes see t = 0, 1, ... of this call).
        interpolate_pos_encoding (`bool`): image models: accept another image size (positions interpolated).
    """

    num_recurrences: int
    output_energies: bool
    output_hidden_states: bool
    output_attentions: bool
    return_dict: bool
    adaptive_exit_threshold: float
    adaptive_exit_criterion: str
    adaptive_exit_min_recurrences: int
    initial_state: torch.Tensor
    interpolate_pos_encoding: bool


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

    def __post_init__(self):
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
            raise ValueError(f"`adaptive_exit_threshold` must be a non-negative number or None, got {threshold!r}.")
        if self.criterion not in EXIT_CRITERIA:
            raise ValueError(f"`adaptive_exit_criterion` must be one of {tuple(EXIT_CRITERIA)}, got {self.criterion!r}.")
        as_count(self.min_recurrences, "adaptive_exit_min_recurrences")

    @property
    def needs_energy(self) -> bool:
        return EXIT_CRITERIA[self.criterion][1]

    def change(self, state, new_state, energy, new_energy) -> torch.Tensor:
        return EXIT_CRITERIA[self.criterion][0](state, new_state, energy, new_energy)


def recurrence_options(model: nn.Module, kwargs: dict, not_applicable=()) -> dict:
    """The model boundary of every model in the package: checks the keyword arguments of its `forward` once (unknown
    or, for this model, meaningless names; see [`RecurrentModelKwargs`]) and resolves them against `model.config`
    into the options of [`iterate_recurrence`] (plus `num_recurrences`)."""
    check_forward_kwargs(model, kwargs, RecurrentModelKwargs.__annotations__, not_applicable)
    config, encoder = model.config, model.encoder

    def value(name):  # the argument, else the config's field, else None
        given = kwargs.get(name)
        return getattr(config, name, None) if given is None else given

    num_recurrences = kwargs.get("num_recurrences")
    low, high = getattr(config, "training_num_recurrences_min", None), getattr(config, "training_num_recurrences_max", None)
    if num_recurrences is None and model.training and low is not None:
        num_recurrences = int(torch.randint(low, high + 1, ()).item())  # this training step's depth (inclusive)
    num_recurrences = as_count(config.num_recurrences if num_recurrences is None else num_recurrences, "num_recurrences")
    maximum = encoder.max_recurrences()
    if maximum is not None and num_recurrences > maximum:
        raise ValueError(
            f"This model has depth-wise LoRA weight deltas for {maximum} iterations (config.num_recurrences); it "
            f"cannot run {num_recurrences}. Depth-wise LoRA models can run fewer iterations than they were built "
            "with, never more."
        )
    baseline = f"the Transformer baseline (config.layer_type={getattr(config, 'layer_type', None)!r}) has no energy"
    output_energies = bool(kwargs.get("output_energies"))
    if output_energies and not encoder.is_energy_based:
        raise ValueError(f"`output_energies=True` needs an energy-based model; {baseline}.")
    training = model.training and torch.is_grad_enabled()
    gradient_free = getattr(config, "num_gradient_free_iterations", 0) if training else 0
    if gradient_free and gradient_free >= num_recurrences:
        raise ValueError(
            f"config.num_gradient_free_iterations ({gradient_free}) must be smaller than the number of iterations "
            f"of a training forward ({num_recurrences}), or no iteration would receive a gradient."
        )
    adaptive_exit = None
    if value("adaptive_exit_threshold") is not None:
        if training:
            raise ValueError(
                "Adaptive exit is an inference feature (it runs without gradient); call `model.eval()` or run under "
                "`torch.no_grad()`, or leave `adaptive_exit_threshold` unset for training."
            )
        criterion, min_recurrences = value("adaptive_exit_criterion"), value("adaptive_exit_min_recurrences")
        adaptive_exit = AdaptiveExit(
            value("adaptive_exit_threshold"), "energy" if criterion is None else criterion,
            1 if min_recurrences is None else min_recurrences,
        )  # fmt: skip
        if adaptive_exit.min_recurrences > num_recurrences:
            raise ValueError(
                f"`adaptive_exit_min_recurrences` ({adaptive_exit.min_recurrences}) must not exceed the number of "
                f"iterations of this call, `num_recurrences` ({num_recurrences})."
            )
        if adaptive_exit.needs_energy and not encoder.is_energy_based:
            raise ValueError(f"adaptive exit on the energy needs an energy-based model; {baseline}: use "
                             "adaptive_exit_criterion='state'.")  # fmt: skip
    return {
        "num_recurrences": num_recurrences,
        "output_energies": output_energies,
        "gradient_free": gradient_free,
        "detach_interval": getattr(config, "detach_interval", 0) if model.training else 0,
        "adaptive_exit": adaptive_exit,
        "output_attentions": bool(value("output_attentions")),
        "initial_state": kwargs.get("initial_state"),
    }


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

    def forward(self, hidden_states, context=None, active=None, attention=None, *, update, energies=None,
                keep_attention=False):  # fmt: skip
        """
        Args:
            hidden_states: x_t, `(batch_size, ...)`.
            context: what the encoder's `prepare` computed once per forward (per-sample tensors are subset too).
            active: `(num_active,)` indices of the samples to update, or `None` for all.
            attention: the attention recorded at the previous iteration (kept for inactive samples).
            update: `update(state, context) -> (new_state, attention or None)`, one iteration of the encoder.
            energies: `energies(state, context) -> (attention_energy, feedforward_energy)`, or `None`.
            keep_attention: return this iteration's attention (when attentions are recorded); otherwise it is dropped
                here, so that no attention matrix outlives its iteration (a checkpointed step would save it).
        Returns:
            x_{t+1} (full batch), the attention of this iteration (full batch, or `None`) and the energies of the
            updated samples' new states (or `None`).
        """
        context = _take(context, active)
        new_state, new_attention = update(_take(hidden_states, active), context)
        new_attention = new_attention if keep_attention else None
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

    def forward(self, embeddings, num_recurrences: int, context=None, initial_state=None, **options):
        """[`iterate_recurrence`] from the embeddings x_0, or from `initial_state` (a warm start of their shape)."""
        if initial_state is not None and tuple(shape_of(initial_state)) != tuple(embeddings.shape):
            raise ValueError(
                f"`initial_state` must have the shape of the embeddings {tuple(embeddings.shape)}, got "
                f"{shape_of(initial_state)}."
            )
        start = embeddings if initial_state is None else initial_state.to(embeddings.dtype)
        return iterate_recurrence(self, start, num_recurrences, context, **options)


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
    # the state before a step matters only to the state criterion and to per-iteration weights (LoRA)
    keeps_state = adaptive_exit is not None and (not adaptive_exit.needs_energy or encoder.energies_depend_on_iteration)
    update_options = {"output_attentions": output_attentions}
    all_energies = []
    for layer in encoder.layers:
        energies = encoder.energies(layer, 0, hidden_states, context) if needs_energy else None
        trajectory, attention = [energies], None
        active = None if adaptive_exit is None else torch.arange(batch_size, device=hidden_states.device)
        for iteration in range(num_recurrences):
            if detach_interval and iteration and iteration % detach_interval == 0:
                hidden_states = hidden_states.detach()  # segment-wise training: a new segment starts here
            measure = partial(encoder.energies, layer, iteration) if needs_energy else None
            state = _take(hidden_states, active) if keeps_state else None  # what the state criterion compares with
            with torch.set_grad_enabled(grad_enabled and iteration >= gradient_free):  # truncated backpropagation
                hidden_states, attention, new_energies = encoder.step(
                    hidden_states, context, active, attention, update=partial(encoder.update, layer, iteration,
                    **update_options), energies=measure, keep_attention=output_attentions,
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
                    new_state = None if state is None else _take(hidden_states, active)
                    change = adaptive_exit.change(state, new_state, energy, new_energy)
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


PER_ITERATION_FIELDS = ("hidden_states", "attentions", "energies", "attention_energies", "feedforward_energies",
                        "iterations_used")  # fmt: skip


def per_iteration_fields(outputs) -> dict:
    """The per-iteration fields that a head passes on from its base model's output."""
    return {name: getattr(outputs, name) for name in PER_ITERATION_FIELDS}
