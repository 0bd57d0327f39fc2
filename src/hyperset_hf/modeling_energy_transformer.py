# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Energy Transformer (Hoover, Liang, Pham, Panda, Strobelt, Chau, Zaki & Krotov, "Energy Transformer",
NeurIPS 2023, arXiv:2302.07253).

An ET block is a dynamical system on the token states x (batch_size, sequence_length, D). Every step normalises the
tokens with an EnergyLayerNorm, g = LN(x), and descends the energy of g (paper Eq. 3-6):

    E(g) = E_attention(g) + E_hopfield(g)

    E_attention(g) = -(1/beta) sum_h sum_C log sum_{B (!= C)} exp(beta Q_hC . K_hB),   Q_h = g W^Q_h^T, K_h = g W^K_h^T
    E_hopfield(g)  = -1/2 sum_B sum_mu ReLU(g_B . xi_mu)^2            (or -(1/beta_m) sum_B logsumexp_mu(beta_m g_B xi))

    x <- x - alpha * dE/dg                                            (the gradient w.r.t. g, applied to x; no leak)

The gradient is computed in closed form (no autograd; `torch.inference_mode` works) with BOTH attention terms, the
token as a query and as a key, from one softmax over the keys P_h = softmax(beta Q_h K_h^T):

    dE_attention/dg = - sum_h [ P_h K_h W^Q_h + P_h^T Q_h W^K_h ]
    dE_hopfield/dg  = - ReLU(g xi) xi^T                                (softmax memories: - softmax(beta_m g xi) xi^T)

The energy decreases along the continuous dynamics because the Jacobian of the EnergyLayerNorm is symmetric positive
semi-definite when its scalar gain gamma is >= 0 (paper Eq. 7).

Graphs ([`EnergyTransformerForNodeClassification`], the paper's graph anomaly detection): the tokens are the nodes and
the attention energy is the SAME energy with each node's log-sum-exp restricted to its in-neighbours N(i) (the sources
j of the edges j -> i, plus a self-loop), summed over the edge types r (each with its own W^Q_r, W^K_r):

    E_attention(g) = -(1/beta) sum_r sum_h sum_i log sum_{j in N_r(i)} exp(beta Q_rhi . K_rhj)
    dE_attention/dg_n = - sum_r sum_h [ sum_{j in N_r(n)} a_rhnj W^Q_rh^T K_rhj          (n as a query)
                                        + sum_{i: n in N_r(i)} a_rhin W^K_rh^T Q_rhi ]   (n as a key, at the source)

with a_rhij the softmax of beta Q_rhi . K_rhj over j in N_r(i). On a complete graph it is the image model's energy. The
neighbourhood sums are `index_add_` / `scatter_reduce` over the edge list (no dense N x N matrix, no extra dependency).

The steps run in the package's one loop, `recurrence.iterate_recurrence`; this file defines the step
(`EnergyTransformerEncoder.update`, `EnergyTransformerGraphEncoder.update`) and the energies beside it.

This file imports only torch, transformers, `configuration_energy_transformer`, `input_checks` (the input validation
shared with Hyper-SET) and `recurrence` (the loop), so that it also works as Hub remote code (`save_pretrained`
copies all four).
"""

import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, Unpack

import torch
from torch import nn
from torch.nn import functional as F
from transformers import initialization as init
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    ImageClassifierOutput,
    MaskedImageModelingOutput,
    TokenClassifierOutput,
)
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging
from transformers.utils.generic import can_return_tuple
from transformers.utils.import_utils import is_torchdynamo_compiling
from transformers.utils.output_capturing import OutputRecorder, capture_outputs

from .configuration_energy_transformer import EnergyTransformerConfig
from .input_checks import (
    RENAMED_WEIGHTS,
    check_mask,
    embed_patches,
    load_checked,
    shape_of,
)
from .recurrence import (
    RecurrentEncoder,
    RecurrentModelKwargs,
    RecurrentStep,
    energy_fields,
    per_iteration_fields,
    recurrence_options,
)


logger = logging.get_logger(__name__)


# ---------------------------------------------------------------------------------------------------------------------
# Output classes
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class EnergyTransformerModelOutput(BaseModelOutputWithPooling):
    r"""
    Output of [`EnergyTransformerModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            Token states x after the last step of the last block (not normalised; the heads apply the
            EnergyLayerNorm or a LayerNorm).
        pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`):
            State of the CLS token after the last step.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            The initial state followed by the state after every step of every block: `num_layers * num_recurrences
            + 1` tensors of shape `(batch_size, sequence_length, hidden_size)`.
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned when `output_attentions=True`):
            The attention probabilities P (softmax over the keys) of every step: `num_layers * num_recurrences`
            tensors of shape `(batch_size, num_heads, sequence_length, sequence_length)`.
        energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Total energy E(LN(x)) = `attention_energies + feedforward_energies`, one tensor per block of shape
            `(batch_size, num_recurrences + 1)`: the energy of the block's input state, then after every step.
        attention_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Attention energy E_attention (paper Eq. 3), one tensor per block of shape `(batch_size, num_recurrences +
            1)`.
        feedforward_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Hopfield-network (memory) energy E_hopfield, ET's counterpart of the feedforward, one tensor per block of
            shape `(batch_size, num_recurrences + 1)`. Named as in the Hyper-SET outputs.
        iterations_used (`torch.LongTensor` of shape `(batch_size,)`, *optional*, returned with adaptive exit):
            The steps every sample ran over all blocks.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class EnergyTransformerImageClassifierOutput(ImageClassifierOutput):
    r"""
    Output of [`EnergyTransformerForImageClassification`]: `loss`, `logits` of shape `(batch_size, num_labels)`,
    `hidden_states` and `attentions` as in [`EnergyTransformerModelOutput`], plus the per-block `energies`,
    `attention_energies` and `feedforward_energies` of shape `(batch_size, num_recurrences + 1)` when
    `output_energies=True`.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class EnergyTransformerMaskedImageModelingOutput(MaskedImageModelingOutput):
    r"""
    Output of [`EnergyTransformerForMaskedImageModeling`]: `loss` (`config.reconstruction_loss` on the selected
    patches), `reconstruction` of shape `(batch_size, num_channels, height, width)`, `hidden_states` and `attentions`
    as in [`EnergyTransformerModelOutput`], plus the per-block `energies`, `attention_energies` and
    `feedforward_energies` of shape `(batch_size, num_recurrences + 1)` when `output_energies=True`.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None
    iterations_used: torch.LongTensor | None = None


@dataclass
class EnergyTransformerNodeClassifierOutput(TokenClassifierOutput):
    r"""
    Output of [`EnergyTransformerForNodeClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Cross-entropy over the labelled nodes (label -100: left out), weighted by `config.class_weights`.
        logits (`torch.FloatTensor` of shape `(num_nodes, num_labels)`):
            Classification scores of every node (before softmax).
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            The embedded input x_0 followed by the node states after every step of every block: `num_layers *
            num_recurrences + 1` tensors of shape `(num_nodes, hidden_size)`.
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned when `output_attentions=True`):
            The attention weights a of every step, one per attention edge: `num_layers * num_recurrences` tensors of
            shape `(num_attention_edges, num_heads)`. The attention edges are the columns of `edge_index`, followed
            (with `config.add_self_loops`) by one self-loop per node for edge type 0, then for type 1, ...; a
            self-loop of `edge_index` replaced by an added one has weight 0.
        energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            Total energy E(LN(x)) of the whole graph (a sum over nodes, so over the graphs of a disjoint union), one
            tensor per block of shape `(num_recurrences + 1,)`: the block's input state, then after every step.
        attention_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            The graph attention energy, one tensor per block of shape `(num_recurrences + 1,)`.
        feedforward_energies (`tuple(torch.FloatTensor)`, *optional*, returned when `output_energies=True`):
            The Hopfield-network energy, one tensor per block of shape `(num_recurrences + 1,)`.
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None


# ---------------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------------


def patchify(pixel_values: torch.Tensor, patch_size: int) -> torch.Tensor:
    """`(batch_size, num_channels, height, width)` -> `(batch_size, num_patches, num_channels * patch_size**2)`,
    patches in row-major order, each flattened channel-first ("c h w", as the official code)."""
    batch_size, num_channels, height, width = pixel_values.shape
    patches = pixel_values.reshape(
        batch_size, num_channels, height // patch_size, patch_size, width // patch_size, patch_size
    )
    patches = patches.permute(0, 2, 4, 1, 3, 5)
    return patches.reshape(batch_size, (height // patch_size) * (width // patch_size), -1)


def unpatchify(patches: torch.Tensor, patch_size: int, num_channels: int, height: int, width: int) -> torch.Tensor:
    """Inverse of [`patchify`]: `(batch_size, num_patches, num_channels * patch_size**2)` -> images."""
    batch_size = patches.shape[0]
    grid_height, grid_width = height // patch_size, width // patch_size
    images = patches.reshape(batch_size, grid_height, grid_width, num_channels, patch_size, patch_size)
    return images.permute(0, 3, 1, 4, 2, 5).reshape(batch_size, num_channels, height, width)


def _stable_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half-precision inputs (softmax / log-sum-exp statistics), otherwise the input dtype."""
    return torch.promote_types(dtype, torch.float32)


