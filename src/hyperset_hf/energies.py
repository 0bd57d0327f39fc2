# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The energies of Hyper-SET's attention and feedforward (Hu, Zou & Xu, ICLR 2026, Eq. 2-5, and the alternatives of
App. G.1), each next to minus its gradient: the update direction the layer follows.

Every entry of `ATTENTION_ENERGIES` / `FEEDFORWARD_ENERGIES` holds one energy and its closed-form gradient side by
side, as functions of the normalised head projections z (attention, shape (batch, heads, tokens, p)) or of the
normalised feedforward hidden units h (feedforward, shape (batch, tokens, M)). The layers of `modeling_hyperset` apply
the tied maps W^T and W_ff^T, so `direction` here is the gradient with respect to z (attention) or h (feedforward);
`tests/test_hyperset_math.py` checks every direction against the autograd gradient of its energy.

This module imports only torch, transformers and `recurrence` (for the accumulation dtype); it travels with `modeling_hyperset.py` as
Hub remote code.
"""

import math

import torch
from torch.nn import functional as F
from transformers.activations import ACT2FN

from .recurrence import accumulation_dtype, upcast


def _gelu_primitive(x: torch.Tensor) -> torch.Tensor:
    # F(x) = integral of GELU(s) = s Phi(s) from -inf to x = ((x^2 - 1) Phi(x) + x phi(x)) / 2, so that F' = GELU.
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    return 0.5 * ((x * x - 1.0) * cdf + x * torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


# F with F' = the feedforward activation: the feedforward energy is -sum F(h)
ACTIVATION_PRIMITIVES = {"relu": lambda x: 0.5 * F.relu(x).square(), "gelu": _gelu_primitive}


def _gelu_derivative(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# Feature maps phi of linear attention and of the gated feedforward, each with its closed-form derivative phi'.
FEATURE_MAPS = {
    "sigmoid": (torch.sigmoid, lambda x: torch.sigmoid(x) * (1.0 - torch.sigmoid(x))),
    "tanh": (torch.tanh, lambda x: 1.0 - torch.tanh(x).square()),
    "softplus": (F.softplus, torch.sigmoid),
    "silu": (F.silu, lambda x: torch.sigmoid(x) * (1.0 + x * (1.0 - torch.sigmoid(x)))),
    "gelu": (F.gelu, _gelu_derivative),
    "elu": (F.elu, lambda x: torch.where(x > 0, torch.ones_like(x), torch.exp(x.clamp(max=0.0)))),
    "elup1": (lambda x: F.elu(x) + 1.0, lambda x: torch.where(x > 0, torch.ones_like(x), torch.exp(x.clamp(max=0.0)))),
}


def dense_bisoftmax(query, key, value, scaling, chunk_size=None):
    """[softmax_rows(A) + softmax_columns(A)] v with A = q k^T scaling. A is symmetric (q and k are gains times the
    same normalised z), so the column softmax is the transpose of the row softmax: one softmax, accumulated in float32.
    Returns the context (batch, heads, tokens, p) and the bi-softmax matrix (batch, heads, tokens, tokens)."""
    probabilities = torch.matmul(query, key.transpose(-1, -2)).mul(scaling).softmax(dim=-1, dtype=accumulation_dtype(query))
    attention = (probabilities + probabilities.transpose(-1, -2)).to(value.dtype)
    return torch.matmul(attention, value), attention


def chunked_bisoftmax(query, key, value, scaling, chunk_size=256):
    """The same as [`dense_bisoftmax`] in O(tokens * chunk_size) memory, on any device: pass 1 computes the row
    log-sum-exps chunk by chunk; pass 2 forms P = exp(A - lse) for a chunk of rows I and adds P_I v to the rows I and
    P_I^T v_I to every row (the column softmax is P^T). The N x N matrix is never formed: no attention is returned."""
    num_tokens = query.shape[-2]
    starts = range(0, num_tokens, chunk_size)
    log_normalisers = torch.cat(
        [torch.matmul(query[..., s : s + chunk_size, :], key.transpose(-1, -2)).mul(scaling).to(accumulation_dtype(query)).logsumexp(-1)
         for s in starts], dim=-1,
    )  # fmt: skip
    value = upcast(value)
    rows, columns = [], torch.zeros_like(value)
    for s in starts:
        scores = upcast(torch.matmul(query[..., s : s + chunk_size, :], key.transpose(-1, -2)).mul(scaling))
        probabilities = torch.exp(scores - log_normalisers[..., s : s + chunk_size, None])
        rows.append(torch.matmul(probabilities, value))
        columns = columns + torch.matmul(probabilities.transpose(-1, -2), value[..., s : s + chunk_size, :])
    return (torch.cat(rows, dim=-2) + columns).to(query.dtype), None


BISOFTMAX_IMPLEMENTATIONS = {"dense": dense_bisoftmax, "chunked": chunked_bisoftmax}


class BiSoftmaxEnergy:
    """E = sqrt(p) sum_i logsumexp_j A_ij, A = z z^T / sqrt(p) (Eq. 2-4); gradient [softmax_rows + softmax_cols](A) z
    (Eq. 9). The implementation (dense or query-chunked) is `config.bisoftmax_implementation`."""

    def __init__(self, config):
        self.scaling = config.head_dim**-0.5
        self.implementation = BISOFTMAX_IMPLEMENTATIONS[config.bisoftmax_implementation]
        self.chunk_size = config.bisoftmax_chunk_size

    def energy(self, z):
        if self.implementation is chunked_bisoftmax:
            chunks = z.split(self.chunk_size, dim=-2)
            return sum(upcast(torch.matmul(c, z.transpose(-1, -2))).mul(self.scaling).logsumexp(-1).sum((1, 2))
                       for c in chunks) / self.scaling  # fmt: skip
        return upcast(torch.matmul(z, z.transpose(-1, -2))).mul(self.scaling).logsumexp(-1).sum((1, 2)) / self.scaling

    def direction(self, query, key, value, output_attentions=False):
        return self.implementation(query, key, value, self.scaling, self.chunk_size)


class SigmoidEnergy:
    """E = sqrt(p)/2 sum_ij sigmoid(A_ij) (App. G.1); gradient [sigmoid(A) (1 - sigmoid(A))] z."""

    def __init__(self, config):
        self.scaling = config.head_dim**-0.5

    def energy(self, z):
        return torch.sigmoid(upcast(torch.matmul(z, z.transpose(-1, -2))) * self.scaling).sum((1, 2, 3)) / (
            2.0 * self.scaling
        )

    def direction(self, query, key, value, output_attentions=False):
        attention = FEATURE_MAPS["sigmoid"][1](torch.matmul(query, key.transpose(-1, -2)) * self.scaling)
        return torch.matmul(attention, value), attention


class ReluEnergy:
    """E = 1/4 sum_ij ReLU(z_i . z_j)^2 (App. G.1, no 1/sqrt(p) as the reference); gradient ReLU(z z^T) z."""

    def __init__(self, config):
        pass

    def energy(self, z):
        return F.relu(upcast(torch.matmul(z, z.transpose(-1, -2)))).square().sum((1, 2, 3)) / 4.0

    def direction(self, query, key, value, output_attentions=False):
        attention = F.relu(torch.matmul(query, key.transpose(-1, -2)))
        return torch.matmul(attention, value), attention


class LinearAttentionEnergy:
    """E = 1/(4 sqrt(p)) sum_ij (phi(z_i) . phi(z_j))^2 (App. G.1); gradient (phi(z) K) * phi'(z) with the p x p
    kernel K = phi(z)^T phi(z) / sqrt(p): O(N) in the tokens. The N x N matrix is formed only when requested."""

    def __init__(self, config):
        self.scaling = config.head_dim**-0.5
        self.feature_map, self.feature_map_derivative = FEATURE_MAPS[config.attention_feature_map]

    def energy(self, z):
        features = upcast(self.feature_map(z))
        return torch.matmul(features.transpose(-1, -2), features).square().sum((1, 2, 3)) * (self.scaling / 4.0)

    def direction(self, query, key, value, output_attentions=False):
        query_features, key_features = self.feature_map(query), self.feature_map(key)
        kernel = torch.matmul(query_features.transpose(-1, -2), key_features) * self.scaling
        context = torch.matmul(self.feature_map(value), kernel) * self.feature_map_derivative(query)
        attention = None
        if output_attentions:
            attention = torch.matmul(query_features, key_features.transpose(-1, -2)) * self.scaling
        return context, attention


ATTENTION_ENERGIES = {
    "bisoftmax": BiSoftmaxEnergy,
    "sigmoid": SigmoidEnergy,
    "relu": ReluEnergy,
    "linear": LinearAttentionEnergy,
}


class ActivationEnergy:
    """E = -sum_m F(h_m) with F' = act (Eq. 5; ReLU: F = ReLU^2 / 2); minus its gradient act(h) (Eq. 10-11)."""

    def __init__(self, config):
        self.activation, self.primitive = ACT2FN[config.hidden_act], ACTIVATION_PRIMITIVES[config.hidden_act]

    def energy(self, h):
        return -self.primitive(upcast(h)).sum((1, 2))

    def direction(self, h):
        return self.activation(h)


class SoftmaxFeedForwardEnergy:
    """E = -logsumexp_m h_m (App. G.1); minus its gradient softmax(h)."""

    def __init__(self, config):
        pass

    def energy(self, h):
        return -upcast(h).logsumexp(-1).sum(1)

    def direction(self, h):
        return h.softmax(dim=-1)


class GatedEnergy:
    """E = -1/2 (sum_m phi(h_m))^2 (App. G.1); minus its gradient (sum_m phi(h_m)) phi'(h)."""

    def __init__(self, config):
        self.feature_map, self.feature_map_derivative = FEATURE_MAPS[config.feedforward_feature_map]

    def energy(self, h):
        return -0.5 * self.feature_map(upcast(h)).sum(-1).square().sum(1)

    def direction(self, h):
        return self.feature_map(h).sum(dim=-1, keepdim=True) * self.feature_map_derivative(h)


FEEDFORWARD_ENERGIES = {"activation": ActivationEnergy, "softmax": SoftmaxFeedForwardEnergy, "gated": GatedEnergy}
