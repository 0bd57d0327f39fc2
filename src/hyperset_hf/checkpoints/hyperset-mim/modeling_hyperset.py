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
energy whose negative gradient is the update. With `adaptive_exit_threshold` every sample stops iterating once its
energy (or state) stops changing.

This file is self-contained (it imports only torch, transformers and `configuration_hyperset`) so that it also works as
Hub remote code.
"""

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    ImageClassifierOutput,
    MaskedImageModelingOutput,
    TokenClassifierOutput,
)
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging
from transformers.utils.generic import can_return_tuple

from .configuration_hyperset import ADAPTIVE_EXIT_CRITERIA, HyperSETConfig


logger = logging.get_logger(__name__)


# ---------------------------------------------------------------------------------------------------------------------
# Output classes
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class HyperSETModelOutput(BaseModelOutputWithPooling):
    r"""
    Output of [`HyperSETModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            Token states after the last iteration of the last layer (not normalised).
        pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`):
            State of the CLS token after the last iteration.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            The initial state followed by the state after every iteration of every layer: `num_layers *
            num_recurrences + 1` tensors of shape `(batch_size, sequence_length, hidden_size)`.
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned when `output_attentions=True`):
            The bi-softmax matrix `softmax_rows(A) + softmax_columns(A)` of every iteration: `num_layers *
            num_recurrences` tensors of shape `(batch_size, num_heads, sequence_length, sequence_length)`.
        energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Total energy `attention_energies + feedforward_energies`, one tensor per layer of shape
            `(batch_size, num_recurrences + 1)`: the energy of the layer's input state, then after every iteration.
        attention_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Attention energy (Eq. 2-4), one tensor per layer of shape `(batch_size, num_recurrences + 1)`.
        feedforward_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Feedforward energy (Eq. 5), one tensor per layer of shape `(batch_size, num_recurrences + 1)`.
        iterations_used (`torch.LongTensor` of shape `(batch_size,)`, *optional*, returned with adaptive exit):
            Iterations each sample actually ran, summed over the layers (at most `num_layers * num_recurrences`).
            After its exit a sample's state, energies and attention stay constant in the per-iteration outputs.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETImageClassifierOutput(ImageClassifierOutput):
    r"""
    Output of [`HyperSETForImageClassification`]: `loss`, `logits` of shape `(batch_size, num_labels)`,
    `hidden_states` and `attentions` as in [`HyperSETModelOutput`], plus the per-layer `energies`,
    `attention_energies` and `feedforward_energies` of shape `(batch_size, num_recurrences + 1)` when
    `output_energies=True`, and `iterations_used` of shape `(batch_size,)` with adaptive exit.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETMaskedImageModelingOutput(MaskedImageModelingOutput):
    r"""
    Output of [`HyperSETForMaskedImageModeling`]: `loss` (L1 on the masked pixels), `reconstruction` of shape
    `(batch_size, num_channels, height, width)`, `hidden_states` and `attentions` as in [`HyperSETModelOutput`], plus
    the per-layer `energies`, `attention_energies` and `feedforward_energies` of shape
    `(batch_size, num_recurrences + 1)` when `output_energies=True`, and `iterations_used` of shape `(batch_size,)`
    with adaptive exit.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class HyperSETSudokuOutput(TokenClassifierOutput):
    r"""
    Output of [`HyperSETForSudoku`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` are given):
            Cross-entropy over the blank cells (cells labelled -100 are ignored).
        logits (`torch.FloatTensor` of shape `(batch_size, 81, 9)`):
            Scores of the digits 1-9 for every cell (index k = digit k + 1).
        hidden_states, attentions, energies, attention_energies, feedforward_energies, iterations_used:
            As in [`HyperSETModelOutput`].
    """

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