# ---------------------------------------------------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------------------------------------------------


class EnergyTransformerPatchEmbeddings(nn.Module):
    """Cuts images into patches (channel-first inside a patch) and embeds them with one Linear layer with bias:
    `(batch_size, num_channels, height, width)` -> `(batch_size, num_patches, hidden_size)`."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.patch_size = config.patch_size
        self.projection = nn.Linear(config.num_channels * config.patch_size**2, config.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projection(patchify(pixel_values, self.patch_size))


class EnergyTransformerEmbeddings(nn.Module):
    """Patch embeddings; masked patches REPLACED by a learned mask token; a learned CLS token prepended; learned
    absolute position embeddings added (official image model, spec steps 2-4)."""

    def __init__(self, config: EnergyTransformerConfig, use_mask_token: bool = False):
        super().__init__()
        self.config = config
        self.patch_embeddings = EnergyTransformerPatchEmbeddings(config)
        num_patches = (config.image_size // config.patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None
        self.position_embeddings = nn.Parameter(torch.zeros(1, num_patches + 1, config.hidden_size))

    def interpolate_pos_encoding(self, height: int, width: int) -> torch.Tensor:
        """Position embeddings for a `height x width` image: the learned patch grid resized bicubically (as ViT), the
        CLS position unchanged. Shape `(1, 1 + num_patches, hidden_size)`."""
        patch_size = self.config.patch_size
        grid_height, grid_width = height // patch_size, width // patch_size
        num_positions = self.position_embeddings.shape[1] - 1
        side = int(math.sqrt(num_positions))
        if grid_height == side and grid_width == side:
            return self.position_embeddings
        class_position = self.position_embeddings[:, :1]
        patch_positions = self.position_embeddings[:, 1:]
        dtype = patch_positions.dtype
        patch_positions = patch_positions.reshape(1, side, side, -1).permute(0, 3, 1, 2).to(torch.float32)
        patch_positions = F.interpolate(
            patch_positions, size=(grid_height, grid_width), mode="bicubic", align_corners=False
        )
        patch_positions = patch_positions.to(dtype).permute(0, 2, 3, 1).reshape(1, grid_height * grid_width, -1)
        return torch.cat((class_position, patch_positions), dim=1)

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        interpolate_pos_encoding: bool = False,
    ) -> torch.Tensor:
        embeddings = embed_patches(self, pixel_values, bool_masked_pos, interpolate_pos_encoding)
        batch_size = embeddings.shape[0]
        embeddings = torch.cat((self.cls_token.expand(batch_size, -1, -1), embeddings), dim=1)
        if interpolate_pos_encoding:
            positions = self.interpolate_pos_encoding(pixel_values.shape[2], pixel_values.shape[3])
        else:
            positions = self.position_embeddings
        return embeddings + positions


# ---------------------------------------------------------------------------------------------------------------------
# The energy: EnergyLayerNorm, multi-head energy attention, Hopfield network
# ---------------------------------------------------------------------------------------------------------------------


class EnergyTransformerLayerNorm(nn.Module):
    """EnergyLayerNorm (paper Eq. 1-2): per token, g = gamma (x - mean(x)) / sqrt(var(x) + eps) + delta with a SCALAR
    gain gamma and a per-dimension bias delta. g is the gradient of the Lagrangian L(x) = D gamma sigma(x) + delta.x,
    whose Hessian is symmetric and positive semi-definite iff gamma >= 0; with `config.nonnegative_gamma` the gain
    used is |gamma|."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.eps = config.layer_norm_eps
        self.nonnegative_gamma = config.nonnegative_gamma
        self.gamma = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(config.hidden_size))

    def effective_gamma(self) -> torch.Tensor:
        return self.gamma.abs() if self.nonnegative_gamma else self.gamma

    def standard_deviation(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centered = hidden_states - hidden_states.mean(dim=-1, keepdim=True)
        return centered, torch.sqrt(centered.square().mean(dim=-1, keepdim=True) + self.eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(..., hidden_size) -> g of the same shape and dtype (statistics in float32 for half precision)."""
        dtype = hidden_states.dtype
        centered, sigma = self.standard_deviation(hidden_states.to(_stable_dtype(dtype)))
        normalized = self.effective_gamma().to(sigma.dtype) * centered / sigma + self.bias.to(sigma.dtype)
        return normalized.to(dtype)

    def lagrangian(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """L(x) = D gamma sigma(x) + sum_j delta_j x_j per token, shape `(...)`; its gradient is `forward(x)`."""
        _, sigma = self.standard_deviation(hidden_states)
        return hidden_states.shape[-1] * self.effective_gamma() * sigma.squeeze(-1) + hidden_states @ self.bias


class EnergyTransformerAttention(nn.Module):
    """Multi-head energy attention (paper Eq. 3): key and query matrices W^K, W^Q of shape (heads, head_dim,
    hidden_size), no value matrix and no biases; the energy is a negative log-sum-exp over the keys."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.scaling = config.attention_scaling
        self.exclude_self_attention = config.exclude_self_attention
        self.query_weight = nn.Parameter(torch.empty(config.num_attention_heads, config.head_dim, config.hidden_size))
        self.key_weight = nn.Parameter(torch.empty(config.num_attention_heads, config.head_dim, config.hidden_size))

    def project(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (batch_size, sequence_length, hidden_size) -> queries and keys, each (batch_size, num_heads,
        sequence_length, head_dim)."""
        batch_size, sequence_length, hidden_size = normalized.shape
        weight = torch.cat((self.query_weight, self.key_weight), dim=0).reshape(-1, hidden_size)
        projected = torch.matmul(normalized, weight.to(normalized.dtype).t())
        projected = projected.view(batch_size, sequence_length, 2 * self.num_heads, self.head_dim).transpose(1, 2)
        return projected[:, : self.num_heads], projected[:, self.num_heads :]

    def scores_and_log_partition(
        self, query: torch.Tensor, key: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores beta Q K^T (batch_size, num_heads, queries, keys), with -inf on the diagonal when self-attention is
        excluded, in float32 or wider, and their log-sum-exp over the keys (batch_size, num_heads, queries)."""
        scores = torch.matmul(query, key.transpose(-1, -2)).to(_stable_dtype(query.dtype)) * self.scaling
        if self.exclude_self_attention:
            sequence_length = scores.shape[-1]
            if sequence_length < 2:
                raise ValueError("`exclude_self_attention=True` needs at least 2 tokens: a lone token has no keys.")
            diagonal = torch.eye(sequence_length, dtype=torch.bool, device=scores.device)
            scores = scores.masked_fill(diagonal, float("-inf"))
        return scores, torch.logsumexp(scores, dim=-1)

    def energy(self, normalized: torch.Tensor) -> torch.Tensor:
        """E_attention = -(1/beta) sum_{h,C} logsumexp_B(beta Q_hC . K_hB), shape `(batch_size,)`."""
        query, key = self.project(normalized)
        _, log_partition = self.scores_and_log_partition(query, key)
        return -log_partition.sum(dim=(1, 2)) / self.scaling

    def forward(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns dE_attention/dg (batch_size, sequence_length, hidden_size), the attention probabilities
        (batch_size, num_heads, sequence_length, sequence_length) and E_attention (batch_size,)."""
        batch_size, sequence_length, hidden_size = normalized.shape
        query, key = self.project(normalized)
        scores, log_partition = self.scores_and_log_partition(query, key)
        probabilities = torch.exp(scores - log_partition.unsqueeze(-1)).to(normalized.dtype)
        # the token as a query (P K) and as a key (P^T Q), mapped back through W^Q and W^K; beta cancels
        query_term = torch.matmul(probabilities, key)
        key_term = torch.matmul(probabilities.transpose(-1, -2), query)
        terms = torch.cat((query_term, key_term), dim=1).transpose(1, 2).reshape(batch_size, sequence_length, -1)
        weight = torch.cat((self.query_weight, self.key_weight), dim=0).reshape(-1, hidden_size)
        gradient = -torch.matmul(terms, weight.to(normalized.dtype))
        energy = -log_partition.sum(dim=(1, 2)) / self.scaling
        return gradient, probabilities, energy


class EnergyTransformerHopfieldNetwork(nn.Module):
    """Hopfield-network memories xi of shape (hidden_size, num_memories): E_hopfield = -1/2 sum ReLU(g xi)^2
    (`memory_type="relu_squared"`) or -(1/beta_m) sum_tokens logsumexp(beta_m (g xi + b)) (`"softmax"`)."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.memory_type = config.memory_type
        self.memories = nn.Parameter(torch.empty(config.hidden_size, config.num_memories))
        self.bias = nn.Parameter(torch.zeros(config.num_memories)) if config.memory_bias else None
        self.beta = nn.Parameter(torch.empty(1)) if config.memory_type == "softmax" else None

    def similarities(self, normalized: torch.Tensor) -> torch.Tensor:
        similarities = torch.matmul(normalized, self.memories.to(normalized.dtype))
        return similarities if self.bias is None else similarities + self.bias.to(normalized.dtype)

    def token_energies(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (batch_size, sequence_length, hidden_size) -> every token's Hopfield energy (batch_size,
        sequence_length), in float32 or wider, and the memory activations dE/d(g xi) up to sign (the shape of the
        similarities, the dtype of g)."""
        similarities = self.similarities(normalized)
        if self.memory_type == "relu_squared":
            activations = F.relu(similarities)
            return -0.5 * activations.to(_stable_dtype(activations.dtype)).square().sum(dim=-1), activations
        stable = _stable_dtype(similarities.dtype)
        logits = self.beta.to(stable) * similarities.to(stable)
        log_partition = torch.logsumexp(logits, dim=-1)
        activations = torch.exp(logits - log_partition.unsqueeze(-1)).to(normalized.dtype)
        return -log_partition / self.beta.to(log_partition.dtype), activations

    def forward(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (batch_size, sequence_length, hidden_size) -> dE_hopfield/dg of the same shape and E_hopfield
        (batch_size,)."""
        token_energies, activations = self.token_energies(normalized)
        gradient = -torch.matmul(activations, self.memories.to(normalized.dtype).t())
        return gradient, token_energies.sum(dim=-1)

    def energy(self, normalized: torch.Tensor) -> torch.Tensor:
        return self.forward(normalized)[1]


class EnergyTransformerLayer(nn.Module):
    """One ET block. A call performs ONE step of the discretised dynamics (paper Eq. 6):

        g = EnergyLayerNorm(x)
        x <- x - step_size * (dE_attention/dg + dE_hopfield/dg)
    """

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.step_size = config.step_size
        self.norm = EnergyTransformerLayerNorm(config)
        self.attention = EnergyTransformerAttention(config)
        self.hopfield = EnergyTransformerHopfieldNetwork(config)

    def energy_gradient(
        self, normalized: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """dE/dg in closed form for g (batch_size, sequence_length, hidden_size), with the attention probabilities and
        the two energies E_attention, E_hopfield (each (batch_size,)) of g."""
        attention_gradient, probabilities, attention_energy = self.attention(normalized)
        hopfield_gradient, hopfield_energy = self.hopfield(normalized)
        return attention_gradient + hopfield_gradient, probabilities, attention_energy, hopfield_energy

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            hidden_states: (batch_size, sequence_length, hidden_size), the state x_t.
        Returns:
            The state x_{t+1} and the attention probabilities of this step (batch_size, heads, tokens, tokens).
        """
        gradient, probabilities, _, _ = self.energy_gradient(self.norm(hidden_states))
        return hidden_states - self.step_size * gradient, probabilities

    def energies(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """E_attention(LN(x)) and E_hopfield(LN(x)), each of shape (batch_size,)."""
        normalized = self.norm(hidden_states)
        return self.attention.energy(normalized), self.hopfield.energy(normalized)


class EnergyTransformerEncoder(RecurrentEncoder):
    """`num_layers` distinct ET blocks (the paper: one), each run for `num_recurrences` steps by the package's one loop
    ([`recurrence.iterate_recurrence`])."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList([EnergyTransformerLayer(config) for _ in range(config.num_layers)])

    def update(self, layer, iteration, hidden_states, context=None, output_attentions=False):
        """One step x <- x - alpha dE/dg (Eq. 6); returns x_{t+1} and the attention probabilities."""
        return layer(hidden_states)

    def energies(self, layer, iteration, hidden_states, context=None):
        """E_attention (Eq. 3) and E_hopfield of LN(x), each (batch_size,)."""
        return layer.energies(hidden_states)


# ---------------------------------------------------------------------------------------------------------------------
# Graphs: input checks, the edge list, the graph attention energy and the graph ET block
# ---------------------------------------------------------------------------------------------------------------------


def _is_integer_tensor(tensor: torch.Tensor) -> bool:
    return not (tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool)


def check_graph_inputs(
    x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor | None, config: EnergyTransformerConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Node features `x` (num_nodes, config.num_node_features): non-empty, finite floats; `edge_index` (2, num_edges)
    integer node indices in [0, num_nodes) (row 0 sources, row 1 targets, PyTorch Geometric's convention); `edge_type`
    (num_edges,) integers in [0, config.num_edge_types), required when there is more than one type. Raises a
    `ValueError` naming the bad value; returns `edge_index` and `edge_type` as `torch.long` on the device of `x`. (The
    value checks are skipped inside a compiled graph.)"""
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"`x` must be a tensor of shape (num_nodes, num_node_features), got {shape_of(x)}.")
    num_nodes, num_features = x.shape
    if num_nodes == 0:
        raise ValueError("`x` has 0 nodes (shape (0, ...)); a graph needs at least one node.")
    if not x.is_floating_point():
        raise ValueError(f"`x` must be a float tensor (node features), got dtype {x.dtype}.")
    if num_features != config.num_node_features:
        raise ValueError(
            f"`x` has {num_features} features per node but the model expects {config.num_node_features} "
            "(config.num_node_features)."
        )
    compiling = is_torchdynamo_compiling()
    if not compiling and not torch.isfinite(x).all():
        node, feature = (int(i) for i in (~torch.isfinite(x)).nonzero()[0])
        raise ValueError(f"`x` must be finite; it holds {x[node, feature].item()} at node {node}, feature {feature}.")

    if not isinstance(edge_index, torch.Tensor) or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(
            "`edge_index` must be a tensor of shape (2, num_edges) (row 0: source nodes, row 1: target nodes), got "
            f"{shape_of(edge_index)}."
        )
    if not _is_integer_tensor(edge_index):
        raise ValueError(
            f"`edge_index` must be an integer tensor (torch.long node indices), got dtype {edge_index.dtype}."
        )
    if not compiling:
        bad = (edge_index < 0) | (edge_index >= num_nodes)
        if bad.any():
            row, edge = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`edge_index` must hold node indices in 0-{num_nodes - 1} (the graph has {num_nodes} nodes, the rows "
                f"of `x`); edge {edge} has the {('source', 'target')[row]} {int(edge_index[row, edge])}."
            )
    edge_index = edge_index.to(device=x.device, dtype=torch.long)

    num_edges, num_types = edge_index.shape[1], config.num_edge_types
    if edge_type is None:
        if num_types > 1:
            raise ValueError(
                f"`edge_type` (num_edges,) is required: the model has config.num_edge_types = {num_types} edge types."
            )
        return edge_index, None
    if not isinstance(edge_type, torch.Tensor) or tuple(edge_type.shape) != (num_edges,):
        raise ValueError(
            f"`edge_type` must have one entry per edge, shape ({num_edges},) for the {num_edges} edges of "
            f"`edge_index`, got {shape_of(edge_type)}."
        )
    if not _is_integer_tensor(edge_type):
        raise ValueError(f"`edge_type` must be an integer tensor (torch.long edge types), got dtype {edge_type.dtype}.")
    if not compiling:
        bad = (edge_type < 0) | (edge_type >= num_types)
        if bad.any():
            edge = int(bad.nonzero()[0])
            raise ValueError(
                f"`edge_type` must hold types in 0-{num_types - 1} (config.num_edge_types = {num_types}); edge {edge} "
                f"has type {int(edge_type[edge])}."
            )
    return edge_index, edge_type.to(device=x.device, dtype=torch.long)


def check_node_labels(labels: torch.Tensor, num_nodes: int, num_labels: int) -> None:
    """Class indices (num_nodes,) in [0, num_labels) of an integer dtype (or bools for two labels), or -100 for nodes
    left out of the loss, at least one node labelled (as the Sudoku head: with every label -100 there is nothing to
    score, so it is refused rather than returning a loss of 0). Float labels (nan included) are refused."""
    if not isinstance(labels, torch.Tensor) or tuple(labels.shape) != (num_nodes,):
        raise ValueError(f"`labels` must have one entry per node, shape ({num_nodes},), got {shape_of(labels)}.")
    if labels.dtype == torch.bool:
        labels = labels.long()
    if not _is_integer_tensor(labels):
        raise ValueError(f"`labels` must be an integer tensor of class indices (0-{num_labels - 1}, -100 = ignored), "
                         f"got dtype {labels.dtype}.")  # fmt: skip
    if not is_torchdynamo_compiling():
        bad = ((labels < 0) | (labels >= num_labels)) & (labels != -100)
        if bad.any():
            node = int(bad.nonzero()[0])
            raise ValueError(
                f"`labels` must be class indices in 0-{num_labels - 1}, or -100 for nodes left out of the loss; node "
                f"{node} has {int(labels[node])}."
            )
        if num_nodes and (labels == -100).all():
            raise ValueError(
                f"`labels` are -100 (ignored) for all {num_nodes} nodes: there is no node to score. Label at least "
                f"one node with a class index in 0-{num_labels - 1}, or pass no `labels`."
            )


class EnergyTransformerGraphIndex(NamedTuple):
    """The attention edges of a graph, built once per forward pass (before the recurrent loop, which then only gathers
    and scatters with these fixed indices). The projections Q, K are stored with one row per (node, edge type), row
    `node * num_edge_types + type`; every attention edge j -> i of type r reads the query row `i * R + r` (which is also
    its softmax group: one softmax per node and type) and the key row `j * R + r`.

    Attributes:
        query_index (`torch.LongTensor` of shape `(num_attention_edges,)`): target * num_edge_types + type.
        key_index (`torch.LongTensor` of shape `(num_attention_edges,)`): source * num_edge_types + type.
        ignored (`torch.BoolTensor` of shape `(num_attention_edges,)`, *optional*): edges left out of the softmax
            (self-loops of `edge_index`, replaced by the added ones), or `None`.
    """

    query_index: torch.Tensor
    key_index: torch.Tensor
    ignored: torch.Tensor | None


def build_graph_index(
    edge_index: torch.Tensor,
    edge_type: torch.Tensor | None,
    num_nodes: int,
    num_edge_types: int = 1,
    add_self_loops: bool = True,
) -> EnergyTransformerGraphIndex:
    """The attention edges: the columns of `edge_index` (2, num_edges) with their `edge_type` (default 0), then, with
    `add_self_loops`, one self-loop per node and edge type (nodes 0..N-1 of type 0, then of type 1, ...). With
    `add_self_loops` the self-loops already in `edge_index` are left out of the softmax by a mask (shapes stay
    static), so that every node attends to itself exactly once per type. Duplicate edges j -> i are kept: each is a
    term of the log-sum-exp (a multigraph)."""
    source, target = edge_index[0], edge_index[1]
    if edge_type is None:
        edge_type = torch.zeros_like(source)
    ignored = None
    if add_self_loops:
        device = edge_index.device
        nodes = torch.arange(num_nodes, device=device).repeat(num_edge_types)
        types = torch.arange(num_edge_types, device=device).repeat_interleave(num_nodes)
        added = torch.zeros(num_nodes * num_edge_types, dtype=torch.bool, device=device)
        ignored = torch.cat((source == target, added))
        source, target = torch.cat((source, nodes)), torch.cat((target, nodes))
        edge_type = torch.cat((edge_type, types))
    query_index = target * num_edge_types + edge_type
    return EnergyTransformerGraphIndex(query_index, source * num_edge_types + edge_type, ignored)


class EnergyTransformerGraphAttention(nn.Module):
    """Multi-head energy attention restricted to the edges of a graph: per edge type r, key and query matrices
    W^K_r, W^Q_r (stored as `(num_edge_types, num_heads, head_dim, hidden_size)`), no value matrix and no biases; the
    energy is, per node, type and head, a negative log-sum-exp over the node's in-neighbours of that type (the exact
    ET energy on the neighbourhood graph, not the clamped scores of the authors' anomaly-detection code)."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.num_edge_types = config.num_edge_types
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.scaling = config.attention_scaling
        shape = (config.num_edge_types, config.num_attention_heads, config.head_dim, config.hidden_size)
        self.query_weight = nn.Parameter(torch.empty(shape))
        self.key_weight = nn.Parameter(torch.empty(shape))

    def stacked_weight(self, dtype: torch.dtype) -> torch.Tensor:
        """W^Q and W^K as one `(num_edge_types * 2 * num_heads * head_dim, hidden_size)` matrix (per type: queries
        then keys)."""
        return torch.cat((self.query_weight, self.key_weight), dim=1).reshape(-1, self.query_weight.shape[-1]).to(dtype)

    def project(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (num_nodes, hidden_size) -> queries and keys, each (num_nodes * num_edge_types, num_heads, head_dim), row
        `node * num_edge_types + type`."""
        projected = torch.matmul(normalized, self.stacked_weight(normalized.dtype).t())
        projected = projected.view(-1, 2 * self.num_heads, self.head_dim)
        return projected[:, : self.num_heads], projected[:, self.num_heads :]

    def edge_softmax(
        self, query: torch.Tensor, key: torch.Tensor, graph: EnergyTransformerGraphIndex
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per attention edge j -> i: Q_i, K_j (num_attention_edges, num_heads, head_dim) and the softmax weights
        a_ij over the in-neighbours j of i (num_attention_edges, num_heads); per (node, type) group the log-sum-exp
        of beta Q_i . K_j over its edges (num_nodes * num_edge_types, num_heads), 0 for a group without edges (it
        has no attention energy). Statistics in float32 or wider."""
        edge_queries, edge_keys = query[graph.query_index], key[graph.key_index]
        scores = (edge_queries * edge_keys).sum(dim=-1).to(_stable_dtype(query.dtype)) * self.scaling
        if graph.ignored is not None:
            scores = scores.masked_fill(graph.ignored.unsqueeze(-1), float("-inf"))
        num_groups = query.shape[0]
        groups = graph.query_index.unsqueeze(-1).expand_as(scores)
        # per-group maximum for a stable log-sum-exp (any constant gives the same value: no gradient needed)
        maximum = scores.new_full((num_groups, self.num_heads), float("-inf"))
        maximum = maximum.scatter_reduce(0, groups, scores.detach(), reduce="amax")
        maximum = torch.where(torch.isfinite(maximum), maximum, torch.zeros_like(maximum))
        exponentials = torch.exp(scores - maximum[graph.query_index])
        partition = scores.new_zeros((num_groups, self.num_heads)).index_add(0, graph.query_index, exponentials)
        partition = torch.where(partition > 0, partition, torch.ones_like(partition))  # groups without edges: log 1
        log_partition = maximum + torch.log(partition)
        return edge_queries, edge_keys, exponentials / partition[graph.query_index], log_partition

    def node_energies(self, normalized: torch.Tensor, graph: EnergyTransformerGraphIndex) -> torch.Tensor:
        """Every node's attention energy per edge type and head, -(1/beta) logsumexp_{j in N_r(i)}(beta Q_rhi . K_rhj),
        shape `(num_nodes, num_edge_types * num_heads)`; E_attention is their sum."""
        query, key = self.project(normalized)
        return -self.edge_softmax(query, key, graph)[3].reshape(normalized.shape[0], -1) / self.scaling

    def energy(self, normalized: torch.Tensor, graph: EnergyTransformerGraphIndex) -> torch.Tensor:
        """E_attention = -(1/beta) sum_{r,h,i} logsumexp_{j in N_r(i)}(beta Q_rhi . K_rhj), shape `()`."""
        return self.node_energies(normalized, graph).sum()

    def forward(
        self, normalized: torch.Tensor, graph: EnergyTransformerGraphIndex
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns dE_attention/dg (num_nodes, hidden_size) in closed form, the softmax weights a
        (num_attention_edges, num_heads) and E_attention (shape `()`)."""
        num_nodes, hidden_size = normalized.shape
        query, key = self.project(normalized)
        edge_queries, edge_keys, probabilities, log_partition = self.edge_softmax(query, key, graph)
        weights = probabilities.to(normalized.dtype).unsqueeze(-1)
        # node i as a query: sum_{j in N(i)} a_ij K_j (into W^Q); node j as a key: sum_{i: j in N(i)} a_ij Q_i,
        # scattered to the source j (into W^K). One softmax for both terms; beta cancels the 1/beta of the energy.
        query_term = torch.zeros_like(query).index_add(0, graph.query_index, weights * edge_keys)
        key_term = torch.zeros_like(key).index_add(0, graph.key_index, weights * edge_queries)
        terms = torch.cat((query_term, key_term), dim=1).reshape(num_nodes, -1)  # the layout of `stacked_weight`
        gradient = -torch.matmul(terms, self.stacked_weight(normalized.dtype))
        return gradient, probabilities.to(normalized.dtype), -log_partition.sum() / self.scaling


class EnergyTransformerGraphLayer(nn.Module):
    """One ET block on a graph. A call performs ONE step of the discretised dynamics (paper Eq. 6) on the node states:

        g = EnergyLayerNorm(x)                           (per node)
        x <- x - step_size * (dE_attention/dg + dE_hopfield/dg)

    with the graph attention energy of [`EnergyTransformerGraphAttention`] and the image model's Hopfield network
    (memories shared by all nodes)."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.step_size = config.step_size
        self.norm = EnergyTransformerLayerNorm(config)
        self.attention = EnergyTransformerGraphAttention(config)
        self.hopfield = EnergyTransformerHopfieldNetwork(config)

    def energy_gradient(
        self, normalized: torch.Tensor, graph: EnergyTransformerGraphIndex
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """dE/dg in closed form for g (num_nodes, hidden_size), with the attention weights and the energies
        E_attention, E_hopfield (each of shape `()`) of g."""
        attention_gradient, probabilities, attention_energy = self.attention(normalized, graph)
        hopfield_gradient, hopfield_energy = self.hopfield(normalized.unsqueeze(0))  # all nodes as one "image"
        return attention_gradient + hopfield_gradient[0], probabilities, attention_energy, hopfield_energy[0]

    def forward(
        self, hidden_states: torch.Tensor, graph: EnergyTransformerGraphIndex
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            hidden_states: (num_nodes, hidden_size), the node states x_t.
            graph: the attention edges ([`build_graph_index`]).
        Returns:
            The states x_{t+1} and the attention weights of this step (num_attention_edges, num_heads).
        """
        gradient, probabilities, _, _ = self.energy_gradient(self.norm(hidden_states), graph)
        return hidden_states - self.step_size * gradient, probabilities

    def node_energies(self, hidden_states: torch.Tensor, graph: EnergyTransformerGraphIndex) -> torch.Tensor:
        """Every node's share of the energy of x (num_nodes, hidden_size): its attention energy per edge type and
        head, -(1/beta) logsumexp_{j in N_r(i)}(beta Q_rhi . K_rhj), and its Hopfield energy; shape
        `(num_nodes, num_edge_types * num_heads + 1)`, summing to E_attention + E_hopfield. A node that matches its
        neighbours poorly, or has few of them, has a high attention energy: an anomaly score the dynamics compute."""
        normalized = self.norm(hidden_states)
        attention = self.attention.node_energies(normalized, graph)
        hopfield = self.hopfield.token_energies(normalized.unsqueeze(0))[0][0]  # all nodes as one "image"
        return torch.cat((attention, hopfield.to(attention.dtype).unsqueeze(-1)), dim=-1)

    def energies(self, hidden_states: torch.Tensor, graph: EnergyTransformerGraphIndex):
        """E_attention and E_hopfield of the whole graph, each of shape `()`: the sums of `node_energies`."""
        node_energies = self.node_energies(hidden_states, graph)
        return node_energies[:, :-1].sum(), node_energies[:, -1].sum()


class EnergyTransformerGraphEncoder(RecurrentEncoder):
    """`num_layers` distinct graph ET blocks, each run for `num_recurrences` steps by the package's one loop; the
    context of every step is the graph's edge index ([`build_graph_index`], built once per forward)."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.layers = nn.ModuleList([EnergyTransformerGraphLayer(config) for _ in range(config.num_layers)])

    def update(self, layer, iteration, hidden_states, graph, output_attentions=False):
        """One step x <- x - alpha dE/dg (Eq. 6) on the node states; returns x_{t+1} and the attention weights."""
        return layer(hidden_states, graph)

    def energies(self, layer, iteration, hidden_states, graph):
        return layer.energies(hidden_states, graph)


# ---------------------------------------------------------------------------------------------------------------------
# Pre-trained model base class and models
# ---------------------------------------------------------------------------------------------------------------------


class EnergyTransformerPreTrainedModel(PreTrainedModel):
    config: EnergyTransformerConfig
    config_class = EnergyTransformerConfig
    base_model_prefix = "energy_transformer"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    accepts_loss_kwargs = False  # the losses are batch means: Trainer must not pass `num_items_in_batch`
    _no_split_modules = ["EnergyTransformerEmbeddings", "EnergyTransformerLayer"]
    # The attention is the gradient of a log-sum-exp energy (query AND key terms): eager only.
    _supports_sdpa = False
    _supports_flash_attn = False
    _supports_flex_attn = False
    # states after every step and attention probabilities, recorded by hooks (transformers' output capturing)
    _can_record_outputs = {"hidden_states": RecurrentStep, "attentions": OutputRecorder(RecurrentStep, index=1)}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, refusing unreadable or non-finite weights with the folder named."""
        kwargs.setdefault("key_mapping", RENAMED_WEIGHTS)  # checkpoints saved before a weight was renamed
        load = partial(super().from_pretrained, pretrained_model_name_or_path, *args, **kwargs)
        return load_checked(load, pretrained_model_name_or_path)

    @torch.no_grad()
    def _init_weights(self, module):
        config = self.config
        if isinstance(module, nn.Linear):
            # official code: flax Dense defaults, LeCun normal weights (normal truncated at 2 standard deviations,
            # rescaled to std 1/sqrt(fan_in)) and zero biases
            std = module.in_features**-0.5 / 0.87962566103423978
            init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, EnergyTransformerLayerNorm):
            init.ones_(module.gamma)
            init.zeros_(module.bias)
        elif isinstance(module, (EnergyTransformerAttention, EnergyTransformerGraphAttention)):
            init.normal_(module.query_weight, mean=0.0, std=config.token_initializer_range)
            init.normal_(module.key_weight, mean=0.0, std=config.token_initializer_range)
        elif isinstance(module, EnergyTransformerHopfieldNetwork):
            init.normal_(module.memories, mean=0.0, std=config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
            if module.beta is not None:
                init.constant_(module.beta, config.memory_beta_init)
        elif isinstance(module, EnergyTransformerEmbeddings):
            init.normal_(module.cls_token, mean=0.0, std=config.token_initializer_range)
            init.normal_(module.position_embeddings, mean=0.0, std=config.token_initializer_range)
            if module.mask_token is not None:
                init.normal_(module.mask_token, mean=0.0, std=config.token_initializer_range)
        else:
            super()._init_weights(module)  # the classifier's nn.LayerNorm


class EnergyTransformerModel(EnergyTransformerPreTrainedModel):
    """The bare Energy Transformer: patch embeddings (+ mask token), CLS token and learned positions, then the energy
    descent. Outputs the raw final token states and, on request, every intermediate state, the attention
    probabilities and the energies of every step."""

    def __init__(self, config: EnergyTransformerConfig, use_mask_token: bool = False):
        r"""
        use_mask_token (`bool`, *optional*, defaults to `False`):
            Whether to learn a mask token that replaces the patches marked in `bool_masked_pos`.
        """
        super().__init__(config)
        self.embeddings = EnergyTransformerEmbeddings(config, use_mask_token=use_mask_token)
        self.encoder = EnergyTransformerEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embeddings

    @capture_outputs
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.BoolTensor | None = None,
        **kwargs: Unpack[RecurrentModelKwargs],
    ) -> EnergyTransformerModelOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`):
                Normalised images (see [`transformers.ViTImageProcessor`]).
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*):
                Patches to replace by the mask token (True) or keep (False); needs `use_mask_token=True`.
            kwargs ([`recurrence.RecurrentModelKwargs`]): `num_recurrences` (steps of every block for this call;
                defaults to `config.num_recurrences`), `interpolate_pos_encoding` (accept images of another size
                divisible by the patch size: the learned positions are resized bicubically), `output_energies` (the
                attention, Hopfield and total energy of the initial state and after every step),
                `output_hidden_states` (the initial state and the state after every step), `output_attentions` (the
                attention probabilities of every step), `return_dict`, `adaptive_exit_threshold` / `_criterion` /
                `_min_recurrences` (inference only: a sample stops after the first step whose relative change is
                below the threshold), `initial_state` (a warm start of the embeddings' shape).

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import EnergyTransformerConfig, EnergyTransformerModel

        >>> config = EnergyTransformerConfig(
        ...     hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=64, image_size=16, patch_size=4
        ... )
        >>> model = EnergyTransformerModel(config)
        >>> with torch.inference_mode():  # the closed-form updates need no autograd
        ...     outputs = model(torch.randn(2, 3, 16, 16), num_recurrences=24, output_energies=True)
        >>> outputs.last_hidden_state.shape, outputs.energies[0].shape
        (torch.Size([2, 17, 32]), torch.Size([2, 25]))

        ```"""
        options = recurrence_options(self, kwargs)
        if pixel_values is None:
            raise ValueError("The Energy Transformer is an image model: pass `pixel_values`.")
        embeddings = self.embeddings(
            pixel_values, bool_masked_pos=bool_masked_pos,
            interpolate_pos_encoding=bool(kwargs.get("interpolate_pos_encoding")),
        )  # fmt: skip
        recurrence = self.encoder(embeddings, **options)
        last_hidden_state = recurrence.last_hidden_state
        return EnergyTransformerModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=last_hidden_state[:, 0],
            iterations_used=recurrence.iterations_used,
            **energy_fields(recurrence.energies),
        )


class EnergyTransformerForImageClassification(EnergyTransformerPreTrainedModel):
    """Energy Transformer with a classifier on the final (raw) CLS state: LayerNorm -> Linear
    (`config.classifier_type="linear"`) or LayerNorm -> Linear -> ReLU -> Linear (`"mlp"`, the official code's
    default). Single-label, multi-label and regression losses follow `config.problem_type`."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.energy_transformer = EnergyTransformerModel(config)
        self.readout_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        if config.num_labels <= 0:
            self.classifier = nn.Identity()
        elif config.classifier_type == "mlp":
            self.classifier = nn.Sequential(
                nn.Linear(config.hidden_size, config.num_labels),
                nn.ReLU(),
                nn.Linear(config.num_labels, config.num_labels),
            )
        else:
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[RecurrentModelKwargs],
    ) -> EnergyTransformerImageClassifierOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            labels (`torch.LongTensor` of shape `(batch_size,)` or `torch.FloatTensor` of shape
                `(batch_size, num_labels)`, *optional*): class indices (single label), multi-hot targets
                (multi-label) or regression targets.
            kwargs ([`recurrence.RecurrentModelKwargs`]): as in [`EnergyTransformerModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForImageClassification

        >>> config = EnergyTransformerConfig(
        ...     hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=64, image_size=16, patch_size=4,
        ...     num_labels=10,
        ... )
        >>> model = EnergyTransformerForImageClassification(config)
        >>> model(torch.randn(2, 3, 16, 16), labels=torch.tensor([1, 7])).logits.shape
        torch.Size([2, 10])

        ```"""
        outputs = self.energy_transformer(pixel_values, **kwargs)
        logits = self.classifier(self.readout_norm(outputs.pooler_output))
        loss = self.loss_function(labels, logits, self.config) if labels is not None else None
        return EnergyTransformerImageClassifierOutput(loss=loss, logits=logits, **per_iteration_fields(outputs))


class EnergyTransformerForMaskedImageModeling(EnergyTransformerPreTrainedModel):
    """The paper's masked image completion model. Masked patches are replaced by a learned mask token; after the
    energy descent the CLS state is dropped, the patch states go through the (last block's) EnergyLayerNorm and one
    Linear layer back to pixels (`(batch_size, num_patches, num_channels * patch_size**2)`, unpatchified).

    The loss (`config.reconstruction_loss`) is computed on the *selected* patches: the ones marked in
    `bool_masked_pos` plus the ones marked in `visible_loss_pos`, which stay visible. In training, unless
    `visible_loss_pos` is given, a fraction `config.visible_loss_ratio` of the `bool_masked_pos` patches of every
    image is drawn at random (torch's global generator) to stay visible, as the paper's "10 open of 100 selected
    patches"; evaluation masks every patch of `bool_masked_pos`."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__(config)
        self.energy_transformer = EnergyTransformerModel(config, use_mask_token=True)
        self.decoder = nn.Linear(config.hidden_size, config.num_channels * config.patch_size**2)
        self.post_init()

    def draw_visible_loss_patches(self, bool_masked_pos: torch.Tensor) -> torch.Tensor:
        """For every image, round(visible_loss_ratio * #selected) of its `bool_masked_pos` patches, drawn uniformly;
        a bool tensor of the same shape."""
        selected = bool_masked_pos.bool()
        counts = torch.floor(selected.sum(dim=1, dtype=torch.float32) * self.config.visible_loss_ratio + 0.5)
        scores = torch.rand(selected.shape, device=selected.device).masked_fill(~selected, 2.0)
        ranks = scores.argsort(dim=1).argsort(dim=1)  # the selected patches come first, in random order
        return ranks < counts.to(ranks.dtype).unsqueeze(1)

    def reconstruction_loss(
        self, pixel_values: torch.Tensor, reconstruction: torch.Tensor, loss_patches: torch.Tensor
    ) -> torch.Tensor:
        patch_size = self.config.patch_size
        batch_size, num_channels, height, width = reconstruction.shape
        mask = loss_patches.reshape(batch_size, height // patch_size, width // patch_size)
        mask = mask.repeat_interleave(patch_size, 1).repeat_interleave(patch_size, 2).unsqueeze(1)
        mask = mask.to(reconstruction.dtype)
        error = reconstruction - pixel_values.to(reconstruction.dtype)
        if self.config.reconstruction_loss == "rmse":
            # official loss: sqrt of the mean over ALL pixels of the squared error, zeroed outside the selected patches
            # (clamped away from 0, where the square root has an infinite derivative: an empty selection gives loss 0
            # and zero gradients, not NaN)
            mean_square = (error.square() * mask).sum() / error.numel()
            return torch.sqrt(mean_square.clamp_min(torch.finfo(mean_square.dtype).tiny))
        pixel_loss = error.abs() if self.config.reconstruction_loss == "l1" else error.square()
        return (pixel_loss * mask).sum() / (mask.sum() + 1e-5) / num_channels

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        bool_masked_pos: torch.BoolTensor | None = None,
        visible_loss_pos: torch.BoolTensor | None = None,
        **kwargs: Unpack[RecurrentModelKwargs],
    ) -> EnergyTransformerMaskedImageModelingOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): selected patches,
                replaced by the mask token and in the loss (no loss without it).
            visible_loss_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): patches that stay
                visible but are in the loss. Patches marked here are not masked even if `bool_masked_pos` marks them.
                When given, no patches are drawn with `config.visible_loss_ratio`.
            kwargs ([`recurrence.RecurrentModelKwargs`]): as in [`EnergyTransformerModel.forward`].

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForMaskedImageModeling

        >>> config = EnergyTransformerConfig(
        ...     hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=64, image_size=16, patch_size=4
        ... )
        >>> model = EnergyTransformerForMaskedImageModeling(config)
        >>> mask = torch.rand(2, 16) < 0.5  # (batch_size, num_patches)
        >>> outputs = model(torch.randn(2, 3, 16, 16), bool_masked_pos=mask, output_energies=True)
        >>> outputs.reconstruction.shape, outputs.energies[0].shape
        (torch.Size([2, 3, 16, 16]), torch.Size([2, 13]))

        ```"""
        if pixel_values is None:
            raise ValueError("The Energy Transformer is an image model: pass `pixel_values`.")
        if bool_masked_pos is not None:  # bools or 0/1 (a fractional mask is refused, not rounded)
            bool_masked_pos = check_mask(bool_masked_pos, tuple(getattr(bool_masked_pos, "shape", ())))
        if visible_loss_pos is not None:
            visible_loss_pos = check_mask(visible_loss_pos, tuple(getattr(visible_loss_pos, "shape", ())))
        masked = bool_masked_pos
        loss_patches = None
        if bool_masked_pos is not None or visible_loss_pos is not None:
            reference = bool_masked_pos if bool_masked_pos is not None else visible_loss_pos
            if visible_loss_pos is not None and tuple(visible_loss_pos.shape) != tuple(reference.shape):
                raise ValueError(
                    f"`visible_loss_pos` must have the shape of `bool_masked_pos` {tuple(reference.shape)}, got "
                    f"{tuple(visible_loss_pos.shape)}."
                )
            if bool_masked_pos is None:
                masked = torch.zeros_like(visible_loss_pos, dtype=torch.bool)
            masked = masked.bool()
            if visible_loss_pos is None and self.training and self.config.visible_loss_ratio > 0:
                visible_loss_pos = self.draw_visible_loss_patches(masked)
            if visible_loss_pos is not None:
                visible_loss_pos = visible_loss_pos.to(masked.device).bool()
                loss_patches = masked | visible_loss_pos
                masked = masked & ~visible_loss_pos
            else:
                loss_patches = masked

        outputs = self.energy_transformer(pixel_values, bool_masked_pos=masked, **kwargs)
        # drop CLS -> EnergyLayerNorm (the same parameters as inside the last block) -> Linear -> pixels
        patch_states = self.energy_transformer.encoder.layers[-1].norm(outputs.last_hidden_state[:, 1:])
        _, num_channels, height, width = pixel_values.shape
        reconstruction = unpatchify(self.decoder(patch_states), self.config.patch_size, num_channels, height, width)

        loss = None
        if loss_patches is not None:
            loss = self.reconstruction_loss(pixel_values, reconstruction, loss_patches)

        return EnergyTransformerMaskedImageModelingOutput(
            loss=loss, reconstruction=reconstruction, **per_iteration_fields(outputs)
        )


class EnergyTransformerForNodeClassification(EnergyTransformerPreTrainedModel):
    """Energy Transformer on a graph, one label per node (node classification; the paper's graph anomaly detection).
    Needs a graph config (`config.num_node_features` set). Inputs follow PyTorch Geometric: node features `x`
    (num_nodes, num_node_features), `edge_index` (2, num_edges) with the source nodes in row 0 and the targets in row 1
    (a node attends to the sources of its in-edges), optional `edge_type` (num_edges,) for `config.num_edge_types`
    relations. A batch of graphs is their disjoint union (PyG's `Batch`): no edge joins two graphs, so none attends to
    another.

    Pipeline: x_0 = Linear(x) (with bias) -> `num_layers` distinct graph ET blocks ([`EnergyTransformerGraphLayer`]),
    each run for `num_recurrences` steps of x <- x - step_size * dE/dg, g = EnergyLayerNorm(x) -> readout of the graph
    anomaly-detection authors: the final (raw) state concatenated with the embedded input, [x_T, x_0]
    (num_nodes, 2 * hidden_size) -> Linear -> `num_labels` logits (`config.classifier_type="linear"`), or
    Linear -> ReLU -> Linear through a hidden_size-wide layer (`"mlp"`). With `config.energy_readout` the readout
    also gets every node's energies of the final state ([`EnergyTransformerGraphLayer.node_energies`]: its attention
    energy per edge type and head, which grows when the node matches its neighbours poorly or has few, and its
    Hopfield energy), standardised over the graph's nodes: the energy as an anomaly score, learned. The energy is
    the exact ET energy with the attention restricted to the edges (see [`EnergyTransformerGraphAttention`]; the
    authors' code clamps the scores and takes a single step, so it only approximates it).

    Self-loops: with `config.add_self_loops` (default) every node attends to itself exactly once per edge type; the
    self-loops in `edge_index` are replaced (left out of the softmax), not counted twice. Other duplicate edges are
    kept (each is a term of the log-sum-exp).

    Loss: cross-entropy over the nodes whose label is not -100, weighted per class by `config.class_weights` (saved
    with the model; the anomaly-detection recipe uses [1, #normal / #anomalous] from the training nodes): the weighted
    mean sum_i w_{y_i} CE_i / sum_i w_{y_i}, as `torch.nn.CrossEntropyLoss(weight=...)`; labels that are all -100
    are refused (there is no node to score), as by the Sudoku head.

    Auto class: transformers has no node-classification Auto class; this model is registered with
    `AutoModelForTokenClassification`, whose contract it shares (one label per token, logits `(..., num_labels)`, -100
    ignored), nodes being the tokens (as `HyperSETForSudoku` for Sudoku cells). The token-classification pipeline does
    not apply (it needs a tokenizer). For this config type `AutoModel` remains the image model.
    """

    main_input_name = "x"
    _no_split_modules = ["EnergyTransformerGraphLayer"]

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__(config)
        if not config.is_graph_config:
            raise ValueError(
                "EnergyTransformerForNodeClassification needs a graph config: set `num_node_features` (the width of "
                "the node features `x`), e.g. `EnergyTransformerConfig(num_node_features=32, ...)`."
            )
        if config.num_labels < 1:
            raise ValueError(f"Node classification needs `num_labels` >= 1, got {config.num_labels}.")
        self.num_labels = config.num_labels
        self.node_embeddings = nn.Linear(config.num_node_features, config.hidden_size)
        self.encoder = EnergyTransformerGraphEncoder(config)
        readout_size = 2 * config.hidden_size
        if config.energy_readout:  # every node's final energies, per edge type and head, and its Hopfield energy
            readout_size += config.num_edge_types * config.num_attention_heads + 1
        if config.classifier_type == "mlp":  # a nonlinear readout: Linear -> ReLU -> Linear(hidden_size, labels)
            self.classifier = nn.Sequential(
                nn.Linear(readout_size, config.hidden_size), nn.ReLU(), nn.Linear(config.hidden_size, config.num_labels)
            )
        else:
            self.classifier = nn.Linear(readout_size, config.num_labels)
        self.post_init()

    @property
    def layers(self) -> nn.ModuleList:
        """The graph ET blocks (`encoder.layers`)."""
        return self.encoder.layers

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        # checkpoints saved before the blocks moved into `encoder` (version 0.1) name them `layers.*`
        kwargs.setdefault("key_mapping", {**RENAMED_WEIGHTS, r"^layers\.": "encoder.layers."})
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def get_input_embeddings(self) -> nn.Module:
        return self.node_embeddings

    def node_classification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Class-weighted mean cross-entropy over the labelled nodes (label != -100; `check_node_labels`: at least
        one)."""
        num_nodes, num_labels = logits.shape
        check_node_labels(labels, num_nodes, num_labels)
        labels = labels.to(device=logits.device, dtype=torch.long)
        labelled = labels != -100
        class_weights = self.config.class_weights
        if class_weights is None:
            node_weights = labelled.to(logits.dtype)
            weight = None
        else:
            if len(class_weights) != num_labels:
                raise ValueError(
                    f"`config.class_weights` must have one weight per label ({num_labels} labels), got "
                    f"{len(class_weights)}: {class_weights!r}."
                )
            weight = torch.tensor(class_weights, dtype=logits.dtype, device=logits.device)
            node_weights = weight[labels.clamp_min(0)] * labelled
        per_node = F.cross_entropy(logits, labels, weight=weight, ignore_index=-100, reduction="none")
        total_weight = node_weights.sum()
        return per_node.sum() / torch.where(total_weight > 0, total_weight, torch.ones_like(total_weight))

    @capture_outputs
    def forward(
        self,
        x: torch.Tensor | None = None,
        edge_index: torch.Tensor | None = None,
        edge_type: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[RecurrentModelKwargs],
    ) -> EnergyTransformerNodeClassifierOutput:
        r"""
        Args:
            x (`torch.FloatTensor` of shape `(num_nodes, num_node_features)`):
                Node features: a tensor of any float dtype (cast to the model's), at least one node, every value
                finite. Integer or bool tensors, nan / inf values and other shapes raise a `ValueError` naming them.
            edge_index (`torch.LongTensor` of shape `(2, num_edges)`):
                Directed edges, source nodes in row 0 and target nodes in row 1 (PyTorch Geometric's convention); the
                target attends to the source. Give both directions for an undirected graph. Any integer dtype, node
                indices in 0..num_nodes-1 (float tensors, indices out of range and other shapes are refused).
            edge_type (`torch.LongTensor` of shape `(num_edges,)`, *optional*):
                Type (relation) of every edge in 0..`config.num_edge_types`-1, any integer dtype; required when there
                is more than one (negative or too large types, floats and other shapes are refused).
            labels (`torch.LongTensor` of shape `(num_nodes,)`, *optional*):
                Class index of every node (an integer dtype, or bools for two labels), -100 for nodes left out of the
                loss (e.g. outside the training split); at least one node must be labelled. Float labels (nan
                included), other values and other shapes raise a `ValueError` naming the node and the value.
            num_recurrences (`int`, *optional*):
                Steps of every block for this call; defaults to `config.num_recurrences`.
            output_energies (`bool`, *optional*):
                Return the attention, Hopfield and total energy of the graph before the first step and after every
                step.
            kwargs: `output_hidden_states` (x_0 and the node states after every step), `output_attentions` (the
                attention weights of every step, per edge), `return_dict`.

        Example:

        ```python
        >>> import torch
        >>> from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForNodeClassification

        >>> config = EnergyTransformerConfig(
        ...     num_node_features=8, hidden_size=32, num_attention_heads=2, head_dim=8, num_memories=64, num_labels=2,
        ...     class_weights=[1.0, 9.0],
        ... )
        >>> model = EnergyTransformerForNodeClassification(config)
        >>> x = torch.randn(5, 8)  # 5 nodes, 8 features each
        >>> edge_index = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])  # edges 0->1, 1->2, 2->3, 3->4, 4->0
        >>> labels = torch.tensor([0, 1, -100, 0, 0])  # node 2 is not in the loss
        >>> outputs = model(x, edge_index, labels=labels, output_energies=True)
        >>> outputs.logits.shape, outputs.energies[0].shape
        (torch.Size([5, 2]), torch.Size([13]))

        ```"""
        if x is None or edge_index is None:
            raise ValueError(
                "EnergyTransformerForNodeClassification is a graph model: pass the node features `x` (num_nodes, "
                "num_node_features) and `edge_index` (2, num_edges)."
            )
        # a graph is one sample: no adaptive exit, no image options
        not_applicable = ("adaptive_exit_threshold", "adaptive_exit_criterion", "adaptive_exit_min_recurrences",
                          "interpolate_pos_encoding")  # fmt: skip
        options = recurrence_options(self, kwargs, not_applicable)
        edge_index, edge_type = check_graph_inputs(x, edge_index, edge_type, self.config)
        # the attention edges and gathering indices, once: the loop has no data-dependent shapes or branches
        graph = build_graph_index(
            edge_index, edge_type, x.shape[0], self.config.num_edge_types, self.config.add_self_loops
        )
        embeddings = self.node_embeddings(x.to(self.node_embeddings.weight.dtype))
        recurrence = self.encoder(embeddings, context=graph, **options)
        hidden_states = recurrence.last_hidden_state

        # readout of the anomaly-detection authors: [final state, embedded input] -> Linear; with `energy_readout`
        # also every node's energies of the final state, standardised over the graph's nodes
        readout = [hidden_states, embeddings]
        if self.config.energy_readout:
            node_energies = self.layers[-1].node_energies(hidden_states, graph)
            mean, std = node_energies.mean(dim=0), node_energies.std(dim=0, unbiased=False)
            readout.append(((node_energies - mean) / (std + 1e-6)).to(hidden_states.dtype))
        logits = self.classifier(torch.cat(readout, dim=-1))
        loss = self.node_classification_loss(logits, labels) if labels is not None else None
        return EnergyTransformerNodeClassifierOutput(loss=loss, logits=logits, **energy_fields(recurrence.energies))


# Saved folders carry this file and `configuration_energy_transformer.py` so they load with `trust_remote_code=True`.
EnergyTransformerConfig.register_for_auto_class()
EnergyTransformerModel.register_for_auto_class("AutoModel")
EnergyTransformerForImageClassification.register_for_auto_class("AutoModelForImageClassification")
EnergyTransformerForMaskedImageModeling.register_for_auto_class("AutoModelForMaskedImageModeling")
EnergyTransformerForNodeClassification.register_for_auto_class("AutoModelForTokenClassification")


__all__ = [
    "EnergyTransformerForImageClassification",
    "EnergyTransformerForMaskedImageModeling",
    "EnergyTransformerForNodeClassification",
    "EnergyTransformerModel",
    "EnergyTransformerPreTrainedModel",
]
