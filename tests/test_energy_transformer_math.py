"""The Energy Transformer's update is gradient descent on its energy: closed-form gradients against autograd (float64),
the EnergyLayerNorm against its Lagrangian, energy decrease over steps, what a negative gamma does, and the paper's
parameter count."""

import pytest
import torch

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForMaskedImageModeling,
    EnergyTransformerModel,
)
from hyperset_hf.modeling_energy_transformer import EnergyTransformerLayer, patchify, unpatchify


def tiny_et_config(**overrides):
    values = dict(
        hidden_size=12,
        num_attention_heads=2,
        head_dim=8,
        num_memories=24,
        image_size=8,
        patch_size=4,
        num_recurrences=3,
    )
    values.update(overrides)
    return EnergyTransformerConfig(**values)


def _random_layer(**overrides):
    """A float64 block whose weights are all N(0, 0.5), so that both attention terms and the memories matter."""
    torch.manual_seed(0)
    layer = EnergyTransformerLayer(tiny_et_config(**overrides)).double()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.normal_(0.0, 0.5)
    return layer


def _autograd_gradient(energy_function, normalized):
    normalized = normalized.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(energy_function(normalized).sum(), normalized)
    return gradient


@pytest.mark.parametrize("memory_type", ["relu_squared", "softmax"])
@pytest.mark.parametrize("exclude_self_attention", [False, True])
def test_closed_form_gradient_equals_autograd(memory_type, exclude_self_attention):
    layer = _random_layer(
        memory_type=memory_type, exclude_self_attention=exclude_self_attention, memory_bias=True, memory_beta_init=0.7
    )
    normalized = torch.randn(2, 7, 12, dtype=torch.float64)

    def total_energy(g):
        return layer.attention.energy(g) + layer.hopfield.energy(g)

    expected = _autograd_gradient(total_energy, normalized)
    gradient, probabilities, attention_energy, hopfield_energy = layer.energy_gradient(normalized)
    assert (gradient - expected).abs().max().item() <= 1e-8
    assert expected.abs().max().item() > 1.0  # not a comparison between zeros
    # each part separately, and the energies returned with the gradient are the energies
    attention_gradient, _, _ = layer.attention(normalized)
    assert (attention_gradient - _autograd_gradient(layer.attention.energy, normalized)).abs().max().item() <= 1e-8
    hopfield_gradient, _ = layer.hopfield(normalized)
    assert (hopfield_gradient - _autograd_gradient(layer.hopfield.energy, normalized)).abs().max().item() <= 1e-8
    torch.testing.assert_close(attention_energy + hopfield_energy, total_energy(normalized), rtol=0, atol=1e-10)
    # softmax over the keys; a token gives itself no weight when self-attention is excluded
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(2, 2, 7, dtype=torch.float64))
    diagonal = probabilities.diagonal(dim1=-2, dim2=-1)
    assert (diagonal == 0).all() if exclude_self_attention else (diagonal > 0).all()


def test_dropping_the_key_term_is_not_the_gradient():
    """The token-as-key term P^T Q W^K is part of the gradient: the query term alone is off by O(1)."""
    layer = _random_layer()
    normalized = torch.randn(2, 7, 12, dtype=torch.float64)
    attention = layer.attention
    query, key = attention.project(normalized)
    scores, log_partition = attention.scores_and_log_partition(query, key)
    probabilities = torch.exp(scores - log_partition.unsqueeze(-1))
    query_term_only = -torch.einsum("bhny,hyd->bnd", probabilities @ key, attention.query_weight)
    expected = _autograd_gradient(attention.energy, normalized)
    assert (query_term_only - expected).abs().max().item() > 1e-1


def test_attention_energy_matches_the_paper_formula():
    layer = _random_layer(exclude_self_attention=True, memory_bias=True)
    normalized = torch.randn(2, 5, 12, dtype=torch.float64)
    beta = 8**-0.5
    expected = torch.zeros(2, dtype=torch.float64)
    for head in range(2):
        query = normalized @ layer.attention.query_weight[head].T
        key = normalized @ layer.attention.key_weight[head].T
        scores = beta * query @ key.transpose(1, 2)
        for token in range(5):
            others = [b for b in range(5) if b != token]  # sum over B != C
            expected -= torch.logsumexp(scores[:, token, others], dim=-1) / beta
    torch.testing.assert_close(layer.attention.energy(normalized), expected)
    relu_energy = -0.5 * torch.relu(normalized @ layer.hopfield.memories + layer.hopfield.bias).square().sum((1, 2))
    torch.testing.assert_close(layer.hopfield.energy(normalized), relu_energy)


