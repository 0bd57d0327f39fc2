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

This file imports only torch, transformers, `configuration_energy_transformer` and `input_checks` (the input
validation shared with Hyper-SET), so that it also works as Hub remote code (`save_pretrained` copies all three).
"""

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    ImageClassifierOutput,
    MaskedImageModelingOutput,
)
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging
from transformers.utils.generic import can_return_tuple
from transformers.utils.output_capturing import OutputRecorder, capture_outputs

from .configuration_energy_transformer import EnergyTransformerConfig
from .input_checks import RENAMED_WEIGHTS, as_count, check_mask, check_pixel_values, load_checked


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
    """

    energies: tuple[torch.FloatTensor, ...] | None = None
    attention_energies: tuple[torch.FloatTensor, ...] | None = None
    feedforward_energies: tuple[torch.FloatTensor, ...] | None = None


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

    def check_pixel_values(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool) -> None:
        check_pixel_values(pixel_values, self.config, interpolate_pos_encoding)

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
        self.check_pixel_values(pixel_values, interpolate_pos_encoding)
        pixel_values = pixel_values.to(self.patch_embeddings.projection.weight.dtype)
        embeddings = self.patch_embeddings(pixel_values)
        batch_size, num_patches, _ = embeddings.shape

        if bool_masked_pos is not None:
            if self.mask_token is None:
                raise ValueError(
                    "`bool_masked_pos` was given but this model has no mask token; build it with "
                    "`EnergyTransformerModel(config, use_mask_token=True)` or use "
                    "`EnergyTransformerForMaskedImageModeling`."
                )
            # the masked tokens are replaced (not blended) by the mask token
            embeddings = torch.where(
                check_mask(bool_masked_pos, (batch_size, num_patches)).to(embeddings.device).unsqueeze(-1),
                self.mask_token.to(embeddings.dtype),
                embeddings,
            )

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

    def forward(self, normalized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g (batch_size, sequence_length, hidden_size) -> dE_hopfield/dg of the same shape and E_hopfield
        (batch_size,)."""
        similarities = self.similarities(normalized)
        if self.memory_type == "relu_squared":
            activations = F.relu(similarities)
            energy = -0.5 * activations.to(_stable_dtype(activations.dtype)).square().sum(dim=(1, 2))
        else:
            stable = _stable_dtype(similarities.dtype)
            logits = self.beta.to(stable) * similarities.to(stable)
            log_partition = torch.logsumexp(logits, dim=-1)
            activations = torch.exp(logits - log_partition.unsqueeze(-1)).to(normalized.dtype)
            energy = -log_partition.sum(dim=-1) / self.beta.to(log_partition.dtype)
        gradient = -torch.matmul(activations, self.memories.to(normalized.dtype).t())
        return gradient, energy

    def energy(self, normalized: torch.Tensor) -> torch.Tensor:
        return self.forward(normalized)[1]


class EnergyTransformerLayer(GradientCheckpointingLayer):
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

    def forward(
        self, hidden_states: torch.Tensor, output_energies: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """
        Args:
            hidden_states: (batch_size, sequence_length, hidden_size), the state x_t.
        Returns:
            The state x_{t+1}; the attention probabilities of this step (recorded by the output-capturing hooks when
            attentions are requested); and if `output_energies` the energies of x_t, shape (batch_size, 2):
            E_attention, E_hopfield (computed by the same pass as the update).
        """
        gradient, probabilities, attention_energy, hopfield_energy = self.energy_gradient(self.norm(hidden_states))
        hidden_states = hidden_states - self.step_size * gradient
        energies = torch.stack((attention_energy, hopfield_energy), dim=-1) if output_energies else None
        return hidden_states, probabilities, energies

    def energies(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """E_attention(LN(x)) and E_hopfield(LN(x)), each of shape (batch_size,)."""
        normalized = self.norm(hidden_states)
        return self.attention.energy(normalized), self.hopfield.energy(normalized)


class EnergyTransformerEncoder(nn.Module):
    """`num_layers` distinct ET blocks (the paper: one), each run for `num_recurrences` steps."""

    def __init__(self, config: EnergyTransformerConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList([EnergyTransformerLayer(config) for _ in range(config.num_layers)])

    def forward(
        self, hidden_states: torch.Tensor, num_recurrences: int, output_energies: bool = False
    ) -> EnergyTransformerModelOutput:
        """One loop over the steps; the states after every step and the attention probabilities are recorded by the
        output-capturing hooks, the energies here."""
        attention_energies, feedforward_energies = [], []
        for layer in self.layers:
            layer_energies = []
            for _ in range(num_recurrences):
                hidden_states, _, step_energies = layer(hidden_states, output_energies=output_energies)
                if output_energies:
                    layer_energies.append(step_energies)  # energies of the state BEFORE this step
            if output_energies:
                layer_energies.append(torch.stack(layer.energies(hidden_states), dim=-1))  # after the last step
                stacked = torch.stack(layer_energies, dim=1)  # (batch_size, num_recurrences + 1, 2)
                attention_energies.append(stacked[..., 0])
                feedforward_energies.append(stacked[..., 1])

        energies = None
        if output_energies:
            energies = tuple(a + f for a, f in zip(attention_energies, feedforward_energies))
        return EnergyTransformerModelOutput(
            last_hidden_state=hidden_states,
            energies=energies,
            attention_energies=tuple(attention_energies) if output_energies else None,
            feedforward_energies=tuple(feedforward_energies) if output_energies else None,
        )


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
    _can_record_outputs = {
        "hidden_states": EnergyTransformerLayer,
        "attentions": OutputRecorder(EnergyTransformerLayer, index=1),
    }

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
        elif isinstance(module, EnergyTransformerAttention):
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
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_energies: bool | None = None,
        **kwargs,
    ) -> EnergyTransformerModelOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`):
                Normalised images (see [`transformers.ViTImageProcessor`]).
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*):
                Patches to replace by the mask token (True) or keep (False); needs `use_mask_token=True`.
            num_recurrences (`int`, *optional*):
                Steps of every block for this call; defaults to `config.num_recurrences`.
            interpolate_pos_encoding (`bool`, *optional*):
                Accept images of another size divisible by the patch size (the learned positions are resized
                bicubically).
            output_energies (`bool`, *optional*):
                Return the attention, Hopfield and total energy of the initial state and after every step.
            kwargs: `output_hidden_states` (the initial state and the state after every step), `output_attentions`
                (the attention probabilities of every step), `return_dict`.

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
        if pixel_values is None:
            raise ValueError("The Energy Transformer is an image model: pass `pixel_values`.")
        unknown = sorted(set(kwargs) - {"output_hidden_states", "output_attentions"})
        if unknown:  # a typo must not be silently ignored
            raise TypeError(f"{type(self).__name__}.forward() got unexpected keyword arguments {unknown}.")
        num_recurrences = as_count(
            self.config.num_recurrences if num_recurrences is None else num_recurrences, "num_recurrences"
        )
        embeddings = self.embeddings(
            pixel_values, bool_masked_pos=bool_masked_pos, interpolate_pos_encoding=bool(interpolate_pos_encoding)
        )
        outputs = self.encoder(embeddings, num_recurrences=num_recurrences, output_energies=bool(output_energies))
        outputs.pooler_output = outputs.last_hidden_state[:, 0]
        return outputs


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
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_energies: bool | None = None,
        **kwargs,
    ) -> EnergyTransformerImageClassifierOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            labels (`torch.LongTensor` of shape `(batch_size,)` or `torch.FloatTensor` of shape
                `(batch_size, num_labels)`, *optional*): class indices (single label), multi-hot targets
                (multi-label) or regression targets.
            num_recurrences, interpolate_pos_encoding, output_energies, kwargs (`output_hidden_states`,
                `output_attentions`): as in [`EnergyTransformerModel.forward`].

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
        outputs = self.energy_transformer(
            pixel_values,
            num_recurrences=num_recurrences,
            interpolate_pos_encoding=interpolate_pos_encoding,
            output_energies=output_energies,
            **kwargs,
        )
        logits = self.classifier(self.readout_norm(outputs.pooler_output))
        loss = self.loss_function(labels, logits, self.config) if labels is not None else None
        return EnergyTransformerImageClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            energies=outputs.energies,
            attention_energies=outputs.attention_energies,
            feedforward_energies=outputs.feedforward_energies,
        )


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
        num_recurrences: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        output_energies: bool | None = None,
        **kwargs,
    ) -> EnergyTransformerMaskedImageModelingOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_channels, height, width)`): images.
            bool_masked_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): selected patches,
                replaced by the mask token and in the loss (no loss without it).
            visible_loss_pos (`torch.BoolTensor` of shape `(batch_size, num_patches)`, *optional*): patches that stay
                visible but are in the loss. Patches marked here are not masked even if `bool_masked_pos` marks them.
                When given, no patches are drawn with `config.visible_loss_ratio`.
            num_recurrences, interpolate_pos_encoding, output_energies, kwargs (`output_hidden_states`,
                `output_attentions`): as in [`EnergyTransformerModel.forward`].

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

        outputs = self.energy_transformer(
            pixel_values,
            bool_masked_pos=masked,
            num_recurrences=num_recurrences,
            interpolate_pos_encoding=interpolate_pos_encoding,
            output_energies=output_energies,
            **kwargs,
        )
        # drop CLS -> EnergyLayerNorm (the same parameters as inside the last block) -> Linear -> pixels
        patch_states = self.energy_transformer.encoder.layers[-1].norm(outputs.last_hidden_state[:, 1:])
        _, num_channels, height, width = pixel_values.shape
        reconstruction = unpatchify(self.decoder(patch_states), self.config.patch_size, num_channels, height, width)

        loss = None
        if loss_patches is not None:
            loss = self.reconstruction_loss(pixel_values, reconstruction, loss_patches)

        return EnergyTransformerMaskedImageModelingOutput(
            loss=loss,
            reconstruction=reconstruction,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            energies=outputs.energies,
            attention_energies=outputs.attention_energies,
            feedforward_energies=outputs.feedforward_energies,
        )


# Saved folders carry this file and `configuration_energy_transformer.py` so they load with `trust_remote_code=True`.
EnergyTransformerConfig.register_for_auto_class()
EnergyTransformerModel.register_for_auto_class("AutoModel")
EnergyTransformerForImageClassification.register_for_auto_class("AutoModelForImageClassification")
EnergyTransformerForMaskedImageModeling.register_for_auto_class("AutoModelForMaskedImageModeling")


__all__ = [
    "EnergyTransformerForImageClassification",
    "EnergyTransformerForMaskedImageModeling",
    "EnergyTransformerModel",
    "EnergyTransformerPreTrainedModel",
]