def sinusoidal_position_embedding(num_positions: int, hidden_size: int, device=None) -> torch.Tensor:
    """Fixed 1-D sinusoidal positions (interleaved): `PE[pos, 2i] = sin(pos / 10000^(2i/d))`,
    `PE[pos, 2i+1] = cos(pos / 10000^(2i/d))`. Shape `(num_positions, hidden_size)`."""
    positions = torch.arange(num_positions, dtype=torch.float32, device=device)[:, None]
    even_dims = torch.arange(0, hidden_size, 2, dtype=torch.float32, device=device)
    angles = positions / torch.pow(10000.0, even_dims / hidden_size)
    embedding = torch.zeros(num_positions, hidden_size, device=device)
    embedding[:, 0::2] = angles.sin()
    embedding[:, 1::2] = angles.cos()[:, : hidden_size // 2]
    return embedding


def _gelu_primitive(x: torch.Tensor) -> torch.Tensor:
    # F(x) = integral of GELU(s) = s Phi(s) from -inf to x = ((x^2 - 1) Phi(x) + x phi(x)) / 2, so that F' = GELU.
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return 0.5 * ((x * x - 1.0) * cdf + x * pdf)


def _relu_primitive(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * F.relu(x).square()


ACTIVATION_PRIMITIVES = {"relu": _relu_primitive, "gelu": _gelu_primitive}


# Feature maps phi of linear attention and of the gated feedforward, each with its closed-form derivative phi'.
def _sigmoid_derivative(x: torch.Tensor) -> torch.Tensor:
    sigmoid = torch.sigmoid(x)
    return sigmoid * (1.0 - sigmoid)


def _tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(x).square()


def _silu_derivative(x: torch.Tensor) -> torch.Tensor:
    sigmoid = torch.sigmoid(x)
    return sigmoid * (1.0 + x * (1.0 - sigmoid))


def _gelu_derivative(x: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def _elu_derivative(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.exp(x.clamp(max=0.0)))


def _elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    return F.elu(x) + 1.0


FEATURE_MAPS = {
    "sigmoid": (torch.sigmoid, _sigmoid_derivative),
    "tanh": (torch.tanh, _tanh_derivative),
    "softplus": (F.softplus, torch.sigmoid),
    "silu": (F.silu, _silu_derivative),
    "gelu": (F.gelu, _gelu_derivative),
    "elu": (F.elu, _elu_derivative),
    "elup1": (_elu_plus_one, _elu_derivative),
}


def check_num_recurrences(num_recurrences) -> int:
    if isinstance(num_recurrences, bool) or not isinstance(num_recurrences, int) or num_recurrences < 1:
        raise ValueError(f"`num_recurrences` must be a positive integer, got {num_recurrences!r}.")
    return num_recurrences



def check_adaptive_exit(threshold, criterion, min_recurrences=1) -> None:
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0
    ):
        raise ValueError(f"`adaptive_exit_threshold` must be a non-negative number or None, got {threshold!r}.")
    if criterion not in ADAPTIVE_EXIT_CRITERIA:
        raise ValueError(f"`adaptive_exit_criterion` must be one of {ADAPTIVE_EXIT_CRITERIA}, got {criterion!r}.")
    if isinstance(min_recurrences, bool) or not isinstance(min_recurrences, int) or min_recurrences < 1:
        raise ValueError(f"`adaptive_exit_min_recurrences` must be a positive integer, got {min_recurrences!r}.")


# ---------------------------------------------------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETPatchEmbeddings(nn.Module):
    """Cuts `(batch_size, num_channels, height, width)` images into patches flattened in (row, column, channel) order
    (channels last, as the reference implementation) and embeds them with LayerNorm -> Linear -> LayerNorm into
    `(batch_size, num_patches, hidden_size)`."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.patch_size = config.patch_size
        self.num_channels = config.num_channels
        patch_dim = config.num_channels * config.patch_size**2
        self.input_norm = nn.LayerNorm(patch_dim, eps=config.layer_norm_eps)
        self.projection = nn.Linear(patch_dim, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        batch_size, num_channels, height, width = pixel_values.shape
        size = self.patch_size
        patches = pixel_values.reshape(batch_size, num_channels, height // size, size, width // size, size)
        patches = patches.permute(0, 2, 4, 3, 5, 1).reshape(batch_size, (height // size) * (width // size), -1)
        return self.output_norm(self.projection(self.input_norm(patches)))


class HyperSETEmbeddings(nn.Module):
    """Patch embeddings, optional mask token, CLS token and fixed 1-D sinusoidal positions (not stored)."""

    def __init__(self, config: HyperSETConfig, use_mask_token: bool = False):
        super().__init__()
        self.config = config
        self.patch_embeddings = HyperSETPatchEmbeddings(config)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None

    def check_pixel_values(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool) -> None:
        config = self.config
        if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
            shape = tuple(pixel_values.shape) if isinstance(pixel_values, torch.Tensor) else type(pixel_values)
            raise ValueError(
                f"`pixel_values` must be a tensor of shape (batch_size, num_channels, height, width), got {shape}."
            )
        _, num_channels, height, width = pixel_values.shape
        if num_channels != config.num_channels:
            raise ValueError(
                f"`pixel_values` has {num_channels} channels but the model expects {config.num_channels} "
                f"(config.num_channels)."
            )
        if interpolate_pos_encoding:
            if height % config.patch_size or width % config.patch_size:
                raise ValueError(
                    f"Image size ({height}x{width}) must be divisible by the patch size ({config.patch_size})."
                )
        elif height != config.image_size or width != config.image_size:
            raise ValueError(
                f"Input image size ({height}x{width}) doesn't match model ({config.image_size}x{config.image_size}). "
                "Pass `interpolate_pos_encoding=True` to run on another size divisible by the patch size."
            )

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        interpolate_pos_encoding: bool = False,
    ) -> torch.Tensor:
        self.check_pixel_values(pixel_values, interpolate_pos_encoding)
        pixel_values = pixel_values.to(self.patch_embeddings.projection.weight.dtype)
        embeddings = self.patch_embeddings(pixel_values)
        batch_size, num_patches, _ = embeddings.shape

        if bool_masked_pos is not None:
            if self.mask_token is None:
                raise ValueError(
                    "`bool_masked_pos` was given but this model has no mask token; build it with "
                    "`HyperSETModel(config, use_mask_token=True)` or use `HyperSETForMaskedImageModeling`."
                )
            if tuple(bool_masked_pos.shape) != (batch_size, num_patches):
                raise ValueError(
                    f"`bool_masked_pos` must have shape (batch_size, num_patches) = {(batch_size, num_patches)}, got "
                    f"{tuple(bool_masked_pos.shape)}."
                )
            mask = bool_masked_pos.unsqueeze(-1).to(embeddings.dtype)
            embeddings = embeddings * (1.0 - mask) + self.mask_token.expand(batch_size, num_patches, -1) * mask

        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        embeddings = torch.cat((cls_tokens, embeddings), dim=1)
        positions = sinusoidal_position_embedding(num_patches + 1, embeddings.shape[-1], device=embeddings.device)
        return embeddings + positions.to(embeddings.dtype)


DEPTHWISE_LORA_INIT_STD = 0.02  # reference `hyper-set-lora`: B_t, A_t ~ N(0, 0.02)

SUDOKU_NUM_CELLS = 81
SUDOKU_VOCAB_SIZE = 10  # 0 = blank, 1-9 = given digit
SUDOKU_NUM_DIGITS = 9


class HyperSETSudokuEmbeddings(nn.Module):
    """Digit embeddings of the 81 cells plus learned cell positions, then dropout (paper App. D):
    `(batch_size, 81)` ids in 0-9 -> x_0 of shape `(batch_size, 81, hidden_size)`."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.digit_embeddings = nn.Embedding(SUDOKU_VOCAB_SIZE, config.hidden_size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, SUDOKU_NUM_CELLS, config.hidden_size))
        self.dropout = nn.Dropout(config.embedding_dropout_prob)

    @staticmethod
    def check_input_ids(input_ids: torch.Tensor) -> None:
        if not isinstance(input_ids, torch.Tensor) or input_ids.ndim != 2 or input_ids.shape[1] != SUDOKU_NUM_CELLS:
            shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids)
            raise ValueError(
                f"`input_ids` must be a tensor of shape (batch_size, {SUDOKU_NUM_CELLS}) with one digit per cell, "
                f"got {shape}."
            )
        if input_ids.is_floating_point() or input_ids.is_complex():
            raise ValueError(f"`input_ids` must be an integer tensor, got dtype {input_ids.dtype}.")
        bad = (input_ids < 0) | (input_ids >= SUDOKU_VOCAB_SIZE)
        if bad.any():
            board, cell = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`input_ids` must hold digits 0-9 (0 = blank); board {board}, cell {cell} has "
                f"{int(input_ids[board, cell])}."
            )

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        self.check_input_ids(input_ids)
        return self.dropout(self.digit_embeddings(input_ids) + self.position_embeddings)


# ---------------------------------------------------------------------------------------------------------------------
# The Hyper-SET layer
# ---------------------------------------------------------------------------------------------------------------------


class HyperSETZeroInitLinear(nn.Linear):
    """A Linear layer that `_init_weights` initialises to zero (weight and bias), as the step-size network needs."""