@pytest.mark.parametrize("nonnegative_gamma", [False, True])
def test_energy_layer_norm_is_the_gradient_of_its_lagrangian(nonnegative_gamma):
    layer = _random_layer(nonnegative_gamma=nonnegative_gamma)
    norm = layer.norm
    with torch.no_grad():
        norm.gamma.fill_(-1.3)
    hidden_states = torch.randn(3, 5, 12, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(norm.lagrangian(hidden_states).sum(), hidden_states)
    normalized = norm(hidden_states)
    torch.testing.assert_close(normalized, gradient, rtol=0, atol=1e-12)
    centered = hidden_states - hidden_states.mean(-1, keepdim=True)
    expected = centered / torch.sqrt(centered.square().mean(-1, keepdim=True) + 1e-5)
    gamma = 1.3 if nonnegative_gamma else -1.3
    torch.testing.assert_close(normalized, gamma * expected + norm.bias)


def _energy_trajectories(step_size, gamma=1.0, nonnegative_gamma=True, exclude_self_attention=False):
    """Energies E(LN(x_t)), t = 0..12, of a random-weight model with the official initialisation (W^Q, W^K ~ N(0,
    0.002), xi ~ N(0, 0.02)) on 65 tokens, in float64."""
    torch.manual_seed(0)
    config = EnergyTransformerConfig(
        hidden_size=64,
        num_attention_heads=4,
        head_dim=16,
        num_memories=256,
        image_size=32,
        patch_size=4,
        step_size=step_size,
        nonnegative_gamma=nonnegative_gamma,
        exclude_self_attention=exclude_self_attention,
    )
    model = EnergyTransformerModel(config).double().eval()
    with torch.no_grad():
        model.encoder.layers[0].norm.gamma.fill_(gamma)
        outputs = model(torch.randn(3, 3, 32, 32, dtype=torch.float64), output_energies=True)
    return outputs.energies[0]


@pytest.mark.parametrize("exclude_self_attention", [False, True])
@pytest.mark.parametrize("step_size", [0.1, 1.0])
def test_energy_decreases_at_every_step(step_size, exclude_self_attention):
    energies = _energy_trajectories(step_size, exclude_self_attention=exclude_self_attention)
    assert energies.shape == (3, 13)
    decrease = energies[:, :-1] - energies[:, 1:]
    assert (decrease > 0).all()
    assert (energies[:, 0] - energies[:, -1] > 1.0).all()  # a real descent, not rounding noise


@pytest.mark.parametrize("step_size", [0.1, 1.0])
def test_negative_gamma_makes_the_energy_rise(step_size):
    """With gamma < 0 the Jacobian of the EnergyLayerNorm is negative semi-definite and the same update ascends the
    energy: this is why `nonnegative_gamma=True` (|gamma|) is the default."""
    rising = _energy_trajectories(step_size, gamma=-1.0, nonnegative_gamma=False)
    assert (rising[:, 1:] > rising[:, :-1]).all()
    guarded = _energy_trajectories(step_size, gamma=-1.0, nonnegative_gamma=True)
    assert (guarded[:, 1:] < guarded[:, :-1]).all()
    torch.testing.assert_close(guarded, _energy_trajectories(step_size, gamma=1.0, nonnegative_gamma=True))


def test_a_step_is_x_minus_alpha_times_the_gradient_with_respect_to_g():
    torch.manual_seed(0)
    model = EnergyTransformerModel(tiny_et_config(step_size=0.7)).double().eval()
    layer = model.encoder.layers[0]
    pixel_values = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        outputs = model(pixel_values, num_recurrences=2, output_hidden_states=True)
    initial = outputs.hidden_states[0].clone().requires_grad_(True)
    normalized = layer.norm(initial).detach().requires_grad_(True)
    energy = layer.attention.energy(normalized) + layer.hopfield.energy(normalized)
    (gradient,) = torch.autograd.grad(energy.sum(), normalized)
    torch.testing.assert_close(outputs.hidden_states[1], initial.detach() - 0.7 * gradient, rtol=0, atol=1e-12)


def test_patchify_is_channel_first_and_unpatchify_inverts_it():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    patches = patchify(images, 4)
    assert patches.shape == (2, 4, 48)
    # patch 1 is the top-right 4x4 block; inside a patch, the channels come first ("c h w")
    torch.testing.assert_close(patches[0, 1], images[0, :, :4, 4:].reshape(-1))
    torch.testing.assert_close(unpatchify(patches, 4, 3, 8, 8), images)


def test_imagenet_preset_parameter_count():
    """The paper's ImageNet completion model: W^Q + W^K 1,179,648 + memories 2,359,296 + patch encoder 590,592 +
    decoder 590,592 + positions 151,296 + CLS and mask tokens 1,536 + EnergyLayerNorm (scalar gamma, 768 biases,
    shared by the block and the decoder) 769 = 4,873,729."""
    config = EnergyTransformerConfig.from_preset("imagenet-1k-mim")
    assert (config.image_size, config.patch_size, config.hidden_size) == (224, 16, 768)
    assert (config.num_attention_heads, config.head_dim, config.num_memories) == (12, 64, 3072)
    assert (config.num_recurrences, config.step_size, config.attention_scaling) == (12, 0.1, 0.125)
    with torch.device("meta"):
        model = EnergyTransformerForMaskedImageModeling(config)
    assert model.num_parameters() == 4_873_729
    core = model.energy_transformer.encoder.layers[0]
    assert sum(parameter.numel() for parameter in core.attention.parameters()) == 1_179_648
    assert core.hopfield.memories.shape == (768, 3072)
    assert core.norm.gamma.numel() == 1
