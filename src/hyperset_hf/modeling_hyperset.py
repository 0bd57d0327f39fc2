# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Hyper-SET model (Hu, Zou & Xu, "Hyper-SET: Designing Transformers via Hyperspherical Energy Minimization",
ICLR 2026, arXiv:2502.11646).

Every iteration of a Hyper-SET layer is one step of gradient descent on the energy

    E(X) = E_attention(X) + E_feedforward(X)

    E_attention(X)   = sqrt(p) * sum_{h,i} logsumexp_j( z_i^h . z_j^h / sqrt(p) ),   z_i^h = rms_norm(W_h^T x_i)   (Eq. 2-4)
    E_feedforward(X) = - sum_{i,m} F( rms_norm(W_ff x_i)_m ),   F' = activation      (Eq. 5; F = ReLU^2 / 2 for ReLU)

The attention step is X <- X - alpha * W [softmax_rows(A) + softmax_columns(A)] Z (Eq. 9, "bi-softmax" attention
with Q = K = V and the output map W^T tied to the input map) and the feedforward step is
X <- X + beta * W_ff^T act(RMSNorm(W_ff X)) (Eq. 11). The step sizes alpha and beta are per token and per channel,
produced by a zero-initialised network of the iteration index (Eq. 12), so every iteration starts as the identity.

The paper's alternative designs (App. G.1: sigmoid, ReLU and linear attention, softmax and gated feedforward, fixed
step sizes, the "basic" step-size network; Table 5: depth-wise LoRA) are configuration options, each with its own
energy whose negative gradient is the update: each is one entry of `ATTENTION_ENERGIES` / `FEEDFORWARD_ENERGIES` that
holds the energy and its gradient side by side (`energies.py`). The iterations run in the package's one loop,
`recurrence.iterate_recurrence` (fixed depth and adaptive exit alike); this file defines the step
(`HyperSETEncoder.update`), the layers it applies and the task heads; the inputs are embedded by `embeddings.py`.

