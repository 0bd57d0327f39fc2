"""The Hyper-SET layer is gradient descent on its energy: checked against autograd, at initialisation, and over
iterations; parameter counts of the paper's classifiers."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_config
from torch import nn

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETModel
from hyperset_hf.embeddings import sinusoidal_position_embedding
from hyperset_hf.modeling_hyperset import HyperSETLayer, iteration_embedding


def _layer_without_norms(**config_overrides):
    torch.manual_seed(0)
    config = tiny_config(initializer_range=0.3, **config_overrides)
    layer = HyperSETLayer(config).double()
    attention = layer.attention
    for name in ("qkv_norm", "query_norm", "key_norm", "value_norm"):
        if hasattr(attention, name):
            setattr(attention, name, nn.Identity())
    layer.feedforward.norm = nn.Identity()
    return layer


@pytest.mark.parametrize("share_qkv_norm", [True, False])
def test_attention_update_is_the_energy_gradient(share_qkv_norm):
    layer = _layer_without_norms(share_qkv_norm=share_qkv_norm)
    hidden_states = torch.randn(2, 7, 32, dtype=torch.float64, requires_grad=True)
    energy = layer.attention.energy(hidden_states, normalize=False).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    direction, _ = layer.attention(hidden_states)
    # x <- x - alpha * direction is gradient descent: direction = +dE_attention/dx
    assert (direction - gradient).abs().max().item() <= 1e-6
    assert gradient.abs().max().item() > 1e-2  # the comparison is not trivially between zeros


@pytest.mark.parametrize("hidden_act", ["relu", "gelu"])
def test_feedforward_update_is_minus_the_energy_gradient(hidden_act):
    layer = _layer_without_norms(hidden_act=hidden_act)
    hidden_states = torch.randn(2, 7, 32, dtype=torch.float64, requires_grad=True)
    energy = layer.feedforward.energy(hidden_states, normalize=False).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    direction = layer.feedforward(hidden_states)
    # x <- x + beta * direction is gradient descent: direction = -dE_feedforward/dx
    assert (direction + gradient).abs().max().item() <= 1e-6
    assert gradient.abs().max().item() > 1e-2


def test_attention_energy_matches_the_paper_formula():
    layer = _layer_without_norms()
    hidden_states = torch.randn(2, 5, 32, dtype=torch.float64)
    weight = layer.attention.projection.weight
    head_dim = 8
    expected = torch.zeros(2, dtype=torch.float64)
    for head in range(4):
        z = hidden_states @ weight[head * head_dim : (head + 1) * head_dim].T  # (B, N, p)
        scores = z @ z.transpose(1, 2) / head_dim**0.5
        expected += head_dim**0.5 * torch.logsumexp(scores, dim=-1).sum(-1)
    torch.testing.assert_close(layer.attention.energy(hidden_states, normalize=False), expected)


@pytest.mark.parametrize("hidden_act", ["relu", "gelu"])
@pytest.mark.parametrize("share_qkv_norm", [True, False])
def test_total_energy_decreases_at_every_iteration(hidden_act, share_qkv_norm):
    torch.manual_seed(0)
    config = tiny_config(
        hidden_size=64,
        intermediate_size=64,
        image_size=32,
        num_recurrences=24,
        hidden_act=hidden_act,
        share_qkv_norm=share_qkv_norm,
        initializer_range=0.1,
    )
    model = HyperSETModel(config).double()
    with torch.no_grad():  # fixed small step sizes alpha = beta = 0.01 everywhere
        model.encoder.step_size_network.step_size_projection.bias.fill_(0.01)
    outputs = model(torch.randn(4, 3, 32, 32, dtype=torch.float64), output_energies=True)
    energies = outputs.energies[0]
    assert energies.shape == (4, 25)
    assert (energies[:, 1:] < energies[:, :-1]).all()
    torch.testing.assert_close(energies, outputs.attention_energies[0] + outputs.feedforward_energies[0])


def test_every_iteration_is_the_identity_at_initialisation(pixel_values):
    model = HyperSETModel(tiny_config(num_layers=2, num_recurrences=4)).eval()
    step_size_network = model.encoder.step_size_network
    for linear in (
        step_size_network.time_embedding_projection,
        step_size_network.time_hidden_projection,
        step_size_network.step_size_projection,
    ):
        assert torch.count_nonzero(linear.weight) == 0 and torch.count_nonzero(linear.bias) == 0
    outputs = model(pixel_values, output_hidden_states=True, output_energies=True)
    assert len(outputs.hidden_states) == 9
    for state in outputs.hidden_states[1:]:
        assert torch.equal(state, outputs.hidden_states[0])
    for layer_energies in outputs.energies:
        assert torch.equal(layer_energies, layer_energies[:, :1].expand_as(layer_energies))


def test_more_iterations_at_call_time_change_the_output(pixel_values):
    model = activate_step_sizes(HyperSETForImageClassification(tiny_config(num_recurrences=3))).eval()
    with torch.no_grad():
        trained_depth = model(pixel_values).logits
        default_again = model(pixel_values, num_recurrences=3).logits
        extrapolated = model(pixel_values, num_recurrences=6, output_hidden_states=True, output_energies=True)
    assert torch.equal(trained_depth, default_again)
    assert (extrapolated.logits - trained_depth).abs().max() > 1e-4
    assert len(extrapolated.hidden_states) == 7
    assert extrapolated.energies[0].shape == (3, 7)


def test_iteration_embedding_starts_at_one_with_sines_first():
    embedding = iteration_embedding(torch.tensor([1, 2]), 8)
    frequencies = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(4) / 3)
    torch.testing.assert_close(embedding[0, :4], torch.sin(frequencies))
    torch.testing.assert_close(embedding[1, 4:], torch.cos(2 * frequencies))


def test_sinusoidal_positions_are_interleaved():
    positions = sinusoidal_position_embedding(3, 6)
    torch.testing.assert_close(positions[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(positions[2, 2], torch.sin(torch.tensor(2 / 10000 ** (2 / 6))))
    torch.testing.assert_close(positions[2, 3], torch.cos(torch.tensor(2 / 10000 ** (2 / 6))))


@pytest.mark.parametrize(
    ("num_layers", "num_recurrences", "image_size", "patch_size", "num_labels", "expected"),
    [
        (1, 12, 32, 4, 10, 1_610_538),  # CIFAR-10, L1R12
        (1, 12, 32, 4, 100, 1_656_708),  # CIFAR-100, L1R12
        (1, 12, 224, 14, 1000, 2_395_968),  # ImageNet-1k, L1R12
        (12, 1, 224, 14, 1000, 8_170_880),  # ImageNet-1k, L12R1
    ],
)
def test_parameter_counts_match_the_paper(num_layers, num_recurrences, image_size, patch_size, num_labels, expected):
    config = HyperSETConfig(
        hidden_size=512,
        num_attention_heads=8,
        intermediate_size=512,
        num_layers=num_layers,
        num_recurrences=num_recurrences,
        hidden_act="gelu",
        share_qkv_norm=False,
        step_size_conditioning="current_state",
        image_size=image_size,
        patch_size=patch_size,
        num_labels=num_labels,
    )
    with torch.device("meta"):
        model = HyperSETForImageClassification(config)
    assert model.num_parameters() == expected


def test_initial_state_conditioning_uses_the_embeddings(pixel_values):
    model = activate_step_sizes(HyperSETModel(tiny_config(step_size_conditioning="initial_state"))).eval()
    embeddings = model.embeddings(pixel_values)
    network = model.encoder.step_size_network
    condition = network.time_conditions(3, embeddings.device, embeddings.dtype)[1]
    alpha, beta = network.step_sizes(condition, network.state_norm(embeddings))
    state = model(pixel_values, num_recurrences=1).last_hidden_state
    layer = model.encoder.layers[0]
    # the second iteration must use step sizes computed from x_0, not from x_1
    expected, _ = layer(state, alpha, beta)
    state_two = model(pixel_values, num_recurrences=2).last_hidden_state
    torch.testing.assert_close(state_two, expected)
    direction, _ = layer.attention(state)
    manual = state - alpha * direction
    manual = manual + beta * layer.feedforward(manual)
    torch.testing.assert_close(state_two, manual)