class HyperSETStepSizeNetwork(nn.Module):
    """Learned step sizes alpha_t, beta_t (paper Eq. 12, App. D), shared by all layers.

    The time path maps the sinusoidal embedding of the iteration index t = 1, 2, ... to a condition c_t (once per
    forward pass); each iteration then computes `[alpha | beta] = Linear(GELU(c_t + s))` where the state s is the
    current state x_t or the initial state x_0, RMS-normalised or raw. Every Linear here starts at zero, so
    alpha = beta = 0 at initialisation and every iteration starts as the identity.

    `config.step_size_network_type`:
        - `"normalized"` (image classification): c_t = RMSNorm(Linear(RMSNorm(GELU(RMSNorm(Linear(sin(t))))))),
          s = RMSNorm(x);
        - `"unnormalized"` (Sudoku): c_t = Linear(GELU(Linear(sin(t)))), s = x;
        - `"basic"` (reference `hyper-set-basic`): as `"normalized"`, and the head is Linear(GELU(RMSNorm(c_t + s))).
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        hidden_size, eps = config.hidden_size, config.rms_norm_eps
        self.time_embedding_size = config.time_embedding_size
        self.normalized = config.step_size_network_type in ("normalized", "basic")
        self.time_embedding_projection = HyperSETZeroInitLinear(config.time_embedding_size, hidden_size)
        self.time_hidden_projection = HyperSETZeroInitLinear(hidden_size, hidden_size)
        if self.normalized:
            self.time_embedding_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.time_hidden_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.time_output_norm = nn.RMSNorm(hidden_size, eps=eps)
            self.state_norm = nn.RMSNorm(hidden_size, eps=eps)
        # the extra RMSNorm of the "basic" variant, at the start of the step-size head
        self.head_norm = nn.RMSNorm(hidden_size, eps=eps) if config.step_size_network_type == "basic" else None
        self.step_size_projection = HyperSETZeroInitLinear(hidden_size, 2 * hidden_size)
        self.activation = nn.GELU()

    def time_conditions(self, num_iterations: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Conditions c_1 ... c_T of shape `(num_iterations, hidden_size)`."""
        iterations = torch.arange(1, num_iterations + 1, device=device)
        embedding = iteration_embedding(iterations, self.time_embedding_size).to(dtype)
        hidden = self.time_embedding_projection(embedding)
        if not self.normalized:
            return self.time_hidden_projection(self.activation(hidden))
        hidden = self.activation(self.time_embedding_norm(hidden))
        return self.time_output_norm(self.time_hidden_projection(self.time_hidden_norm(hidden)))

    def conditioning_state(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """The state the step sizes see: RMSNorm(x) (normalised network) or x itself. Same shape as the input."""
        return self.state_norm(hidden_states) if self.normalized else hidden_states

    def forward(
        self, time_condition: torch.Tensor, conditioning_state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`time_condition` (hidden_size,), `conditioning_state` (batch_size, sequence_length, hidden_size) from
        [`~HyperSETStepSizeNetwork.conditioning_state`] -> alpha, beta, each (batch_size, sequence_length,
        hidden_size)."""
        head_input = time_condition + conditioning_state
        if self.head_norm is not None:
            head_input = self.head_norm(head_input)
        step_sizes = self.step_size_projection(self.activation(head_input))
        return step_sizes.chunk(2, dim=-1)


class HyperSETAttention(nn.Module):
    """Attention as the gradient of an attention energy (Eq. 2-4, 9; App. G.1 for the alternatives).

    One bias-free d x d matrix W gives Q = K = V per head, each normalised by RMSNorm over the head width p; the
    output is mapped back through W^T (tied), so the module has no separate output projection. With z the normalised
    head projections and A = z z^T / sqrt(p), `config.attention_type` selects the energy E and the update direction
    (W^T applied to the head-wise direction below, to be SUBTRACTED with step alpha):

        bisoftmax:  E = sqrt(p) sum_i logsumexp_j A_ij           direction [softmax_rows(A) + softmax_columns(A)] z
        sigmoid:    E = sqrt(p) / 2 sum_ij sigmoid(A_ij)         direction [sigmoid(A) (1 - sigmoid(A))] z
        relu:       E = 1/4 sum_ij ReLU(z_i . z_j)^2             direction ReLU(z z^T) z
        linear:     E = 1/(4 sqrt(p)) sum_ij (phi_i . phi_j)^2   direction (phi(z) [phi(z)^T phi(z)] / sqrt(p)) * phi'(z)

    Linear attention never forms the N x N matrix (O(N) in the sequence length).
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.scaling = self.head_dim**-0.5
        self.share_qkv_norm = config.share_qkv_norm
        self.attention_type = config.attention_type
        self.feature_map, self.feature_map_derivative = FEATURE_MAPS[config.attention_feature_map]
        self.projection = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        if config.share_qkv_norm:
            self.qkv_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
        else:
            self.query_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
            self.key_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)
            self.value_norm = nn.RMSNorm(self.head_dim, eps=config.rms_norm_eps)

    def project_heads(self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """(batch_size, sequence_length, hidden_size) -> W x split into heads, (batch_size, num_heads, sequence_length,
        head_dim). `weight` replaces W (depth-wise LoRA: W + delta_t)."""
        batch_size, sequence_length, _ = hidden_states.shape
        weight = self.projection.weight if weight is None else weight
        projected = F.linear(hidden_states, weight).view(batch_size, sequence_length, self.num_heads, self.head_dim)
        return projected.transpose(1, 2)

    def forward(
        self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None, output_attentions: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Returns the update direction (batch_size, sequence_length, hidden_size), to be SUBTRACTED with step alpha,
        and the attention matrix (batch_size, num_heads, sequence_length, sequence_length): the bi-softmax matrix, the
        sigmoid or ReLU weights, or phi(q) phi(k)^T / sqrt(p) for linear attention (computed only when
        `output_attentions`, else `None`). `weight` replaces W in both directions (depth-wise LoRA)."""
        batch_size, sequence_length, hidden_size = hidden_states.shape
        weight = self.projection.weight if weight is None else weight
        projected = self.project_heads(hidden_states, weight)
        if self.share_qkv_norm:
            query = key = value = self.qkv_norm(projected)
        else:
            query, key, value = self.query_norm(projected), self.key_norm(projected), self.value_norm(projected)
        if self.attention_type == "bisoftmax":
            scores = torch.matmul(query, key.transpose(-1, -2)) * self.scaling
            # softmax over keys + softmax over queries of the same scores, not halved (Eq. 9)
            attention = scores.softmax(dim=-1) + scores.softmax(dim=-2)
            context = torch.matmul(attention, value)
        elif self.attention_type == "linear":
            # (phi(v) K) * phi'(q) with the p x p kernel K = phi(q)^T phi(k) / sqrt(p)
            query_features, key_features = self.feature_map(query), self.feature_map(key)
            kernel = torch.matmul(query_features.transpose(-1, -2), key_features) * self.scaling
            context = torch.matmul(self.feature_map(value), kernel) * self.feature_map_derivative(query)
            attention = None
            if output_attentions:  # the N x N matrix is never needed for the update
                attention = torch.matmul(query_features, key_features.transpose(-1, -2)) * self.scaling
        elif self.attention_type == "sigmoid":
            # derivative of sigmoid: sigmoid(A) (1 - sigmoid(A)), elementwise
            attention = _sigmoid_derivative(torch.matmul(query, key.transpose(-1, -2)) * self.scaling)
            context = torch.matmul(attention, value)
        else:  # relu, without the 1/sqrt(p) scale (reference `model.attention=relu`)
            attention = F.relu(torch.matmul(query, key.transpose(-1, -2)))
            context = torch.matmul(attention, value)
        context = context.transpose(1, 2).reshape(batch_size, sequence_length, hidden_size)
        # tied output map: context . W (the transpose of the input map x -> x W^T)
        return torch.matmul(context, weight), attention

    def energy(
        self, hidden_states: torch.Tensor, normalize: bool = True, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The attention energy of `config.attention_type` (see the class docstring) with z the head projections,
        normalised by a parameter-free RMS norm when `normalize`. Shape `(batch_size,)`."""
        projected = self.project_heads(hidden_states, weight)
        if normalize:
            projected = F.rms_norm(projected, (self.head_dim,))
        if self.attention_type == "linear":
            features = self.feature_map(projected)
            kernel = torch.matmul(features.transpose(-1, -2), features)  # sum_ij (phi_i . phi_j)^2 = ||phi^T phi||^2
            return kernel.square().sum(dim=(1, 2, 3)) * (self.scaling / 4.0)
        scores = torch.matmul(projected, projected.transpose(-1, -2))
        if self.attention_type == "relu":
            return F.relu(scores).square().sum(dim=(1, 2, 3)) / 4.0
        scores = scores * self.scaling
        if self.attention_type == "sigmoid":
            return torch.sigmoid(scores).sum(dim=(1, 2, 3)) / (2.0 * self.scaling)
        return torch.logsumexp(scores, dim=-1).sum(dim=(1, 2)) / self.scaling


class HyperSETFeedForward(nn.Module):
    """Tied feedforward as the negative gradient of a feedforward energy (Eq. 5, 10-11; App. G.1): one bias-free M x d
    matrix W_ff projects up and (transposed) back down. With h = RMSNorm(W_ff x), `config.feedforward_type`:

        activation:  E = -sum_m F(h_m), F' = act (ReLU: F = ReLU^2 / 2)     direction W_ff^T act(h)
        softmax:     E = -logsumexp_m h_m                                   direction W_ff^T softmax(h)
        gated:       E = -1/2 (sum_m phi(h_m))^2                            direction W_ff^T [(sum_m phi(h_m)) phi'(h)]

    The direction is ADDED with step beta.
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.projection = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.norm = nn.RMSNorm(config.intermediate_size, eps=config.rms_norm_eps)
        self.feedforward_type = config.feedforward_type
        self.activation = ACT2FN[config.hidden_act]
        self.activation_primitive = ACTIVATION_PRIMITIVES[config.hidden_act]
        self.feature_map, self.feature_map_derivative = FEATURE_MAPS[config.feedforward_feature_map]
        self.intermediate_size = config.intermediate_size

    def forward(self, hidden_states: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """(batch_size, sequence_length, hidden_size) -> update direction of the same shape, ADDED with step beta.
        `weight` replaces W_ff in both directions (depth-wise LoRA)."""
        weight = self.projection.weight if weight is None else weight
        hidden = self.norm(F.linear(hidden_states, weight))
        if self.feedforward_type == "activation":
            activated = self.activation(hidden)
        elif self.feedforward_type == "softmax":
            activated = hidden.softmax(dim=-1)
        else:  # gated
            activated = self.feature_map(hidden).sum(dim=-1, keepdim=True) * self.feature_map_derivative(hidden)
        return torch.matmul(activated, weight)

    def energy(
        self, hidden_states: torch.Tensor, normalize: bool = True, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The feedforward energy of `config.feedforward_type` (see the class docstring), h = W_ff x normalised by a
        parameter-free RMS norm over M when `normalize`. Shape `(batch_size,)`."""
        hidden = F.linear(hidden_states, self.projection.weight if weight is None else weight)
        if normalize:
            hidden = F.rms_norm(hidden, (self.intermediate_size,))
        if self.feedforward_type == "activation":
            return -self.activation_primitive(hidden).sum(dim=(1, 2))
        if self.feedforward_type == "softmax":
            return -torch.logsumexp(hidden, dim=-1).sum(dim=1)
        return -0.5 * self.feature_map(hidden).sum(dim=-1).square().sum(dim=1)


class HyperSETDepthwiseLoRA(nn.Module):
    """Depth-wise LoRA (reference variant `hyper-set-lora`, paper Table 5): a different low-rank delta of the tied
    matrices at every iteration t = 1 ... T,

        W_t = W + s B_t A_t      (d x d; used for the projection AND the tied output map)
        W_ff,t = W_ff + s B'_t A'_t   (M x d; used for both feedforward directions)

    with s = `config.depthwise_lora_scale` and B_t (d x r), A_t (r x d), B'_t (M x r), A'_t (r x d), all initialised
    N(0, 0.02) (neither is zero, unlike the usual LoRA). The factors are shared by all layers and indexed by the
    iteration, so there are factors for `config.num_recurrences` iterations only: the model cannot run more
    iterations than it was built with. (The reference requires M = d; with M = d the two are identical.)
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        rank, num_iterations = config.depthwise_lora_rank, config.num_recurrences
        self.num_iterations = num_iterations
        self.scale = config.depthwise_lora_scale
        hidden_size, intermediate_size = config.hidden_size, config.intermediate_size
        self.attention_up = nn.Parameter(torch.empty(num_iterations, hidden_size, rank))  # B_t
        self.attention_down = nn.Parameter(torch.empty(num_iterations, rank, hidden_size))  # A_t
        self.feedforward_up = nn.Parameter(torch.empty(num_iterations, intermediate_size, rank))  # B'_t
        self.feedforward_down = nn.Parameter(torch.empty(num_iterations, rank, hidden_size))  # A'_t

    def forward(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Deltas of `iteration` (0-based): (hidden_size, hidden_size) and (intermediate_size, hidden_size)."""
        attention_delta = torch.matmul(self.attention_up[iteration], self.attention_down[iteration]) * self.scale
        feedforward_delta = torch.matmul(self.feedforward_up[iteration], self.feedforward_down[iteration]) * self.scale
        return attention_delta, feedforward_delta


class HyperSETLayer(GradientCheckpointingLayer):
    """One Hyper-SET layer. A call performs ONE iteration (Eq. 9 then Eq. 11):

        alpha, beta = step_sizes(c_t, x_t or x_0)      (or the fixed step size)
        x <- x - alpha * attention(x)
        x <- x + beta * feedforward(x)
    """

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.attention = HyperSETAttention(config)
        self.feedforward = HyperSETFeedForward(config)

    def iteration_weights(
        self, depthwise_lora: HyperSETDepthwiseLoRA | None, iteration: int
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """W + delta_t and W_ff + delta'_t of depth-wise LoRA at `iteration` (0-based), or (None, None) without LoRA
        (the modules then use their own weights)."""
        if depthwise_lora is None:
            return None, None
        attention_delta, feedforward_delta = depthwise_lora(iteration)
        attention_weight = self.attention.projection.weight + attention_delta
        return attention_weight, self.feedforward.projection.weight + feedforward_delta

    def forward(
        self,
        hidden_states: torch.Tensor,
        time_condition: torch.Tensor | None = None,
        initial_conditioning_state: torch.Tensor | None = None,
        step_size_network: HyperSETStepSizeNetwork | None = None,
        output_attentions: bool = False,
        step_sizes: tuple[float, float] | None = None,
        depthwise_lora: HyperSETDepthwiseLoRA | None = None,
        iteration: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """
        Args:
            hidden_states: (batch_size, sequence_length, hidden_size), the state x_t.
            time_condition: (hidden_size,), the condition c_t of this iteration.
            initial_conditioning_state: (batch_size, sequence_length, hidden_size), the step-size network's view of
                x_0 when the step sizes are conditioned on the initial state, else `None` (they then see x_t).
            step_size_network: the model's shared [`HyperSETStepSizeNetwork`].
            step_sizes: fixed (alpha, beta) instead of the step-size network (`config.step_size_type="fixed"`).
            depthwise_lora: the model's [`HyperSETDepthwiseLoRA`], if any; `iteration` (0-based) selects its deltas.
        Returns:
            The state x_{t+1} and, if `output_attentions`, the attention matrix.
        """
        if step_sizes is None:
            conditioning_state = initial_conditioning_state
            if conditioning_state is None:
                conditioning_state = step_size_network.conditioning_state(hidden_states)
            alpha, beta = step_size_network(time_condition, conditioning_state)
        else:
            alpha, beta = step_sizes
        attention_weight = feedforward_weight = None
        if depthwise_lora is not None:
            attention_weight, feedforward_weight = self.iteration_weights(depthwise_lora, iteration)
        attention_direction, attention = self.attention(hidden_states, attention_weight, output_attentions)
        hidden_states = hidden_states - alpha * attention_direction
        hidden_states = hidden_states + beta * self.feedforward(hidden_states, feedforward_weight)
        return hidden_states, (attention if output_attentions else None)

    def energies(
        self, hidden_states: torch.Tensor, depthwise_lora: HyperSETDepthwiseLoRA | None = None, iteration: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention and feedforward energies of a state, each of shape (batch_size,) (with the weights of
        `iteration` under depth-wise LoRA)."""
        attention_weight, feedforward_weight = self.iteration_weights(depthwise_lora, iteration)
        return (
            self.attention.energy(hidden_states, weight=attention_weight),
            self.feedforward.energy(hidden_states, weight=feedforward_weight),
        )


class HyperSETTransformerAttention(nn.Module):
    """Standard multi-head self-attention of the paper's Transformer baseline: separate bias-free query, key, value and
    output projections, softmax over keys, bidirectional."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.scaling = self.head_dim**-0.5
        hidden_size = config.hidden_size
        self.query = nn.Linear(hidden_size, hidden_size, bias=False)
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)
        self.value = nn.Linear(hidden_size, hidden_size, bias=False)
        self.output = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch_size, sequence_length, hidden_size) -> output of the same shape and the attention probabilities
        (batch_size, num_heads, sequence_length, sequence_length)."""
        batch_size, sequence_length, hidden_size = hidden_states.shape
        shape = (batch_size, sequence_length, self.num_heads, self.head_dim)
        query = self.query(hidden_states).view(shape).transpose(1, 2)
        key = self.key(hidden_states).view(shape).transpose(1, 2)
        value = self.value(hidden_states).view(shape).transpose(1, 2)
        attention = (torch.matmul(query, key.transpose(-1, -2)) * self.scaling).softmax(dim=-1)
        context = torch.matmul(attention, value).transpose(1, 2).reshape(batch_size, sequence_length, hidden_size)
        return self.output(context), attention


class HyperSETTransformerLayer(GradientCheckpointingLayer):
    """The paper's Transformer baseline layer (`config.layer_type="transformer"`), weight-tied across iterations like
    Hyper-SET but a plain pre-RMSNorm residual block without energy or step sizes:

        x <- x + attention(RMSNorm(x))
        x <- x + W_2 ReLU(W_1 RMSNorm(x))
    """

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

    def forward(
        self, hidden_states: torch.Tensor, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(batch_size, sequence_length, hidden_size) -> the next state and, if `output_attentions`, the attention
        probabilities."""
        attention_output, attention = self.attention(self.attention_norm(hidden_states))
        hidden_states = hidden_states + attention_output
        hidden_states = hidden_states + self.mlp(self.mlp_norm(hidden_states))
        return hidden_states, (attention if output_attentions else None)


class HyperSETEncoder(nn.Module):
    """`num_layers` distinct layers, each iterated `num_recurrences` times (layer-major order; the iteration index
    restarts at 1 for every layer). Hyper-SET layers share one step-size network (none with fixed step sizes) and,
    with depth-wise LoRA, one set of per-iteration weight deltas; the Transformer baseline
    (`config.layer_type="transformer"`) has neither.

    Two loops: the fixed-depth loop (default; in training mode the first `config.num_gradient_free_iterations`
    iterations of every layer run without gradient) and the adaptive-exit loop, in which every sample stops
    iterating once its relative energy or state change falls below a threshold."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.config = config
        self.is_energy_based = config.layer_type == "hyperset"
        # only the modules that exist are attributes (the baseline and fixed step sizes have no step-size network)
        if self.is_energy_based:
            if config.step_size_type == "learned":
                self.step_size_network = HyperSETStepSizeNetwork(config)
            if config.depthwise_lora_rank > 0:
                self.depthwise_lora = HyperSETDepthwiseLoRA(config)
            self.layers = nn.ModuleList([HyperSETLayer(config) for _ in range(config.num_layers)])
        else:
            self.layers = nn.ModuleList([HyperSETTransformerLayer(config) for _ in range(config.num_layers)])

    @property
    def step_size_network_or_none(self) -> HyperSETStepSizeNetwork | None:
        return getattr(self, "step_size_network", None)

    @property
    def depthwise_lora_or_none(self) -> HyperSETDepthwiseLoRA | None:
        return getattr(self, "depthwise_lora", None)

    def _iteration_inputs(self, hidden_states: torch.Tensor, num_recurrences: int):
        """Per-call inputs of the iterations: the time conditions c_1 ... c_T (or a list of `None` with fixed step
        sizes), the step-size network's view of x_0 (or `None`), the fixed step sizes (or `None`), the step-size
        network (or `None`) and the depth-wise LoRA module (or `None`)."""
        depthwise_lora = self.depthwise_lora_or_none
        if self.step_size_network_or_none is None:
            step_size = self.config.fixed_step_size
            return [None] * num_recurrences, None, (step_size, step_size), None, depthwise_lora
        time_conditions = self.step_size_network.time_conditions(
            num_recurrences, hidden_states.device, hidden_states.dtype
        )
        initial_conditioning_state = None
        if self.config.step_size_conditioning == "initial_state":
            initial_conditioning_state = self.step_size_network.conditioning_state(hidden_states)
        return time_conditions, initial_conditioning_state, None, self.step_size_network, depthwise_lora

    def _check_call(self, num_recurrences: int, output_energies: bool, adaptive_exit_criterion: str | None) -> int:
        """Validates a call; returns the number of gradient-free iterations of every layer."""
        if output_energies and not self.is_energy_based:
            raise ValueError(
                "`output_energies=True` needs an energy-based model; the Transformer baseline "
                f"(config.layer_type={self.config.layer_type!r}) has no energy."
            )
        if adaptive_exit_criterion == "energy" and not self.is_energy_based:
            raise ValueError(
                "adaptive exit on the energy needs an energy-based model; the Transformer baseline "
                f"(config.layer_type={self.config.layer_type!r}) has no energy: use adaptive_exit_criterion='state'."
            )
        depthwise_lora = self.depthwise_lora_or_none
        if depthwise_lora is not None and num_recurrences > depthwise_lora.num_iterations:
            raise ValueError(
                f"This model has depth-wise LoRA weight deltas for {depthwise_lora.num_iterations} iterations "
                f"(config.num_recurrences); it cannot run {num_recurrences}. Depth-wise LoRA models can run fewer "
                "iterations than they were built with, never more."
            )
        gradient_free = self.config.num_gradient_free_iterations if self.training and torch.is_grad_enabled() else 0
        if gradient_free and gradient_free >= num_recurrences:
            raise ValueError(
                f"config.num_gradient_free_iterations ({gradient_free}) must be smaller than the number of iterations "
                f"of a training forward ({num_recurrences}), or no iteration would receive a gradient."
            )
        return gradient_free

    def forward(
        self,
        hidden_states: torch.Tensor,
        num_recurrences: int,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        output_energies: bool = False,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str = "energy",
        adaptive_exit_min_recurrences: int = 1,
    ) -> HyperSETModelOutput:
        if adaptive_exit_threshold is not None:
            return self._forward_adaptive(
                hidden_states,
                num_recurrences,
                adaptive_exit_threshold,
                adaptive_exit_criterion,
                min_recurrences=adaptive_exit_min_recurrences,
                output_hidden_states=output_hidden_states,
                output_attentions=output_attentions,
                output_energies=output_energies,
            )
        gradient_free = self._check_call(num_recurrences, output_energies, None)
        iteration_inputs = self._iteration_inputs(hidden_states, num_recurrences) if self.is_energy_based else None
        depthwise_lora = self.depthwise_lora_or_none

        all_hidden_states = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        attention_energies, feedforward_energies = [], []
        for layer in self.layers:
            layer_energies = [layer.energies(hidden_states, depthwise_lora, 0)] if output_energies else None
            if gradient_free:  # truncated backpropagation: no graph for the first iterations
                with torch.no_grad():
                    hidden_states = self._iterate(
                        layer, hidden_states, range(gradient_free), iteration_inputs,
                        all_hidden_states, all_attentions, layer_energies,
                    )  # fmt: skip
            hidden_states = self._iterate(
                layer, hidden_states, range(gradient_free, num_recurrences), iteration_inputs,
                all_hidden_states, all_attentions, layer_energies,
            )  # fmt: skip
            if output_energies:
                attention_energies.append(torch.stack([energy[0] for energy in layer_energies], dim=1))
                feedforward_energies.append(torch.stack([energy[1] for energy in layer_energies], dim=1))

        energies = None
        if output_energies:
            energies = tuple(a + f for a, f in zip(attention_energies, feedforward_energies))
        return HyperSETModelOutput(
            last_hidden_state=hidden_states,
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
            energies=energies,
            attention_energies=tuple(attention_energies) if output_energies else None,
            feedforward_energies=tuple(feedforward_energies) if output_energies else None,
        )

    def _iterate(
        self, layer, hidden_states, iterations, iteration_inputs, all_hidden_states, all_attentions, layer_energies
    ) -> torch.Tensor:
        """Runs `layer` for the given iterations (0-based indices), appending to the output lists that are not None."""
        output_attentions = all_attentions is not None
        depthwise_lora = None
        if iteration_inputs is not None:
            time_conditions, initial_conditioning_state, step_sizes, step_size_network, depthwise_lora = (
                iteration_inputs
            )
        for iteration in iterations:
            if iteration_inputs is not None:
                hidden_states, attention = layer(
                    hidden_states,
                    time_conditions[iteration],
                    initial_conditioning_state,
                    step_size_network=step_size_network,
                    output_attentions=output_attentions,
                    step_sizes=step_sizes,
                    depthwise_lora=depthwise_lora,
                    iteration=iteration,
                )
            else:
                hidden_states, attention = layer(hidden_states, output_attentions=output_attentions)
            if all_hidden_states is not None:
                all_hidden_states.append(hidden_states)
            if output_attentions:
                all_attentions.append(attention)
            if layer_energies is not None:
                layer_energies.append(layer.energies(hidden_states, depthwise_lora, iteration))
        return hidden_states

    @staticmethod
    def _relative_change(
        layer, state, new_state, use_energy, everyone, active, depthwise_lora, iteration, previous_energy, next_energy
    ) -> torch.Tensor:
        """Per-sample relative change of one iteration of the active samples, shape `(num_active,)`."""
        tiny = torch.finfo(state.dtype).tiny
        if not use_energy:
            change = torch.linalg.vector_norm(new_state - state, dim=(1, 2))
            return change / torch.linalg.vector_norm(state, dim=(1, 2)).clamp_min(tiny)
        if depthwise_lora is not None:  # compare under the same (iteration t) weights
            previous_energy = sum(layer.energies(state, depthwise_lora, iteration))
        elif not everyone:
            previous_energy = previous_energy.index_select(0, active)
        return (next_energy - previous_energy).abs() / previous_energy.abs().clamp_min(tiny)

    def _forward_adaptive(
        self,
        hidden_states: torch.Tensor,
        num_recurrences: int,
        threshold: float,
        criterion: str,
        min_recurrences: int = 1,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        output_energies: bool = False,
    ) -> HyperSETModelOutput:
        """Adaptive test-time compute. Every layer runs at most `num_recurrences` iterations; a sample leaves the
        layer (its state is frozen and it is no longer computed) after the first iteration t whose relative change

            energy:  |E(x_t) - E(x_{t-1})| / |E(x_{t-1})|      (E = attention + feedforward energy of the sample)
            state:   ||x_t - x_{t-1}|| / ||x_{t-1}||           (Frobenius norm over the sample's tokens)

        is below `threshold` (so 0 never exits), but not before `min_recurrences` iterations of the layer. Only the
        samples still running are computed, so the cost follows the iterations used. Every sample is processed
        independently of the others in the batch."""
        gradient_free = self._check_call(num_recurrences, output_energies, criterion)
        batch_size = hidden_states.shape[0]
        device = hidden_states.device
        use_energy = criterion == "energy"
        # the energy criterion at iteration t >= min_recurrences needs the energies from iteration min_recurrences - 1
        first_energy_iteration = 0 if output_energies else max(min_recurrences - 2, 0)
        depthwise_lora = self.depthwise_lora_or_none
        if self.is_energy_based:
            time_conditions, initial_conditioning_state, step_sizes, step_size_network, _ = self._iteration_inputs(
                hidden_states, num_recurrences
            )

        iterations_used = torch.zeros(batch_size, dtype=torch.long, device=device)
        all_hidden_states = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        attention_energies, feedforward_energies = [], []
        for layer in self.layers:
            active = torch.arange(batch_size, device=device)  # indices of the samples still iterating
            num_active = batch_size
            last_attention = None
            if output_energies or (use_energy and min_recurrences <= 1):
                with nullcontext() if output_energies else torch.no_grad():
                    attention_energy, feedforward_energy = layer.energies(hidden_states, depthwise_lora, 0)
                layer_energies = [(attention_energy, feedforward_energy)]
            for iteration in range(num_recurrences):
                if num_active > 0:
                    everyone = num_active == batch_size
                    state = hidden_states if everyone else hidden_states.index_select(0, active)
                    with torch.no_grad() if iteration < gradient_free else nullcontext():
                        if self.is_energy_based:
                            conditioning = initial_conditioning_state
                            if conditioning is not None and not everyone:
                                conditioning = conditioning.index_select(0, active)
                            new_state, attention = layer(
                                state,
                                time_conditions[iteration],
                                conditioning,
                                step_size_network=step_size_network,
                                output_attentions=output_attentions,
                                step_sizes=step_sizes,
                                depthwise_lora=depthwise_lora,
                                iteration=iteration,
                            )
                        else:
                            new_state, attention = layer(state, output_attentions=output_attentions)
                    need_energies = output_energies or (use_energy and iteration >= first_energy_iteration)
                    may_exit = iteration + 1 >= min_recurrences
                    if need_energies:
                        # with gradient only when the energies are returned from an iteration that has one
                        keep_graph = output_energies and iteration >= gradient_free
                        with nullcontext() if keep_graph else torch.no_grad():
                            new_attention_energy, new_feedforward_energy = layer.energies(
                                new_state, depthwise_lora, iteration
                            )
                    iterations_used = iterations_used.index_add(0, active, torch.ones_like(active))
                    if may_exit:
                        with torch.no_grad():
                            change = self._relative_change(
                                layer, state, new_state, use_energy, everyone, active, depthwise_lora, iteration,
                                previous_energy=attention_energy + feedforward_energy if use_energy else None,
                                next_energy=new_attention_energy + new_feedforward_energy if use_energy else None,
                            )  # fmt: skip
                    if everyone:
                        hidden_states = new_state
                        if need_energies:
                            attention_energy, feedforward_energy = new_attention_energy, new_feedforward_energy
                        if output_attentions:
                            last_attention = attention
                    else:
                        hidden_states = hidden_states.index_copy(0, active, new_state)
                        if need_energies:
                            attention_energy = attention_energy.index_copy(0, active, new_attention_energy)
                            feedforward_energy = feedforward_energy.index_copy(0, active, new_feedforward_energy)
                        if output_attentions:
                            last_attention = last_attention.index_copy(0, active, attention)
                    if may_exit:
                        active = active[~(change < threshold)]  # NaN keeps iterating
                        num_active = active.numel()
                if output_hidden_states:
                    all_hidden_states.append(hidden_states)
                if output_attentions:
                    all_attentions.append(last_attention)
                if output_energies:
                    layer_energies.append((attention_energy, feedforward_energy))
            if output_energies:
                attention_energies.append(torch.stack([energy[0] for energy in layer_energies], dim=1))
                feedforward_energies.append(torch.stack([energy[1] for energy in layer_energies], dim=1))

        return HyperSETModelOutput(
            last_hidden_state=hidden_states,
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
            energies=tuple(map(torch.add, attention_energies, feedforward_energies)) if output_energies else None,
            attention_energies=tuple(attention_energies) if output_energies else None,
            feedforward_energies=tuple(feedforward_energies) if output_energies else None,
            iterations_used=iterations_used,
        )


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
    _no_split_modules = ["HyperSETEmbeddings", "HyperSETSudokuEmbeddings", "HyperSETLayer", "HyperSETTransformerLayer"]
    # Bi-softmax attention needs a column softmax as well: eager only.
    _supports_sdpa = False
    _supports_flash_attn = False
    _supports_flex_attn = False
    _can_record_outputs = None

    @torch.no_grad()
    def _init_weights(self, module):
        # Linear / Conv2d: normal(initializer_range) and zero bias; LayerNorm / RMSNorm: unit gain, zero bias.
        super()._init_weights(module)
        if isinstance(module, HyperSETEmbeddings):
            init.normal_(module.cls_token, mean=0.0, std=1.0)  # reference: torch.randn
            if module.mask_token is not None:
                init.zeros_(module.mask_token)
        elif isinstance(module, HyperSETSudokuEmbeddings):
            init.normal_(module.position_embeddings, mean=0.0, std=self.config.initializer_range)
        elif isinstance(module, HyperSETZeroInitLinear):
            # Zero initialisation (paper App. D, ReZero style): alpha = beta = 0, every iteration starts as the identity.
            init.zeros_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, HyperSETDepthwiseLoRA):
            # the reference initialises both factors N(0, 0.02) (neither is zero)
            for factor in (module.attention_up, module.attention_down, module.feedforward_up, module.feedforward_down):
                init.normal_(factor, mean=0.0, std=DEPTHWISE_LORA_INIT_STD)


class HyperSETModel(HyperSETPreTrainedModel):
    """The bare Hyper-SET encoder: the input embeddings, then the recurrent energy descent. Outputs the raw final token
    states (no final norm) and, on request, every intermediate state, the bi-softmax matrices and the energies of
    every iteration.

    With `config.input_type="image"` the input is `pixel_values` (patch embeddings + CLS + fixed sinusoidal
    positions); with `config.input_type="sudoku"` it is `input_ids` of shape `(batch_size, 81)` (digit embeddings +
    learned cell positions, no CLS token)."""

    def __init__(self, config: HyperSETConfig, use_mask_token: bool = False):
        r"""
        use_mask_token (`bool`, *optional*, defaults to `False`):
            Whether to learn a mask token that replaces the patches marked in `bool_masked_pos` (images only).
        """
        super().__init__(config)
        if config.input_type == "sudoku":
            if use_mask_token:
                raise ValueError("`use_mask_token=True` is for image inputs; this config has input_type='sudoku'.")
            self.main_input_name = "input_ids"
            self.embeddings = HyperSETSudokuEmbeddings(config)
        else:
            self.embeddings = HyperSETEmbeddings(config, use_mask_token=use_mask_token)
        self.encoder = HyperSETEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        if self.config.input_type == "sudoku":
            return self.embeddings.digit_embeddings
        return self.embeddings.patch_embeddings

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.BoolTensor | None = None,
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        output_energies: bool | None = None,
        input_ids: torch.LongTensor | None = None,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str | None = None,
        adaptive_exit_min_recurrences: int | None = None,
    ) -> HyperSETModelOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`):
                Normalised images (see [`transformers.ViTImageProcessor`]); for `input_type="image"`.
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*):
                Patches to replace by the mask token (1) or keep (0); needs `use_mask_token=True`.
            num_recurrences (`int`, *optional*):
                Iterations of every layer for this call (the maximum with adaptive exit); defaults to
                `config.num_recurrences`, or in training mode to a draw from [`config.training_num_recurrences_min`,
                `config.training_num_recurrences_max`] when those are set. More iterations than in training run the
                same energy descent further (test-time extrapolation; not with depth-wise LoRA).
            interpolate_pos_encoding (`bool`, *optional*):
                Accept images of another size divisible by the patch size (the fixed sinusoidal positions are
                computed for the new token count).
            output_hidden_states (`bool`, *optional*):
                Return the initial state and the state after every iteration.
            output_attentions (`bool`, *optional*):
                Return the bi-softmax matrix of every iteration.
            output_energies (`bool`, *optional*):
                Return the attention, feedforward and total energy of the initial state and after every iteration.
            input_ids (`torch.LongTensor` of shape `(batch_size, 81)`):
                Sudoku cells in row-major order, 0 = blank, 1-9 = given digit; for `input_type="sudoku"`.
            adaptive_exit_threshold (`float`, *optional*):
                Adaptive test-time compute for this call (defaults to `config.adaptive_exit_threshold`; `None` = fixed
                depth): each sample stops after the first iteration whose relative change is below the threshold and
                `iterations_used` reports how many iterations every sample ran. 0 reproduces the fixed depth.
            adaptive_exit_criterion (`str`, *optional*):
                `"energy"` (relative change of the total energy) or `"state"` (relative change of the state); defaults
                to `config.adaptive_exit_criterion`.
            adaptive_exit_min_recurrences (`int`, *optional*):
                Iterations of every layer before a sample may exit; defaults to
                `config.adaptive_exit_min_recurrences`.

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETModel

        >>> model = HyperSETModel(HyperSETConfig(hidden_size=64, num_attention_heads=4, intermediate_size=64))
        >>> outputs = model(torch.randn(2, 3, 32, 32), num_recurrences=24, output_energies=True)
        >>> outputs.last_hidden_state.shape, outputs.energies[0].shape
        (torch.Size([2, 65, 64]), torch.Size([2, 25]))

        ```"""
        is_sudoku = self.config.input_type == "sudoku"
        if is_sudoku and (input_ids is None or pixel_values is not None or bool_masked_pos is not None):
            raise ValueError(
                "This is a Sudoku model (config.input_type='sudoku'): pass `input_ids` of shape (batch_size, 81) and "
                "no `pixel_values` / `bool_masked_pos`."
            )
        if not is_sudoku and (pixel_values is None or input_ids is not None):
            raise ValueError("This is an image model (config.input_type='image'): pass `pixel_values`, not `input_ids`.")
        if num_recurrences is None:
            num_recurrences = self.config.num_recurrences
            if self.training and self.config.training_num_recurrences_min is not None:
                # sample the depth of this training step (uniform, inclusive bounds)
                low, high = self.config.training_num_recurrences_min, self.config.training_num_recurrences_max
                num_recurrences = int(torch.randint(low, high + 1, ()).item())
        num_recurrences = check_num_recurrences(num_recurrences)
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        if adaptive_exit_threshold is None:
            adaptive_exit_threshold = self.config.adaptive_exit_threshold
        if adaptive_exit_criterion is None:
            adaptive_exit_criterion = self.config.adaptive_exit_criterion
        if adaptive_exit_min_recurrences is None:
            adaptive_exit_min_recurrences = self.config.adaptive_exit_min_recurrences
        check_adaptive_exit(adaptive_exit_threshold, adaptive_exit_criterion, adaptive_exit_min_recurrences)

        if is_sudoku:
            embeddings = self.embeddings(input_ids)
        else:
            embeddings = self.embeddings(
                pixel_values, bool_masked_pos=bool_masked_pos, interpolate_pos_encoding=bool(interpolate_pos_encoding)
            )
        outputs = self.encoder(
            embeddings,
            num_recurrences=num_recurrences,
            output_hidden_states=bool(output_hidden_states),
            output_attentions=bool(output_attentions),
            output_energies=bool(output_energies),
            adaptive_exit_threshold=adaptive_exit_threshold,
            adaptive_exit_criterion=adaptive_exit_criterion,
            adaptive_exit_min_recurrences=adaptive_exit_min_recurrences,
        )
        # the CLS state for images; Sudoku has no CLS token
        outputs.pooler_output = None if is_sudoku else outputs.last_hidden_state[:, 0]
        return outputs


class HyperSETForImageClassification(HyperSETPreTrainedModel):
    """Hyper-SET with a classifier on the final CLS state: LayerNorm -> Linear (the paper's readout). Single-label,
    multi-label and regression losses follow `config.problem_type` as in every transformers classifier."""

    def __init__(self, config: HyperSETConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.hyperset = HyperSETModel(config)
        self.classifier_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        output_energies: bool | None = None,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str | None = None,
        adaptive_exit_min_recurrences: int | None = None,
    ) -> HyperSETImageClassifierOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            labels (`torch.LongTensor` of shape `(batch_size,)` or `torch.FloatTensor` of shape
                `(batch_size, num_labels)`, *optional*): class indices (single label), multi-hot targets
                (multi-label) or regression targets.
            num_recurrences, interpolate_pos_encoding, output_hidden_states, output_attentions, output_energies,
            adaptive_exit_threshold, adaptive_exit_criterion, adaptive_exit_min_recurrences:
                as in [`HyperSETModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import HyperSETConfig, HyperSETForImageClassification

        >>> config = HyperSETConfig(hidden_size=64, num_attention_heads=4, intermediate_size=64, num_labels=10)
        >>> model = HyperSETForImageClassification(config)
        >>> model(torch.randn(2, 3, 32, 32), labels=torch.tensor([1, 7])).logits.shape
        torch.Size([2, 10])

        ```"""
        outputs = self.hyperset(
            pixel_values,
            num_recurrences=num_recurrences,
            interpolate_pos_encoding=interpolate_pos_encoding,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            output_energies=output_energies,
            adaptive_exit_threshold=adaptive_exit_threshold,
            adaptive_exit_criterion=adaptive_exit_criterion,
            adaptive_exit_min_recurrences=adaptive_exit_min_recurrences,
        )
        logits = self.classifier(self.classifier_norm(outputs.pooler_output))
        loss = self.loss_function(labels, logits, self.config) if labels is not None else None
        return HyperSETImageClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            energies=outputs.energies,
            attention_energies=outputs.attention_energies,
            feedforward_energies=outputs.feedforward_energies,
            iterations_used=outputs.iterations_used,
        )


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
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.BoolTensor | None = None,
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        output_energies: bool | None = None,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str | None = None,
        adaptive_exit_min_recurrences: int | None = None,
    ) -> HyperSETMaskedImageModelingOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): patches to mask;
                the loss is computed on them (no loss without a mask).
            num_recurrences, interpolate_pos_encoding, output_hidden_states, output_attentions, output_energies,
            adaptive_exit_threshold, adaptive_exit_criterion, adaptive_exit_min_recurrences:
                as in [`HyperSETModel.forward`].

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
        outputs = self.hyperset(
            pixel_values,
            bool_masked_pos=bool_masked_pos,
            num_recurrences=num_recurrences,
            interpolate_pos_encoding=interpolate_pos_encoding,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            output_energies=output_energies,
            adaptive_exit_threshold=adaptive_exit_threshold,
            adaptive_exit_criterion=adaptive_exit_criterion,
            adaptive_exit_min_recurrences=adaptive_exit_min_recurrences,
        )
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

        return HyperSETMaskedImageModelingOutput(
            loss=loss,
            reconstruction=reconstruction,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            energies=outputs.energies,
            attention_energies=outputs.attention_energies,
            feedforward_energies=outputs.feedforward_energies,
            iterations_used=outputs.iterations_used,
        )


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
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        num_recurrences: int | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        output_energies: bool | None = None,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str | None = None,
        adaptive_exit_min_recurrences: int | None = None,
    ) -> HyperSETSudokuOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, 81)`):
                The puzzles, cells in row-major order, 0 = blank, 1-9 = given digit.
            labels (`torch.LongTensor` of shape `(batch_size, 81)`, *optional*):
                Solution digit minus one (0-8) for every blank cell and -100 for the givens (see
                `hyperset_hf.sudoku_data.to_model_inputs`).
            num_recurrences, output_hidden_states, output_attentions, output_energies, adaptive_exit_threshold,
            adaptive_exit_criterion, adaptive_exit_min_recurrences:
                as in [`HyperSETModel.forward`].

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
        outputs = self.hyperset(
            input_ids=input_ids,
            num_recurrences=num_recurrences,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            output_energies=output_energies,
            adaptive_exit_threshold=adaptive_exit_threshold,
            adaptive_exit_criterion=adaptive_exit_criterion,
            adaptive_exit_min_recurrences=adaptive_exit_min_recurrences,
        )
        logits = self.classifier(self.readout_norm(outputs.last_hidden_state))

        loss = None
        if labels is not None:
            if tuple(labels.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"`labels` must have the shape of `input_ids` {tuple(input_ids.shape)}, got {tuple(labels.shape)}."
                )
            bad = (labels != -100) & ((labels < 0) | (labels >= SUDOKU_NUM_DIGITS))
            if bad.any():
                board, cell = (int(i) for i in bad.nonzero()[0])
                raise ValueError(
                    f"`labels` must be a digit minus one (0-8) or -100 (ignored); board {board}, cell {cell} has "
                    f"{int(labels[board, cell])}."
                )
            loss = F.cross_entropy(
                logits.reshape(-1, SUDOKU_NUM_DIGITS).float(), labels.reshape(-1).to(logits.device), ignore_index=-100
            )

        return HyperSETSudokuOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            energies=outputs.energies,
            attention_energies=outputs.attention_energies,
            feedforward_energies=outputs.feedforward_energies,
            iterations_used=outputs.iterations_used,
        )

    @torch.no_grad()
    def solve(
        self,
        input_ids: torch.LongTensor,
        num_recurrences: int | None = None,
        adaptive_exit_threshold: float | None = None,
        adaptive_exit_criterion: str | None = None,
        adaptive_exit_min_recurrences: int | None = None,
    ) -> torch.LongTensor:
        """Fills the blanks with the most likely digits and keeps the givens: `(batch_size, 81)` puzzles ->
        `(batch_size, 81)` grids of digits 1-9 (with adaptive exit when a threshold is given)."""
        logits = self(
            input_ids=input_ids,
            num_recurrences=num_recurrences,
            adaptive_exit_threshold=adaptive_exit_threshold,
            adaptive_exit_criterion=adaptive_exit_criterion,
            adaptive_exit_min_recurrences=adaptive_exit_min_recurrences,
        ).logits
        predicted = logits.argmax(dim=-1) + 1
        return torch.where(input_ids > 0, input_ids, predicted)


# Saved folders carry this file and `configuration_hyperset.py` so they load with `trust_remote_code=True`.
HyperSETConfig.register_for_auto_class()
HyperSETModel.register_for_auto_class("AutoModel")
HyperSETForImageClassification.register_for_auto_class("AutoModelForImageClassification")
HyperSETForMaskedImageModeling.register_for_auto_class("AutoModelForMaskedImageModeling")
HyperSETForSudoku.register_for_auto_class("AutoModelForTokenClassification")


__all__ = [
    "HyperSETForImageClassification",
    "HyperSETForMaskedImageModeling",
    "HyperSETForSudoku",
    "HyperSETModel",
    "HyperSETPreTrainedModel",
]