This file imports only torch, numpy, transformers and its flat sibling modules (`configuration_hyperset`,
`embeddings`, `energies`, `recurrence`, `input_checks`, `maskgit`, `sudoku_rules`), so that it also works as Hub
remote code (`save_pretrained` copies them all into the checkpoint).
"""

import math
from dataclasses import dataclass
from functools import partial
from typing import Unpack

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    ImageClassifierOutput,
    MaskedImageModelingOutput,
    MaskedLMOutput,
    TokenClassifierOutput,
)
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import ModelOutput
from transformers.utils.generic import can_return_tuple
from transformers.utils.import_utils import is_torchdynamo_compiling
from transformers.utils.output_capturing import OutputRecorder, capture_outputs

from .configuration_hyperset import HyperSETConfig
from .embeddings import (
    SUDOKU_NUM_CELLS,
    SUDOKU_NUM_DIGITS,
    HyperSETEmbeddings,
    HyperSETSudokuEmbeddings,
    HyperSETVisualTokenEmbeddings,
    _visual_token_shapes,
    check_visual_token_labels,
)
from .energies import ATTENTION_ENERGIES, FEEDFORWARD_ENERGIES
from .maskgit import maskgit_decode
from .recurrence import (
    RecurrentEncoder,
    RecurrentModelKwargs,
    RecurrentStep,
    accumulation_dtype,
    energy_fields,
    per_iteration_fields,
    recurrence_options,
    upcast,
)
from .input_checks import (
    RENAMED_WEIGHTS,
    as_count,
    as_seed,
    check_class_labels,
    first_clash,
    load_checked,
    sudoku_peer_digits,
    sudoku_unit_counts,
)
from .sudoku_rules import SudokuSymmetry, _cell_sources, random_symmetry


# ---------------------------------------------------------------------------------------------------------------------
# Output classes
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class HyperSETModelOutput(BaseModelOutputWithPooling):
    r"""
    Output of [`HyperSETModel`]: `last_hidden_state` (batch, tokens, hidden_size), the states after the last iteration
    (not normalised); `pooler_output` (batch, hidden_size), the CLS state (images); on request `hidden_states`, the
    initial state and the state after every iteration (`num_layers * num_recurrences + 1` tensors), and `attentions`,
    the attention matrix of every iteration, (batch, heads, tokens, tokens) each; with `output_energies=True`,
    `energies` = `attention_energies` (Eq. 2-4) + `feedforward_energies` (Eq. 5), one (batch, num_recurrences + 1)
    tensor per layer (the layer's input, then after every iteration); with adaptive exit, `iterations_used` (batch,),
    the iterations every sample ran over all layers (its per-iteration outputs stay constant after its exit).
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETImageClassifierOutput(ImageClassifierOutput):
    r"""`loss`, `logits` (batch_size, num_labels), and the per-iteration fields of [`HyperSETModelOutput`]."""

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETMaskedImageModelingOutput(MaskedImageModelingOutput):
    r"""`loss` (L1 on the masked pixels), `reconstruction` (batch_size, num_channels, height, width), and the
    per-iteration fields of [`HyperSETModelOutput`]."""

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETSudokuOutput(TokenClassifierOutput):
    r"""`loss` (cross-entropy over the blank cells), `logits` (batch_size, 81, 9) of the digits 1-9 (index k = digit
    k + 1), and the per-iteration fields of [`HyperSETModelOutput`]. A training forward with labels whose loss reads
    the states of every iteration (`config.deep_supervision`) or the energies (`config.energy_descent_loss_weight`)
    returns them too."""

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETMaskedTokenModelingOutput(MaskedLMOutput):
    r"""`loss` (label-smoothed cross-entropy over the scored tokens), `logits` (batch_size, num_tokens, codebook_size)
    over the codes of every token, and the per-iteration fields of [`HyperSETModelOutput`]."""

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def iteration_embedding(iterations: torch.Tensor, embedding_size: int) -> torch.Tensor:
    """Sinusoidal embedding of the (1-based) iteration index t: `[sin(t f_k), cos(t f_k)]` with
    `f_k = exp(-k ln(10000) / (embedding_size / 2 - 1))`, all sines first. Shape `(len(iterations), embedding_size)`."""
    half = embedding_size // 2
    frequencies = torch.exp(
        -math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=iterations.device) / (half - 1)
    )
    angles = iterations.to(torch.float32)[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


DEPTHWISE_LORA_INIT_STD = 0.02  # reference `hyper-set-lora`: B_t, A_t ~ N(0, 0.02)


# ---------------------------------------------------------------------------------------------------------------------
# The Hyper-SET layer
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETAttention(nn.Module):
    """The attention step as the gradient of an attention energy (Eq. 2-4, 9; App. G.1): one bias-free d x d matrix W
    gives Q = K = V per head, each normalised by RMSNorm over the head width p; the head-wise gradient of the energy
    (`config.attention_type`, see `ATTENTION_ENERGIES`) is mapped back through W^T (tied output)."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.share_qkv_norm = config.share_qkv_norm
        self.energy_function = ATTENTION_ENERGIES[config.attention_type](config)
        self.projection = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        if config.share_qkv_norm:
            self.qkv_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
        else:
            self.query_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
            self.key_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
            self.value_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)

    def project_heads(self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, tokens, hidden_size) -> W x split into heads (batch, heads, tokens, p); `weight` replaces W."""
        batch_size, num_tokens, _ = hidden_states.shape
        weight = self.projection.weight if weight is None else weight
        return F.linear(hidden_states, weight).view(batch_size, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None, output_attentions=True, **kwargs):
        """Returns the update direction (batch, tokens, hidden_size), to be SUBTRACTED with step alpha, and the
        attention matrix (batch, heads, tokens, tokens) or `None` (chunked bi-softmax; linear attention unless
        `output_attentions`). `weight` replaces W in both directions (depth-wise LoRA)."""
        weight = self.projection.weight if weight is None else weight
        projected = self.project_heads(hidden_states, weight)
        if self.share_qkv_norm:
            query = key = value = self.qkv_norm(projected)
        else:
            query, key, value = self.query_norm(projected), self.key_norm(projected), self.value_norm(projected)
        context, attention = self.energy_function.direction(query, key, value, output_attentions)
        context = context.transpose(1, 2).reshape(hidden_states.shape)
        return torch.matmul(context, weight), attention  # tied output map: context W = (W^T applied per token)

    def energy(self, hidden_states, normalize: bool = True, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The attention energy of a state with parameter-free RMS-normalised (when `normalize`) head projections,
        shape (batch,), accumulated in float32 for half-precision inputs."""
        projected = self.project_heads(hidden_states, weight)
        return self.energy_function.energy(F.rms_norm(projected, (self.head_dim,)) if normalize else projected)


class HyperSETFeedForward(nn.Module):
    """The tied feedforward step as minus the gradient of a feedforward energy (Eq. 5, 10-11; App. G.1): one bias-free
    M x d matrix W_ff projects up, h = RMSNorm(W_ff x), and W_ff^T maps the energy's direction back (ADDED with beta)."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.energy_function = FEEDFORWARD_ENERGIES[config.feedforward_type](config)
        self.projection = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.norm = nn.RMSNorm(config.intermediate_size, eps=config.rms_norm_eps)

    def forward(self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, tokens, hidden_size) -> direction of the same shape; `weight` replaces W_ff (depth-wise LoRA)."""
        weight = self.projection.weight if weight is None else weight
        return torch.matmul(self.energy_function.direction(self.norm(F.linear(hidden_states, weight))), weight)

    def energy(self, hidden_states, normalize: bool = True, weight: torch.Tensor | None = None) -> torch.Tensor:
        hidden = F.linear(hidden_states, self.projection.weight if weight is None else weight)
        return self.energy_function.energy(F.rms_norm(hidden, (self.intermediate_size,)) if normalize else hidden)


class HyperSETLayer(nn.Module):
    """One iteration of Hyper-SET (Eq. 9 then Eq. 11), given the step sizes:

        x <- x - alpha * attention(x)
        x <- x + beta * feedforward(x)
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.attention = HyperSETAttention(config)
        self.feedforward = HyperSETFeedForward(config)

    def forward(self, hidden_states, alpha, beta, attention_weight=None, feedforward_weight=None, output_attentions=False):
        """hidden_states (batch, tokens, hidden_size); alpha, beta broadcastable to it (tensors or numbers);
        `attention_weight` / `feedforward_weight` replace W / W_ff (depth-wise LoRA). Returns x_{t+1} and the
        attention matrix (batch, heads, tokens, tokens) (`None` where it is never formed)."""
        attention_direction, attention = self.attention(hidden_states, attention_weight, output_attentions)
        hidden_states = hidden_states - alpha * attention_direction
        return hidden_states + beta * self.feedforward(hidden_states, feedforward_weight), attention

    def energies(self, hidden_states, attention_weight=None, feedforward_weight=None):
        """Attention and feedforward energies of a state, each (batch,) (in float32 for half-precision states)."""
        return (
            self.attention.energy(hidden_states, weight=attention_weight),
            self.feedforward.energy(hidden_states, weight=feedforward_weight),
        )


# ---------------------------------------------------------------------------------------------------------------------
# Step sizes and per-iteration weights
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETZeroInitLinear(nn.Linear):
    """A Linear layer that `_init_weights` initialises to zero (weight and bias), as the step-size network needs."""


class HyperSETStepSizeHead(HyperSETZeroInitLinear):
    """The d -> 2d head of the step-size network: zero weight; bias zero (the paper: every iteration starts as the
    identity) or, with `config.step_size_initial_value`, the value that makes every initial step size equal it."""

    def __init__(self, config: HyperSETConfig):
        super().__init__(config.hidden_size, 2 * config.hidden_size)
        value = config.step_size_initial_value
        if value is not None and config.step_size_activation == "softplus":
            value = value + math.log(-math.expm1(-value))  # the inverse of softplus
        self.initial_bias = 0.0 if value is None else float(value)


class HyperSETStepSizeNetwork(nn.Module):
    """Learned step sizes alpha_t, beta_t (paper Eq. 12, App. D), shared by all layers:

        c_t = time path of sin(t)                 (computed for one t at a time: no O(T) allocation)
        [alpha | beta] = Linear(GELU(c_t + s))    (`basic`, `sinusoidal`: Linear(GELU(RMSNorm(c_t + s))))

    with s = RMSNorm(x) (`normalized`, `basic`) or x (`unnormalized`, `sinusoidal`), x the current state x_t or the
    initial state x_0 (`config.step_size_conditioning`; s(x_0) is computed once per forward by `prepare`). The time
    path is RMSNorm(Linear(RMSNorm(GELU(RMSNorm(Linear(.)))))) (`normalized`, `basic`), Linear(GELU(Linear(.)))
    (`unnormalized`) or nothing, c_t = sin(t) of width `hidden_size` (`sinusoidal`, the masked-image-modeling model).
    Every Linear starts at zero: alpha = beta = 0 and every iteration is the identity at initialisation."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        hidden_size, eps = config.hidden_size, config.rms_norm_eps
        self.time_embedding_size = config.time_embedding_size
        self.normalized = config.step_size_network_type in ("normalized", "basic")
        self.has_time_path = config.step_size_network_type != "sinusoidal"
        self.uses_initial_state = config.step_size_conditioning == "initial_state"
        if self.has_time_path:
            self.time_embedding_projection = HyperSETZeroInitLinear(config.time_embedding_size, hidden_size)
            self.time_hidden_projection = HyperSETZeroInitLinear(hidden_size, hidden_size)
        if self.normalized:
            self.time_embedding_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.time_hidden_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.time_output_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.state_norm = nn.RMSNorm(hidden_size, eps=eps)
        has_head_norm = config.step_size_network_type in ("basic", "sinusoidal")
        self.head_norm = nn.RMSNorm(hidden_size, eps=eps) if has_head_norm else None
        self.step_size_projection = HyperSETStepSizeHead(config)
        self.non_negative = config.step_size_activation == "softplus"
        self.activation = nn.GELU()

    def time_conditions(self, num_iterations: int, device=None, dtype=None, first: int = 0) -> torch.Tensor:
        """Conditions c_t of iterations first+1 ... first+num_iterations, shape (num_iterations, hidden_size)."""
        iterations = torch.arange(first + 1, first + num_iterations + 1, device=device)
        if not self.has_time_path:  # `sinusoidal` (paper App. D, MIM): the embedding itself
            return iteration_embedding(iterations, self.time_embedding_size).to(dtype)
        hidden = self.time_embedding_projection(iteration_embedding(iterations, self.time_embedding_size).to(dtype))
        if not self.normalized:
            return self.time_hidden_projection(self.activation(hidden))
        hidden = self.activation(self.time_embedding_norm(hidden))
        return self.time_output_norm(self.time_hidden_projection(self.time_hidden_norm(hidden)))

    def conditioning_state(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """The state the step sizes see: RMSNorm(x) (normalised networks) or x itself."""
        return self.state_norm(hidden_states) if self.normalized else hidden_states

    def prepare(self, initial_state: torch.Tensor) -> torch.Tensor | None:
        """Once per forward: the view of x_0 when the step sizes are conditioned on it, else `None`."""
        return self.conditioning_state(initial_state) if self.uses_initial_state else None

    def forward(self, iteration: int, hidden_states: torch.Tensor, prepared: torch.Tensor | None):
        """Step sizes of `iteration` (0-based) for the state x_t (batch, tokens, hidden_size): alpha, beta of the same
        shape. `prepared` is the output of `prepare` (used instead of x_t when conditioning on x_0)."""
        state = prepared if prepared is not None else self.conditioning_state(hidden_states)
        # two rows, so that the product runs as a matrix product: a one-row product rounds differently depending on
        # the memory alignment of the weights (loaded and freshly built models would then differ in the last bit)
        condition = self.time_conditions(2, hidden_states.device, hidden_states.dtype, first=iteration)[0]
        return self.step_sizes(condition, state)

    def step_sizes(self, time_condition: torch.Tensor, conditioning_state: torch.Tensor):
        """c_t (hidden_size,) and s (batch, tokens, hidden_size) -> alpha, beta (batch, tokens, hidden_size)."""
        head_input = time_condition + conditioning_state
        if self.head_norm is not None:
            head_input = self.head_norm(head_input)
        step_sizes = self.step_size_projection(self.activation(head_input))
        return (F.softplus(step_sizes) if self.non_negative else step_sizes).chunk(2, dim=-1)


class HyperSETFixedStepSizes(nn.Module):
    """alpha = beta = `config.fixed_step_size` for every token, channel and iteration (reference `hyper-set-ss`)."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.step_size = float(config.fixed_step_size)

    def prepare(self, initial_state):
        return None

    def forward(self, iteration, hidden_states, prepared):
        return self.step_size, self.step_size


class HyperSETDepthwiseLoRA(nn.Module):
    """Depth-wise LoRA (reference `hyper-set-lora`, paper Table 5): iteration t uses W_t = W + s B_t A_t for the
    projection AND its tied output and W_ff,t = W_ff + s B'_t A'_t for both feedforward directions, s =
    `config.depthwise_lora_scale`, all factors N(0, 0.02). Factors exist for `config.num_recurrences` iterations only:
    such a model can run fewer iterations than it was built with, never more."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        rank, num_iterations = config.depthwise_lora_rank, config.num_recurrences
        self.num_iterations, self.scale = num_iterations, config.depthwise_lora_scale
        self.attention_up = nn.Parameter(torch.empty(num_iterations, config.hidden_size, rank))  # B_t
        self.attention_down = nn.Parameter(torch.empty(num_iterations, rank, config.hidden_size))  # A_t
        self.feedforward_up = nn.Parameter(torch.empty(num_iterations, config.intermediate_size, rank))  # B'_t
        self.feedforward_down = nn.Parameter(torch.empty(num_iterations, rank, config.hidden_size))  # A'_t

    def forward(self, layer: HyperSETLayer, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights of `layer` at `iteration` (0-based): (hidden_size, hidden_size), (intermediate_size, d)."""
        attention_delta = torch.matmul(self.attention_up[iteration], self.attention_down[iteration]) * self.scale
        feedforward_delta = torch.matmul(self.feedforward_up[iteration], self.feedforward_down[iteration]) * self.scale
        return layer.attention.projection.weight + attention_delta, layer.feedforward.projection.weight + feedforward_delta


class HyperSETEncoder(RecurrentEncoder):
    """`num_layers` distinct Hyper-SET layers, each iterated `num_recurrences` times (layer-major; the iteration index
    restarts at 1 for every layer), sharing one step-size module (learned network or fixed constants) and, with
    depth-wise LoRA, one set of per-iteration weight deltas. `update` is one iteration (step sizes, then the layer);
    the loop is the package's one [`recurrence.iterate_recurrence`]."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.config = config
        step_sizes = HyperSETStepSizeNetwork if config.step_size_type == "learned" else HyperSETFixedStepSizes
        self.step_size_network = step_sizes(config)
        self.depthwise_lora = HyperSETDepthwiseLoRA(config) if config.depthwise_lora_rank > 0 else None
        self.energies_depend_on_iteration = self.depthwise_lora is not None
        self.layers = nn.ModuleList([HyperSETLayer(config) for _ in range(config.num_layers)])

    def max_recurrences(self) -> int | None:
        return None if self.depthwise_lora is None else self.depthwise_lora.num_iterations

    def iteration_weights(self, layer, iteration: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return (None, None) if self.depthwise_lora is None else self.depthwise_lora(layer, iteration)

    def prepare(self, hidden_states):
        return self.step_size_network.prepare(hidden_states)

    def update(self, layer, iteration: int, hidden_states, context, output_attentions=False):
        """One iteration of `layer` (Eq. 9 then Eq. 11): step sizes (Eq. 12), then the layer. `context` comes from
        `prepare(x_0)`. Returns x_{t+1} and the attention matrix (or `None`)."""
        alpha, beta = self.step_size_network(iteration, hidden_states, context)
        weights = self.iteration_weights(layer, iteration)
        return layer(hidden_states, alpha, beta, *weights, output_attentions=output_attentions)

    def energies(self, layer, iteration: int, hidden_states, context=None):
        """E_attention (Eq. 2-4) and E_feedforward (Eq. 5) of a state under the weights of `iteration`."""
        return layer.energies(hidden_states, *self.iteration_weights(layer, iteration))


# ---------------------------------------------------------------------------------------------------------------------
# The paper's Transformer baseline (no energy, no step sizes)
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETTransformerAttention(nn.Module):
    """Standard bidirectional multi-head self-attention: bias-free query, key, value and output projections, softmax
    over keys; through `torch.nn.functional.scaled_dot_product_attention` unless the probabilities are requested."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.scaling = self.head_dim**-0.5
        self.use_sdpa = config._attn_implementation == "sdpa"
        self.query, self.key, self.value, self.output = (
            nn.Linear(config.hidden_size, config.hidden_size, bias=False) for _ in range(4)
        )

    def forward(self, hidden_states: torch.Tensor, output_attentions=False, **kwargs):
        """(batch, tokens, hidden_size) -> output of the same shape and the attention probabilities (batch, heads,
        tokens, tokens) (`None` through SDPA)."""
        shape = (*hidden_states.shape[:2], self.num_heads, self.head_dim)
        query, key, value = (p(hidden_states).view(shape).transpose(1, 2) for p in (self.query, self.key, self.value))
        if self.use_sdpa and not output_attentions:
            context, attention = F.scaled_dot_product_attention(query, key, value, scale=self.scaling), None
        else:
            attention = torch.matmul(query, key.transpose(-1, -2)).mul(self.scaling).softmax(-1, dtype=accumulation_dtype(query))
            attention = attention.to(value.dtype)
            context = torch.matmul(attention, value)
        return self.output(context.transpose(1, 2).reshape(hidden_states.shape)), attention


class HyperSETTransformerLayer(nn.Module):
    """One iteration of the baseline: x <- x + attention(RMSNorm(x)); x <- x + W_2 ReLU(W_1 RMSNorm(x))."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.attention_norm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.attention = HyperSETTransformerAttention(config)
        self.mlp_norm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = nn.Sequential(
            nn.Linear(config.hidden_size, config.intermediate_size, bias=False),
            ACT2FN[config.hidden_act],
            nn.Linear(config.intermediate_size, config.hidden_size, bias=False),
        )

    def forward(self, hidden_states: torch.Tensor, output_attentions=False) -> tuple[torch.Tensor, torch.Tensor | None]:
        attention_output, attention = self.attention(self.attention_norm(hidden_states), output_attentions)
        hidden_states = hidden_states + attention_output
        return hidden_states + self.mlp(self.mlp_norm(hidden_states)), attention


class HyperSETTransformerEncoder(RecurrentEncoder):
    """The paper's weight-tied Transformer baseline (`config.layer_type="transformer"`): each of `num_layers` layers
    applied `num_recurrences` times by the same loop as [`HyperSETEncoder`]; it has no energy."""

    is_energy_based = False

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.layers = nn.ModuleList([HyperSETTransformerLayer(config) for _ in range(config.num_layers)])

    def update(self, layer, iteration, hidden_states, context, output_attentions=False):
        return layer(hidden_states, output_attentions)


# ---------------------------------------------------------------------------------------------------------------------
# Pre-trained model base class and models
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETPreTrainedModel(PreTrainedModel):
    config: HyperSETConfig
    config_class = HyperSETConfig
    base_model_prefix = "hyperset"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    accepts_loss_kwargs = False  # the losses are batch means: Trainer must not pass `num_items_in_batch`
    _no_split_modules = [
        "HyperSETEmbeddings", "HyperSETSudokuEmbeddings", "HyperSETVisualTokenEmbeddings", "HyperSETEncoder",
        "HyperSETTransformerLayer",
    ]  # fmt: skip
    # SDPA serves the Transformer baseline; the energy layers pick their bi-softmax via `config.bisoftmax_implementation`
    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False
    # states after every iteration and attention matrices, recorded by hooks (transformers' output capturing)
    _can_record_outputs = {"hidden_states": RecurrentStep, "attentions": OutputRecorder(RecurrentStep, index=1)}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, refusing unreadable or non-finite weights with the folder named."""
        kwargs.setdefault("key_mapping", RENAMED_WEIGHTS)  # checkpoints saved before a weight was renamed
        load = partial(super().from_pretrained, pretrained_model_name_or_path, *args, **kwargs)
        return load_checked(load, pretrained_model_name_or_path)

    @torch.no_grad()
    def _init_weights(self, module):
        # Linear / Conv2d: normal(initializer_range) and zero bias; LayerNorm / RMSNorm: unit gain, zero bias.
        super()._init_weights(module)
        if isinstance(module, HyperSETEmbeddings):
            init.normal_(module.cls_token, mean=0.0, std=1.0)  # reference: torch.randn
            if module.mask_token is not None:
                init.zeros_(module.mask_token)
            init.copy_(module.positions, module.default_positions())
        elif isinstance(module, HyperSETSudokuEmbeddings) and hasattr(module, "position_embeddings"):
            init.normal_(module.position_embeddings, mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, HyperSETVisualTokenEmbeddings):
            # the reference's default nn.Embedding init N(0, 1): codes on the scale of the unit sin-cos positions
            # (after the child Embedding's N(0, initializer_range): parents are initialised after their children)
            init.normal_(module.token_embeddings.weight, mean=0.0, std=1.0)
            init.copy_(module.positions, module.default_positions())
        elif isinstance(module, HyperSETStepSizeHead):
            init.zeros_(module.weight)
            init.constant_(module.bias, module.initial_bias)
        elif isinstance(module, HyperSETZeroInitLinear):
            # Zero initialisation (paper App. D, ReZero style): alpha = beta = 0, every iteration starts as the identity.
            init.zeros_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, HyperSETDepthwiseLoRA):
            for factor in (module.attention_up, module.attention_down, module.feedforward_up, module.feedforward_down):
                init.normal_(factor, mean=0.0, std=DEPTHWISE_LORA_INIT_STD)  # the reference: neither factor is zero


class HyperSETModel(HyperSETPreTrainedModel):
    """The bare Hyper-SET encoder: the input embeddings, then the recurrent energy descent. Outputs the raw final token
    states (no final norm) and, on request, every intermediate state, the attention matrices and the energies of
    every iteration.

    With `config.input_type="image"` the input is `pixel_values` (patch embeddings + CLS + fixed sinusoidal
    positions); with `config.input_type="sudoku"` it is `input_ids` of shape `(batch_size, 81)` (digit embeddings +
    learned cell positions, no CLS token); with `config.input_type="visual_tokens"` it is `input_ids` of VQ codes,
    `(batch_size, token_grid_size**2)` or `(batch_size, token_grid_size, token_grid_size)` (code embeddings + fixed
    2-D sin-cos positions, no CLS token)."""

    def __init__(self, config: HyperSETConfig, use_mask_token: bool = False):
        r"""
        use_mask_token (`bool`, *optional*, defaults to `False`):
            Whether to learn a mask token that replaces the patches marked in `bool_masked_pos` (images only).
        """
        super().__init__(config)
        if config.input_type != "image":
            if use_mask_token:
                hint = ("" if config.input_type == "sudoku" else " (the mask id of visual tokens is an input id: use "
                        "HyperSETForMaskedTokenModeling / AutoModelForMaskedLM)")  # fmt: skip
                input_type = config.input_type
                raise ValueError(f"`use_mask_token=True` is for image inputs; this config has input_type={input_type!r}."
                                 f"{hint}")  # fmt: skip
            self.main_input_name = "input_ids"
            is_sudoku = config.input_type == "sudoku"
            self.embeddings = (HyperSETSudokuEmbeddings if is_sudoku else HyperSETVisualTokenEmbeddings)(config)
        else:
            self.embeddings = HyperSETEmbeddings(config, use_mask_token=use_mask_token)
        encoder_class = HyperSETEncoder if config.layer_type == "hyperset" else HyperSETTransformerEncoder
        self.encoder = encoder_class(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        if self.config.input_type == "sudoku":
            return self.embeddings.digit_embeddings
        if self.config.input_type == "visual_tokens":
            return self.embeddings.token_embeddings
        return self.embeddings.patch_embeddings

    @capture_outputs
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.BoolTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        **kwargs: Unpack[RecurrentModelKwargs],
    ) -> HyperSETModelOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): normalised images
                (`input_type="image"`); `bool_masked_pos` (batch_size, num_patches) marks patches to replace by the
                mask token (needs `use_mask_token=True`); `interpolate_pos_encoding` accepts other image sizes.
            input_ids (`torch.LongTensor` of shape `(batch_size, 81)`): Sudoku cells, row-major, 0 = blank
                (`input_type="sudoku"`); or VQ codes of shape `(batch_size, token_grid_size**2)` or
                `(batch_size, token_grid_size, token_grid_size)`, `codebook_size` = mask (`input_type="visual_tokens"`).
            kwargs ([`recurrence.RecurrentModelKwargs`]): `num_recurrences` (iterations of every layer for this call;
                default `config.num_recurrences`, or a draw from `config.training_num_recurrences_min/max` in
                training; more than trained runs the same descent further, not with depth-wise LoRA; costs no memory
                up front), `output_energies`, `output_hidden_states`, `output_attentions`, `return_dict`,
                `adaptive_exit_threshold` / `_criterion` / `_min_recurrences` (defaults: the config's; inference
                only: a sample stops after the first iteration whose relative change is below the threshold),
                `initial_state` (a warm start of shape `(batch_size, tokens, hidden_size)`, e.g. a previous call's
                `last_hidden_state`; the embeddings still condition the step sizes), `interpolate_pos_encoding`
                (images). Anything else is refused.

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETModel

        >>> model = HyperSETModel(HyperSETConfig(hidden_size=64, num_attention_heads=4, intermediate_size=64))
        >>> outputs = model(torch.randn(2, 3, 32, 32), num_recurrences=24, output_energies=True)
        >>> outputs.last_hidden_state.shape, outputs.energies[0].shape
        (torch.Size([2, 65, 64]), torch.Size([2, 25]))

        ```"""
        config = self.config
        options = recurrence_options(self, kwargs)
        interpolate_pos_encoding = kwargs.get("interpolate_pos_encoding")
        uses_input_ids = config.input_type != "image"
        if uses_input_ids and (input_ids is None or pixel_values is not None or bool_masked_pos is not None
                               or interpolate_pos_encoding):  # fmt: skip
            model = (
                "a Sudoku model (config.input_type='sudoku'): pass `input_ids` of shape (batch_size, 81)"
                if config.input_type == "sudoku"
                else "a visual-token model (config.input_type='visual_tokens'): pass `input_ids` of shape "
                f"{_visual_token_shapes(config)}"
            )
            raise ValueError(
                f"This is {model} and no `pixel_values` / `bool_masked_pos` / `interpolate_pos_encoding` (images only)."
            )
        if not uses_input_ids and (pixel_values is None or input_ids is not None):
            raise ValueError("This is an image model (config.input_type='image'): pass `pixel_values`, not `input_ids`.")
        if options["output_attentions"] and config.attention_type == "bisoftmax" and (
            config.bisoftmax_implementation != "dense"
        ):
            raise ValueError(
                "`output_attentions=True` needs the N x N matrix, which bisoftmax_implementation="
                f"{config.bisoftmax_implementation!r} never forms: use bisoftmax_implementation='dense'."
            )
        if uses_input_ids:
            embeddings = self.embeddings(input_ids)
        else:
            embeddings = self.embeddings(
                pixel_values, bool_masked_pos=bool_masked_pos, interpolate_pos_encoding=bool(interpolate_pos_encoding)
            )
        recurrence = self.encoder(embeddings, context=self.encoder.prepare(embeddings), **options)
        last_hidden_state = recurrence.last_hidden_state
        return HyperSETModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=last_hidden_state[:, 0] if config.input_type == "image" else None,  # the CLS state
            iterations_used=recurrence.iterations_used,
            **energy_fields(recurrence.energies),
        )

class HyperSETForImageClassification(HyperSETPreTrainedModel):
    """Hyper-SET with a classifier on the final CLS state: LayerNorm -> Linear (the paper's readout). Single-label,
    multi-label and regression losses follow `config.problem_type` as in every transformers classifier."""

    def __init__(self, config: HyperSETConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.hyperset = HyperSETModel(config)
        self.readout_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @can_return_tuple
    def forward(
        self, pixel_values=None, labels=None, **kwargs: Unpack[RecurrentModelKwargs]
    ) -> HyperSETImageClassifierOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            labels (`torch.LongTensor` of shape `(batch_size,)` or `torch.FloatTensor` of shape
                `(batch_size, num_labels)`, *optional*): class indices (single label), multi-hot targets
                (multi-label) or regression targets.
            kwargs: `num_recurrences`, `interpolate_pos_encoding`, `output_hidden_states`, `output_attentions`,
                `output_energies`, `adaptive_exit_*`: as in [`HyperSETModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETForImageClassification

        >>> config = HyperSETConfig(hidden_size=64, num_attention_heads=4, intermediate_size=64, num_labels=10)
        >>> model = HyperSETForImageClassification(config)
        >>> model(torch.randn(2, 3, 32, 32), labels=torch.tensor([1, 7])).logits.shape
        torch.Size([2, 10])

        ```"""
        outputs = self.hyperset(pixel_values, **kwargs)
        logits = self.classifier(self.readout_norm(outputs.pooler_output))
        loss = None
        if labels is not None:
            check_class_labels(labels, logits)
            loss = self.loss_function(labels, logits, self.config)
        return HyperSETImageClassifierOutput(loss=loss, logits=logits, **per_iteration_fields(outputs))


class HyperSETForMaskedImageModeling(HyperSETPreTrainedModel):
    """Hyper-SET with a pixel decoder for masked image modeling in the manner of SimMIM / `ViTForMaskedImageModeling`:
    masked patches are replaced by a learned mask token, the final patch states go through LayerNorm -> 1x1 Conv2d ->
    PixelShuffle back to pixels, and the loss is the L1 error on the masked pixels."""

    def __init__(self, config: HyperSETConfig):
        super().__init__(config)
        self.hyperset = HyperSETModel(config, use_mask_token=True)
        self.decoder_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Sequential(
            nn.Conv2d(config.hidden_size, config.patch_size**2 * config.num_channels, kernel_size=1),
            nn.PixelShuffle(config.patch_size),
        )
        self.post_init()

    @can_return_tuple
    def forward(
        self, pixel_values=None, bool_masked_pos=None, **kwargs: Unpack[RecurrentModelKwargs]
    ) -> HyperSETMaskedImageModelingOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): patches to mask;
                the loss is computed on them (no loss without a mask).
            kwargs: as in [`HyperSETModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETForMaskedImageModeling

        >>> model = HyperSETForMaskedImageModeling(HyperSETConfig(hidden_size=64, num_attention_heads=4))
        >>> mask = torch.rand(2, 64) < 0.4  # (batch_size, num_patches)
        >>> outputs = model(torch.randn(2, 3, 32, 32), bool_masked_pos=mask)
        >>> outputs.reconstruction.shape
        torch.Size([2, 3, 32, 32])

        ```"""
        outputs = self.hyperset(pixel_values, bool_masked_pos=bool_masked_pos, **kwargs)
        patch_size = self.config.patch_size
        batch_size, _, height, width = pixel_values.shape
        grid_height, grid_width = height // patch_size, width // patch_size
        patch_states = self.decoder_norm(outputs.last_hidden_state[:, 1:])
        patch_states = patch_states.transpose(1, 2).reshape(batch_size, -1, grid_height, grid_width)
        reconstruction = self.decoder(patch_states)

        loss = None
        if bool_masked_pos is not None:
            mask = bool_masked_pos.reshape(batch_size, grid_height, grid_width)
            mask = mask.repeat_interleave(patch_size, 1).repeat_interleave(patch_size, 2).unsqueeze(1)
            mask = mask.to(reconstruction.dtype)
            pixel_loss = F.l1_loss(pixel_values.to(reconstruction.dtype), reconstruction, reduction="none")
            loss = (pixel_loss * mask).sum() / (mask.sum() + 1e-5) / self.config.num_channels
        return HyperSETMaskedImageModelingOutput(loss=loss, reconstruction=reconstruction, **per_iteration_fields(outputs))


MIM_LABEL_SMOOTHING = 0.1  # the paper's masked-token loss (reference `mim/trainer.py`)


class HyperSETForMaskedTokenModeling(HyperSETPreTrainedModel):
    """Hyper-SET masked image modeling on VQ tokens (paper Sec. 5.3, reference `mim/models.py`): a bidirectional
    model reads a grid of image codes in which some are replaced by the mask id `config.codebook_size`, and predicts a
    code for every token: code embeddings + fixed 2-D sin-cos positions -> the recurrent layer -> RMSNorm ->
    Linear(d -> codebook_size, bias). The loss is the cross-entropy with label smoothing 0.1 on the scored tokens
    (the masked ones); [`hyperset_hf.maskgit.maskgit_decode`] fills masked codes by MaskGIT iterative decoding, and a
    [`hyperset_hf.maskgit.VisualTokenizer`] maps images to codes and back.

    Build the paper's rows (Table 3) with `HyperSETConfig.from_preset("mim")` (12 iterations, FF width d),
    `"mim-scaled"` (24 iterations, FF width 8d) and the Transformer baseline `"mim-transformer"`.

    Why a class of its own rather than a mode of [`HyperSETForMaskedImageModeling`]: that model reads PIXELS with a
    boolean patch mask and regresses pixels (SimMIM, `MaskedImageModelingOutput.reconstruction`), while this one reads
    integer CODES in which the mask is a vocabulary entry, and classifies every token over the codebook. Inputs,
    outputs, loss and config (`input_type="visual_tokens"`) all differ; that is the contract of a masked language model
    (BERT's `BertForMaskedLM`: `input_ids` with a mask id, `logits` (batch, tokens, vocabulary), `labels` -100 where
    not scored) on visual tokens, which BEiT also keeps as a separate head. transformers maps one class per config
    class and Auto class, and `AutoModelForMaskedImageModeling` already names the pixel model for `HyperSETConfig`,
    so this class is registered with `AutoModelForMaskedLM`, whose contract it has.
    """

    main_input_name = "input_ids"

    def __init__(self, config: HyperSETConfig):
        super().__init__(config)
        if config.input_type != "visual_tokens":
            raise ValueError(
                "HyperSETForMaskedTokenModeling needs config.input_type='visual_tokens', got "
                f"{config.input_type!r}; build the config with HyperSETConfig.from_preset('mim')."
            )
        self.hyperset = HyperSETModel(config)
        self.readout_norm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.classifier = nn.Linear(config.hidden_size, config.codebook_size)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.hyperset.embeddings.token_embeddings

    @can_return_tuple
    def forward(
        self, input_ids=None, labels=None, **kwargs: Unpack[RecurrentModelKwargs]
    ) -> HyperSETMaskedTokenModelingOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, num_tokens)` or `(batch_size, grid, grid)`):
                VQ codes in row-major order, `num_tokens = config.token_grid_size ** 2`; 0 ... `codebook_size - 1`
                are codes, `config.mask_token_id` (= `codebook_size`) marks a masked token. Any integer dtype (int64,
                int32, int16, int8, uint8); bool and float tensors, other shapes, an empty batch and ids outside
                0 ... `codebook_size` are refused by a `ValueError` naming the value.
            labels (`torch.LongTensor` of the shape of `input_ids`, *optional*):
                The true code where a token is scored and -100 elsewhere; the paper scores the masked tokens only:
                `labels = torch.where(input_ids == config.mask_token_id, codes, -100)` (or use
                [`hyperset_hf.maskgit.mask_visual_tokens`]). The loss is the mean over the scored tokens of the batch
                of the cross-entropy with label smoothing 0.1 (`F.cross_entropy(..., label_smoothing=0.1)`); a batch
                with no scored token (a random mask can mask none) gives loss 0 and no gradient instead of nan.
            kwargs: `num_recurrences`, `output_hidden_states`, `output_attentions`, `output_energies`,
                `adaptive_exit_*`: as in [`HyperSETModel.forward`].

        Returns:
            [`HyperSETMaskedTokenModelingOutput`] with `logits` of shape `(batch_size, num_tokens, codebook_size)`.

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETForMaskedTokenModeling

        >>> config = HyperSETConfig.from_preset(
        ...     "mim", hidden_size=32, num_attention_heads=4, intermediate_size=32, time_embedding_size=32,
        ...     codebook_size=64, token_grid_size=4)
        >>> model = HyperSETForMaskedTokenModeling(config)
        >>> codes = torch.randint(0, 64, (2, 16))
        >>> masked = torch.rand(2, 16) < 0.4
        >>> input_ids = codes.masked_fill(masked, config.mask_token_id)
        >>> outputs = model(input_ids, labels=torch.where(masked, codes, -100), num_recurrences=6, output_energies=True)
        >>> outputs.logits.shape, outputs.energies[0].shape
        (torch.Size([2, 16, 64]), torch.Size([2, 7]))

        ```"""
        outputs = self.hyperset(input_ids=input_ids, **kwargs)
        logits = self.classifier(self.readout_norm(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            loss = self.masked_token_loss(logits, check_visual_token_labels(labels, input_ids, self.config))
        return HyperSETMaskedTokenModelingOutput(loss=loss, logits=logits, **per_iteration_fields(outputs))

    @staticmethod
    def masked_token_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = MIM_LABEL_SMOOTHING):
        """Label-smoothed cross-entropy of (batch, tokens, codebook_size) logits over the tokens whose label is not
        -100 (mean over them; 0 with no gradient when there is none). With smoothing e and K codes the target of a
        token is (1 - e) on its code plus e / K on every code, as `torch.nn.functional.cross_entropy`."""
        labels = labels.reshape(-1).to(logits.device)
        if not is_torchdynamo_compiling() and not (labels != -100).any():
            return logits.sum() * 0.0
        return F.cross_entropy(
            upcast(logits.reshape(-1, logits.shape[-1])), labels, ignore_index=-100, label_smoothing=label_smoothing
        )


def _check_givens(input_ids: torch.Tensor) -> None:
    """Raises for the first board whose givens repeat a digit in a row, column or box (it has no solution)."""
    clash = first_clash(input_ids)
    if clash is not None:
        board, digit, unit, number = clash
        raise ValueError(f"board {board}: digit {digit} repeated in {unit} {number}; a puzzle whose givens clash has no "
                         "solution.")  # fmt: skip


# What `HyperSETForSudoku.solve()` does unless told otherwise or the checkpoint's `config.sudoku_decoding` says
# otherwise: per round, commit every blank whose digit has probability >= 0.99, and at least the most confident tenth
# of the blanks left (at least one), greedy, restart every round from the embeddings; no Sudoku rule is used unless
# `rule_mask=True`; one copy of each puzzle (with `num_copies=K`, the most confident of K symmetric copies). Chosen on
# training puzzles (`benchmarks/results/sudoku-decoding.md`).
SUDOKU_DECODING_DEFAULTS = {"decoding": "iterative", "reveal_fraction": 0.1, "confidence_threshold": 0.99,
                            "warm_start": False, "rule_mask": False, "num_copies": 1, "selection": "confidence"}  # fmt: skip
SUDOKU_SELECTIONS = ("confidence", "energy", "vote")  # how `solve(num_copies=K)` picks one grid per puzzle


def symmetric_copies(input_ids: torch.LongTensor, num_copies: int, seed: int = 0):
    """`num_copies` copies of each puzzle, copy 0 the puzzle itself and the others under uniformly random
    validity-preserving symmetries (`sudoku_rules.random_symmetry`), drawn from a generator seeded by `seed` and the
    puzzle's digits: a puzzle gets the same copies alone or in any batch.

    Returns:
        `(copies, sources, digit_maps)`: `copies` of shape `(num_copies * batch_size, 81)`, copy-major (row
        `k * batch_size + b` is copy k of puzzle b), with `copies[i, j] = digit_maps[i, input_ids[b, sources[i, j]]]`;
        `sources` `(num_copies * batch_size, 81)` and `digit_maps` `(num_copies * batch_size, 10)` undo it in
        [`map_copies_back`].
    """
    batch_size = input_ids.shape[0]
    drawn = [[random_symmetry(rng) for _ in range(num_copies - 1)]
             for rng in (np.random.default_rng([seed, *puzzle]) for puzzle in input_ids.tolist())]  # fmt: skip
    symmetries = [SudokuSymmetry.identity()] * batch_size + [row[copy] for copy in range(num_copies - 1) for row in drawn]
    sources = torch.as_tensor(np.stack([_cell_sources(symmetry) for symmetry in symmetries]), device=input_ids.device)
    digit_maps = torch.tensor([symmetry.digit_map for symmetry in symmetries], device=input_ids.device)
    copies = digit_maps.gather(1, input_ids.repeat(num_copies, 1).gather(1, sources))
    return copies, sources, digit_maps


def map_copies_back(values: torch.Tensor, sources: torch.Tensor, digit_maps: torch.Tensor | None = None):
    """Per-cell values `(num_copies * batch_size, 81)` of [`symmetric_copies`] moved back to the puzzles' own cells,
    and, with `digit_maps`, digits relabelled back (grids); without, values only move (e.g. commit rounds)."""
    if digit_maps is not None:
        values = digit_maps.argsort(-1).gather(1, values)  # the inverse digit permutation (0 stays 0)
    return torch.empty_like(values).scatter_(1, sources, values)


def select_copies(copy_grids, copy_confidences, copy_energies=None, selection: str = "confidence"):
    """One grid per puzzle from K decoded copies.

    Args:
        copy_grids (`torch.LongTensor` of shape `(batch_size, num_copies, 81)`): the copies' grids, each in the
            puzzle's own cells and digits.
        copy_confidences (`torch.FloatTensor` of shape `(batch_size, num_copies)`): each copy's mean commit
            probability.
        copy_energies (`torch.FloatTensor` of shape `(batch_size, num_copies)`, *optional*): each completed grid's
            energy at the same depth (needed for `"energy"`).
        selection (`str`): `"confidence"` (the most confident copy), `"energy"` (the lowest energy) or `"vote"`
            (per cell the most frequent digit; ties go to the most confident copy's digit).

    Returns:
        `(grids, selected_copy)`: `(batch_size, 81)` and `(batch_size,)` (-1 for `"vote"`, whose grid may be no
        copy's).
    """
    rows = torch.arange(copy_grids.shape[0], device=copy_grids.device)
    if selection == "energy":
        chosen = copy_energies.argmin(-1)
        return copy_grids[rows, chosen], chosen
    chosen = copy_confidences.argmax(-1)
    if selection == "confidence":
        return copy_grids[rows, chosen], chosen
    votes = F.one_hot(copy_grids, 10).sum(1).float()  # (batch, 81, 10) digit counts over the copies
    votes = votes + 0.5 * F.one_hot(copy_grids[rows, chosen], 10)  # the tie-break
    return votes.argmax(-1), torch.full_like(chosen, -1)


@dataclass
class SudokuSolution(ModelOutput):
    r"""
    Output of [`HyperSETForSudoku.solve`] with `return_dict=True`.

    Args:
        grids (`torch.LongTensor` of shape `(batch_size, 81)`): the solved grids, digits 1-9, givens kept.
        committed_round (`torch.LongTensor` of shape `(batch_size, 81)`): the round (0-based) in which every blank
            was committed, -1 for the givens (one pass: 0 for every blank).
        num_rounds (`torch.LongTensor` of shape `(batch_size,)`): the forward passes each puzzle needed.
        iterations_used (`torch.LongTensor` of shape `(batch_size,)`): recurrent iterations over all its rounds.
        energy (`torch.FloatTensor` of shape `(batch_size,)`): the total energy of the final state of its last
            round (NaN for the Transformer baseline, which has none).
        energy_trace (`torch.FloatTensor` of shape `(batch_size, 3, num_layers, num_recurrences + 1)`, *optional*):
            the total, attention and feedforward energy of every iteration of each puzzle's last round (energy-based
            models only).
        confidence (`torch.FloatTensor` of shape `(batch_size,)`): the mean probability of the committed digits when
            they were committed.
        is_valid (`torch.BoolTensor` of shape `(batch_size,)`): every row, column and box holds 1-9 once.
        rule_mask (`bool`): whether digits clashing with a committed peer were masked out (Sudoku rules used).
        copy_grids (`torch.LongTensor` of shape `(batch_size, num_copies, 81)`, *optional*): with `num_copies > 1`,
            every copy's grid mapped back to the puzzle's cells and digits (copy 0 is the puzzle itself);
            `committed_round`, `num_rounds`, `energy`, `energy_trace` and `confidence` are those of the selected copy
            (for `"vote"`, of the most confident copy) and `iterations_used` counts the iterations of all copies.
        copy_confidences (`torch.FloatTensor` of shape `(batch_size, num_copies)`, *optional*): each copy's confidence.
        copy_energies (`torch.FloatTensor` of shape `(batch_size, num_copies)`, *optional*): the energy of each
            copy's completed grid, all at the same depth: the final total energy of one forward pass of
            `num_recurrences` iterations with the grid as input (NaN for the Transformer baseline).
        selected_copy (`torch.LongTensor` of shape `(batch_size,)`, *optional*): the copy whose grid was returned
            (-1 for `selection="vote"`).
    """

    grids: torch.LongTensor | None = None
    committed_round: torch.LongTensor | None = None
    num_rounds: torch.LongTensor | None = None
    iterations_used: torch.LongTensor | None = None
    energy: torch.FloatTensor | None = None
    energy_trace: torch.FloatTensor | None = None
    confidence: torch.FloatTensor | None = None
    is_valid: torch.BoolTensor | None = None
    rule_mask: bool | None = None
    copy_grids: torch.LongTensor | None = None
    copy_confidences: torch.FloatTensor | None = None
    copy_energies: torch.FloatTensor | None = None
    selected_copy: torch.LongTensor | None = None


def sudoku_rule_mask(logits: torch.Tensor, grids: torch.Tensor) -> torch.Tensor:
    """Logits `(N, 81, 9)` with every digit that already stands in the cell's row, column or box set to -inf (the
    Sudoku rules as a logits processor; a cell with no digit left keeps its logits)."""
    clashes = sudoku_peer_digits(grids)
    clashes = clashes & ~clashes.all(-1, keepdim=True)
    return logits.masked_fill(clashes, -math.inf)


class HyperSETForSudoku(HyperSETPreTrainedModel):
    """Hyper-SET Sudoku solver (paper Sec. 5.1): every cell's final state goes through RMSNorm -> Linear(d -> 9, no
    bias) to scores of the digits 1-9; the loss is the cross-entropy over the blank cells. Build the paper's model
    with `HyperSETConfig.from_preset("sudoku")` and its Transformer baseline with
    `HyperSETConfig.from_preset("sudoku-transformer")`."""

    main_input_name = "input_ids"
    input_modalities = ("text",)

    def __init__(self, config: HyperSETConfig):
        super().__init__(config)
        if config.input_type != "sudoku":
            raise ValueError(
                f"HyperSETForSudoku needs config.input_type='sudoku', got {config.input_type!r}; build the config "
                "with HyperSETConfig.from_preset('sudoku')."
            )
        if config.num_labels != SUDOKU_NUM_DIGITS:
            raise ValueError(f"A Sudoku model predicts 9 digits: config.num_labels must be 9, got {config.num_labels}.")
        self.num_labels = SUDOKU_NUM_DIGITS
        self.hyperset = HyperSETModel(config)
        self.readout_norm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.classifier = nn.Linear(config.hidden_size, SUDOKU_NUM_DIGITS, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.hyperset.embeddings.digit_embeddings

    @can_return_tuple
    def forward(self, input_ids=None, labels=None, **kwargs: Unpack[RecurrentModelKwargs]) -> HyperSETSudokuOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, 81)`):
                The puzzles, cells in row-major order, 0 = blank, 1-9 = given digit.
            labels (`torch.LongTensor` of shape `(batch_size, 81)`, *optional*):
                Solution digit minus one (0-8) for every blank cell and -100 for the givens (see
                `hyperset_hf.sudoku_data.to_model_inputs`).
            kwargs: `num_recurrences`, `output_hidden_states`, `output_attentions`, `output_energies`,
                `adaptive_exit_*`: as in [`HyperSETModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETForSudoku

        >>> config = HyperSETConfig.from_preset("sudoku", hidden_size=64, num_attention_heads=4, intermediate_size=256)
        >>> model = HyperSETForSudoku(config)
        >>> puzzles = torch.randint(0, 10, (2, 81))
        >>> outputs = model(puzzles, num_recurrences=48, output_energies=True)
        >>> outputs.logits.shape, outputs.energies[0].shape
        (torch.Size([2, 81, 9]), torch.Size([2, 49]))

        ```"""
        deep_supervision = labels is not None and self.training and self.config.deep_supervision != "last"
        energy_descent = labels is not None and self.training and self.config.energy_descent_loss_weight > 0
        # what the training loss reads, requested together with what the caller asked for (and returned as computed)
        needs = {"output_hidden_states": True} if deep_supervision else {}
        needs.update({"output_energies": True} if energy_descent else {})
        outputs = self.hyperset(input_ids=input_ids, **{**kwargs, **needs})
        logits = self.classifier(self.readout_norm(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            if tuple(labels.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"`labels` must have the shape of `input_ids` {tuple(input_ids.shape)}, got {tuple(labels.shape)}."
                )
            if labels.is_floating_point():
                raise ValueError(f"`labels` must be an integer tensor (digit minus one, -100 = ignored), got dtype "
                                 f"{labels.dtype}.")  # fmt: skip
            if not is_torchdynamo_compiling() and (labels == -100).all():
                raise ValueError(
                    "`labels` are -100 (ignored) in every cell: there is no cell to score, the loss would be nan. Pass "
                    "puzzles with at least one blank cell."
                )
            bad = (labels != -100) & ((labels < 0) | (labels >= SUDOKU_NUM_DIGITS))
            if not is_torchdynamo_compiling() and bad.any():
                board, cell = (int(i) for i in bad.nonzero()[0])
                raise ValueError(
                    f"`labels` must be a digit minus one (0-8) or -100 (ignored); board {board}, cell {cell} has "
                    f"{int(labels[board, cell])}."
                )
            if deep_supervision:
                loss = self.deep_supervision_loss(outputs.hidden_states[1:], labels)
            else:
                loss = self.cell_loss(logits, labels)
            if energy_descent:
                loss = loss + self.config.energy_descent_loss_weight * self.energy_rise(outputs.energies)
        return HyperSETSudokuOutput(loss=loss, logits=logits, **per_iteration_fields(outputs))

    @staticmethod
    def cell_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of (batch, 81, 9) logits over the blank cells (labels -100 are ignored)."""
        return F.cross_entropy(
            upcast(logits.reshape(-1, SUDOKU_NUM_DIGITS)), labels.reshape(-1).to(logits.device), ignore_index=-100
        )

    @staticmethod
    def energy_rise(energies: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Mean energy rise per iteration and cell, ReLU(E_{t+1} - E_t) / 81 averaged over boards, iterations and
        layers, from the per-layer total energies (batch, iterations + 1) (the `energy_descent_loss_weight` term)."""
        rises = [F.relu(layer_energies[:, 1:] - layer_energies[:, :-1]).mean() for layer_energies in energies]
        return sum(rises) / (len(rises) * SUDOKU_NUM_CELLS)

    def deep_supervision_iterations(self, num_states: int) -> list[int]:
        """0-based indices of the supervised states among the `num_states` states after every iteration."""
        mode, k = self.config.deep_supervision, min(self.config.deep_supervision_num_iterations, num_states)
        if mode == "all":
            return list(range(num_states))
        if mode == "last_k":
            return list(range(num_states - k, num_states))
        drawn = torch.randperm(num_states - 1)[: k - 1].tolist()  # random_k: the last plus k - 1 drawn ones
        return sorted(drawn) + [num_states - 1]

    def deep_supervision_loss(self, states: tuple[torch.Tensor, ...], labels: torch.Tensor) -> torch.Tensor:
        """Weighted mean of the cell losses read out from the supervised iterations' states (deep supervision)."""
        chosen = self.deep_supervision_iterations(len(states))
        weights = [1.0 if self.config.deep_supervision_weighting == "uniform" else index + 1.0 for index in chosen]
        losses = [self.cell_loss(self.classifier(self.readout_norm(states[index])), labels) for index in chosen]
        return sum(weight * loss for weight, loss in zip(weights, losses)) / sum(weights)

    @torch.no_grad()
    def solve(
        self,
        input_ids: torch.LongTensor,
        num_recurrences: int | None = None,
        *,
        decoding: str | None = None,
        reveal_fraction: float | None = None,
        confidence_threshold: float | None = None,
        num_rounds: int | None = None,
        schedule: str | None = None,
        warm_start: bool | None = None,
        rule_mask: bool | None = None,
        num_copies: int | None = None,
        selection: str | None = None,
        seed: int = 0,
        check_givens: bool = True,
        return_dict: bool = False,
        **kwargs,
    ) -> "torch.LongTensor | SudokuSolution":
        r"""Solves `(batch_size, 81)` puzzles (0 = blank) into grids of digits 1-9, keeping the givens.

        `decoding="iterative"` (the default) decodes the grid the way MaskGIT decodes image tokens, with the package's
        one engine ([`hyperset_hf.maskgit.maskgit_decode`], blank = mask id 0, logit k = digit k + 1, greedy): every
        round runs the model for `num_recurrences` iterations on the puzzle with the digits committed so far as
        givens, and commits the most confident blanks; a puzzle leaves once it is full. `decoding="one_pass"` fills
        every blank from one forward pass (the paper's protocol, and `forward`).

        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, 81)`): the puzzles.
            num_recurrences (`int`, *optional*): iterations per round (default `config.num_recurrences`).
            decoding (`str`, *optional*): `"iterative"` or `"one_pass"`.
            reveal_fraction (`float` in (0, 1], *optional*): share of the remaining blanks committed per round.
            confidence_threshold (`float` in (0, 1], *optional*): also commit every blank at least this likely.
            num_rounds, schedule (*optional*): instead of a fraction, a MaskGIT schedule over `num_rounds` rounds.
            warm_start (`bool`, *optional*): continue each round from the previous round's final state (the states of
                the newly committed cells replaced by their embeddings) instead of restarting from the embeddings.
            rule_mask (`bool`, *optional*): mask out digits that clash with a committed peer (uses the Sudoku rules;
                off by default, always reported separately).
            num_copies (`int`, *optional*): test-time selection: decode this many copies of each puzzle (copy 0 the
                puzzle itself, the others under random validity-preserving symmetries, all in one batch), map them
                back, and keep one grid per puzzle; costs `num_copies` times the iterations.
            selection (`str`, *optional*): how to keep one of the copies: `"confidence"` (the copy whose committed
                digits were the most probable), `"energy"` (the lowest energy of the completed grid, every copy
                scored at the same depth; energy-based models only) or `"vote"` (per cell, the most frequent digit).
            seed (`int`, *optional*, defaults to 0): seeds the copies' symmetries (the same seed, the same answer).
            check_givens (`bool`, *optional*, defaults to True): refuse puzzles whose givens clash (no solution).
            return_dict (`bool`, *optional*): return a [`SudokuSolution`] instead of the grids.
            kwargs: passed to `forward` every round (e.g. `adaptive_exit_threshold`).

        The defaults of every option are `SUDOKU_DECODING_DEFAULTS`, overridden by the checkpoint's
        `config.sudoku_decoding` (the recommended setting saved with it), overridden by the arguments.
        """
        HyperSETSudokuEmbeddings.check_input_ids(input_ids)
        if check_givens:
            _check_givens(input_ids)
        given = {"decoding": decoding, "reveal_fraction": reveal_fraction, "confidence_threshold": confidence_threshold,
                 "warm_start": warm_start, "rule_mask": rule_mask, "num_rounds": num_rounds, "schedule": schedule,
                 "num_copies": num_copies, "selection": selection}  # fmt: skip
        options = {**SUDOKU_DECODING_DEFAULTS, **(self.config.sudoku_decoding or {})}
        options.update({name: value for name, value in given.items() if value is not None})
        if options["decoding"] not in ("iterative", "one_pass"):
            raise ValueError(f"`decoding` must be 'iterative' or 'one_pass', got {options['decoding']!r}.")
        for name in ("warm_start", "rule_mask"):  # ("no" would read as True)
            if not isinstance(options[name], bool):
                raise ValueError(f"`{name}` must be True or False, got {options[name]!r}.")
        copies, seed = as_count(options["num_copies"], "num_copies", limit=1024), as_seed(seed)
        has_energy = self.config.layer_type == "hyperset"
        selections = tuple(name for name in SUDOKU_SELECTIONS if has_energy or name != "energy")  # baseline: no energy
        if options["selection"] not in selections:
            raise ValueError(
                f"`selection` must be one of {', '.join(map(repr, selections))}"
                f"{'' if has_energy else ' (the Transformer baseline has no energy)'}, got {options['selection']!r}."
            )
        if options.get("num_rounds") is not None or options.get("schedule") is not None:
            options["reveal_fraction"] = None  # a MaskGIT schedule instead of a fraction
        one_pass = options["decoding"] == "one_pass"
        num_recurrences = self.config.num_recurrences if num_recurrences is None else num_recurrences
        puzzles, sources, digit_maps = symmetric_copies(input_ids, copies, seed) if copies > 1 else (input_ids,) * 3
        decoded = maskgit_decode(
            self, puzzles, num_steps=1 if one_pass else (options.get("num_rounds") or 12),
            schedule=options.get("schedule") or "linear", temperature=0.0, mask_token_id=0,
            reveal_fraction=None if one_pass else options["reveal_fraction"],
            confidence_threshold=None if one_pass else options["confidence_threshold"], id_offset=1,
            logits_processor=sudoku_rule_mask if options["rule_mask"] else None,
            warm_start=bool(options["warm_start"]) and not one_pass, stop_when_full=True,
            output_energies=has_energy, num_recurrences=num_recurrences, **kwargs,
        )  # fmt: skip
        grids, committed_round = decoded.sequences, decoded.reveal_step
        if copies == 1 and not return_dict:
            return grids
        energy = decoded.energy
        if energy is None:  # the Transformer baseline
            energy = torch.full(grids.shape[:1], math.nan, device=grids.device)
        per_copy = {"num_rounds": decoded.num_model_calls, "energy": energy, "energy_trace": decoded.energy_trace,
                    "confidence": decoded.confidence}  # fmt: skip
        selected = {}
        if copies > 1:  # (copies * batch, ...) copy-major -> (batch, copies, ...), back in the puzzles' own cells
            def by_puzzle(values):
                return None if values is None else values.unflatten(0, (copies, -1)).transpose(0, 1)

            grids = map_copies_back(grids, sources, digit_maps)
            copy_energies = torch.full_like(energy, math.nan)
            if has_energy and (return_dict or options["selection"] == "energy"):  # every grid scored at equal depth
                scored = self(input_ids=grids, num_recurrences=num_recurrences, output_energies=True, **kwargs)
                copy_energies = scored.energies[-1][:, -1].float()
            copy_grids, copy_confidences = by_puzzle(grids), by_puzzle(decoded.confidence)
            grids, chosen = select_copies(copy_grids, copy_confidences, by_puzzle(copy_energies), options["selection"])
            if not return_dict:
                return grids
            source = chosen.where(chosen >= 0, copy_confidences.argmax(-1))  # vote: the most confident copy's facts
            rows = torch.arange(grids.shape[0], device=grids.device)
            committed_round = by_puzzle(map_copies_back(committed_round, sources))[rows, source]
            per_copy = {name: None if value is None else by_puzzle(value)[rows, source] for name, value in per_copy.items()}
            selected = {"copy_grids": copy_grids, "copy_confidences": copy_confidences,
                        "copy_energies": by_puzzle(copy_energies), "selected_copy": chosen}  # fmt: skip
        return SudokuSolution(
            grids=grids, committed_round=committed_round, iterations_used=decoded.iterations_used.view(copies, -1).sum(0),
            is_valid=(sudoku_unit_counts(grids) == 1).all(-1).all(-1), rule_mask=bool(options["rule_mask"]),
            **per_copy, **selected,
        )  # fmt: skip


# Saved folders carry this file, `configuration_hyperset.py` and the modules they import so that they load with
# `trust_remote_code=True`.
HyperSETConfig.register_for_auto_class()
HyperSETModel.register_for_auto_class("AutoModel")
HyperSETForImageClassification.register_for_auto_class("AutoModelForImageClassification")
HyperSETForMaskedImageModeling.register_for_auto_class("AutoModelForMaskedImageModeling")
HyperSETForSudoku.register_for_auto_class("AutoModelForTokenClassification")
HyperSETForMaskedTokenModeling.register_for_auto_class("AutoModelForMaskedLM")


__all__ = [
    "HyperSETForImageClassification",
    "HyperSETForMaskedImageModeling",
    "HyperSETForMaskedTokenModeling",
    "HyperSETForSudoku",
    "HyperSETModel",
    "HyperSETPreTrainedModel",
]
