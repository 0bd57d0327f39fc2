"""The paper's alternative designs (App. G.1, Table 5) as config options: every variant's update is minus the autograd
gradient of that variant's energy; depth-wise LoRA, the "basic" step-size network and fixed step sizes are wired in
as specified; parameter counts match the paper; truncated backpropagation and sampled depths in training."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_config, tiny_sudoku_model
from torch import nn

from hyperset_hf import HyperSETConfig, HyperSETForImageClassification, HyperSETForSudoku, HyperSETModel
from hyperset_hf.configuration_hyperset import FEATURE_MAPS
from hyperset_hf.energies import FEATURE_MAPS as FEATURE_MAP_FUNCTIONS
from hyperset_hf.modeling_hyperset import HyperSETLayer


ATTENTION_VARIANTS = [("bisoftmax", "sigmoid"), ("sigmoid", "sigmoid"), ("relu", "sigmoid")] + [
    ("linear", feature_map) for feature_map in FEATURE_MAPS
]
FEEDFORWARD_VARIANTS = [("activation", "sigmoid", "relu"), ("activation", "sigmoid", "gelu")]
FEEDFORWARD_VARIANTS += [("softmax", "sigmoid", "relu")]
FEEDFORWARD_VARIANTS += [("gated", feature_map, "relu") for feature_map in FEATURE_MAPS]


def _layer_without_norms(**config_overrides):
    """A float64 layer whose RMSNorms are the identity, so that its updates are exact energy gradients."""
    torch.manual_seed(0)
    config = tiny_config(initializer_range=0.3, **config_overrides)
    layer = HyperSETLayer(config).double()
    for name in ("qkv_norm", "query_norm", "key_norm", "value_norm"):
        if hasattr(layer.attention, name):
            setattr(layer.attention, name, nn.Identity())
    layer.feedforward.norm = nn.Identity()
    return layer


def _states(*shape):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)


@pytest.mark.parametrize("feature_map", FEATURE_MAPS)
def test_feature_map_derivatives_match_autograd(feature_map):
    function, derivative = FEATURE_MAP_FUNCTIONS[feature_map]
    x = torch.linspace(-4, 4, 101, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(function(x).sum(), x)
    torch.testing.assert_close(derivative(x.detach()), gradient, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize(("attention_type", "feature_map"), ATTENTION_VARIANTS)
@pytest.mark.parametrize("share_qkv_norm", [True, False])
def test_attention_update_is_the_gradient_of_its_energy(attention_type, feature_map, share_qkv_norm):
    layer = _layer_without_norms(
        attention_type=attention_type, attention_feature_map=feature_map, share_qkv_norm=share_qkv_norm
    )
    hidden_states = _states(2, 7, 32)
    energy = layer.attention.energy(hidden_states, normalize=False).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    direction, attention = layer.attention(hidden_states)
    # x <- x - alpha * direction is gradient descent on the variant's energy
    torch.testing.assert_close(direction, gradient, atol=1e-9, rtol=1e-9)
    assert gradient.abs().max().item() > 1e-2  # not trivially between zeros
    assert attention.shape == (2, 4, 7, 7)


@pytest.mark.parametrize(("feedforward_type", "feature_map", "hidden_act"), FEEDFORWARD_VARIANTS)
def test_feedforward_update_is_minus_the_gradient_of_its_energy(feedforward_type, feature_map, hidden_act):
    layer = _layer_without_norms(
        feedforward_type=feedforward_type, feedforward_feature_map=feature_map, hidden_act=hidden_act
    )
    hidden_states = _states(2, 7, 32)
    energy = layer.feedforward.energy(hidden_states, normalize=False).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    direction = layer.feedforward(hidden_states)
    torch.testing.assert_close(direction, -gradient, atol=1e-9, rtol=1e-9)
    assert gradient.abs().max().item() > 1e-2


def test_variant_energies_follow_their_formulas():
    hidden_states = _states(2, 5, 32).detach()
    head_dim = 8

    def heads(layer):
        weight = layer.attention.projection.weight
        return [hidden_states @ weight[h * head_dim : (h + 1) * head_dim].T for h in range(4)]

    layer = _layer_without_norms(attention_type="sigmoid")
    expected = sum(
        head_dim**0.5 / 2 * torch.sigmoid(z @ z.transpose(1, 2) / head_dim**0.5).sum((1, 2)) for z in heads(layer)
    )
    torch.testing.assert_close(layer.attention.energy(hidden_states, normalize=False), expected)
    layer = _layer_without_norms(attention_type="relu")
    expected = sum(0.25 * torch.relu(z @ z.transpose(1, 2)).square().sum((1, 2)) for z in heads(layer))
    torch.testing.assert_close(layer.attention.energy(hidden_states, normalize=False), expected)
    layer = _layer_without_norms(attention_type="linear", attention_feature_map="tanh")
    expected = sum(
        (torch.tanh(z) @ torch.tanh(z).transpose(1, 2)).square().sum((1, 2)) / (4 * head_dim**0.5) for z in heads(layer)
    )
    torch.testing.assert_close(layer.attention.energy(hidden_states, normalize=False), expected)
    layer = _layer_without_norms(feedforward_type="gated", feedforward_feature_map="softplus")
    hidden = hidden_states @ layer.feedforward.projection.weight.T
    expected = -0.5 * torch.nn.functional.softplus(hidden).sum(-1).square().sum(-1)
    torch.testing.assert_close(layer.feedforward.energy(hidden_states, normalize=False), expected)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(attention_type="sigmoid"),
        dict(attention_type="relu"),
        dict(attention_type="linear", attention_feature_map="elup1"),
        dict(feedforward_type="softmax"),
        dict(feedforward_type="gated", feedforward_feature_map="silu"),
    ],
)
def test_variant_energy_decreases_under_small_fixed_steps(overrides):
    torch.manual_seed(0)
    config = tiny_config(
        step_size_type="fixed", fixed_step_size=1e-3, num_recurrences=8, initializer_range=0.1, **overrides
    )
    model = HyperSETModel(config).double().eval()
    with torch.no_grad():
        energies = model(torch.randn(2, 3, 16, 16, dtype=torch.float64), output_energies=True).energies[0]
    assert energies.shape == (2, 9)
    assert (energies[:, 1:] < energies[:, :-1]).all(), energies


def test_linear_attention_matrix_is_the_feature_similarity():
    layer = _layer_without_norms(attention_type="linear", attention_feature_map="softplus")
    hidden_states = _states(1, 6, 32).detach()
    _, attention = layer.attention(hidden_states)
    features = torch.nn.functional.softplus(layer.attention.project_heads(hidden_states))
    torch.testing.assert_close(attention, features @ features.transpose(-1, -2) / 8**0.5)


# ------------------------------------------------------------------------------------------------- step sizes


def test_fixed_step_size_iteration_and_no_step_size_network(pixel_values):
    model = HyperSETModel(tiny_config(step_size_type="fixed", fixed_step_size=0.5, num_recurrences=1)).eval()
    assert not any("step_size" in name for name, _ in model.named_parameters())
    embeddings = model.embeddings(pixel_values)
    layer = model.encoder.layers[0]
    expected = embeddings - 0.5 * layer.attention(embeddings)[0]
    expected = expected + 0.5 * layer.feedforward(expected)
    torch.testing.assert_close(model(pixel_values).last_hidden_state, expected)


def test_basic_step_size_network_normalises_the_head_input(pixel_values):
    model = activate_step_sizes(HyperSETModel(tiny_config(step_size_network_type="basic"))).eval()
    network = model.encoder.step_size_network
    with torch.no_grad():
        network.head_norm.weight.copy_(torch.linspace(0.5, 2.0, 32))
    embeddings = model.embeddings(pixel_values)
    condition = network.time_conditions(1, embeddings.device, embeddings.dtype)[0]
    head_input = network.head_norm(condition + network.state_norm(embeddings))
    alpha, beta = network.step_size_projection(torch.nn.functional.gelu(head_input)).chunk(2, dim=-1)
    layer = model.encoder.layers[0]
    expected = embeddings - alpha * layer.attention(embeddings)[0]
    expected = expected + beta * layer.feedforward(expected)
    torch.testing.assert_close(model(pixel_values, num_recurrences=1).last_hidden_state, expected)


# ------------------------------------------------------------------------------------------------- depth-wise LoRA


@pytest.mark.parametrize(
    ("rank", "expected"), [(0, 1_934_268), (4, 2_032_572), (8, 2_130_876), (16, 2_327_484), (32, 2_720_700)]
)
def test_depthwise_lora_parameter_counts_match_the_paper(rank, expected):
    # ImageNet-100 head, d=512, 1 layer x 12 iterations, FF width 512, 224 px in 14-px patches (paper Table 5)
    config = HyperSETConfig(image_size=224, patch_size=14, num_labels=100, depthwise_lora_rank=rank)
    with torch.device("meta"):
        model = HyperSETForImageClassification(config)
    assert model.num_parameters() == expected


def test_reference_variant_parameter_counts():
    # spec 11.2: d=64, 4 heads, FF width 64, 32-px images in 4-px patches, 10 classes
    small = dict(hidden_size=64, num_attention_heads=4, intermediate_size=64, num_labels=10)
    counts = {}
    for name, overrides in {
        "hyper-set": {},
        "hyper-set-basic": dict(step_size_network_type="basic"),
        "hyper-set-lora": dict(depthwise_lora_rank=4),
        "hyper-set-ss": dict(step_size_type="fixed"),
    }.items():
        with torch.device("meta"):
            counts[name] = HyperSETForImageClassification(HyperSETConfig(**small, **overrides)).num_parameters()
    assert counts == {"hyper-set": 58_074, "hyper-set-basic": 58_138, "hyper-set-lora": 70_362, "hyper-set-ss": 12_506}


def test_depthwise_lora_initialisation_and_update_gradient():
    torch.manual_seed(0)
    config = tiny_config(depthwise_lora_rank=3, depthwise_lora_scale=2.0, num_recurrences=4, intermediate_size=48)
    model = HyperSETModel(config)
    lora = model.encoder.depthwise_lora
    assert lora.attention_up.shape == (4, 32, 3) and lora.feedforward_up.shape == (4, 48, 3)
    for factor in (lora.attention_up, lora.attention_down, lora.feedforward_up, lora.feedforward_down):
        assert abs(factor.std().item() - 0.02) < 0.006  # N(0, 0.02), not zero
        assert torch.count_nonzero(factor) == factor.numel()
    layer = model.encoder.layers[0].double()
    lora = lora.double()
    for norm in ("query_norm", "key_norm", "value_norm"):
        setattr(layer.attention, norm, nn.Identity())
    layer.feedforward.norm = nn.Identity()
    attention_weight, feedforward_weight = lora(layer, 2)
    torch.testing.assert_close(
        attention_weight, layer.attention.projection.weight + 2.0 * lora.attention_up[2] @ lora.attention_down[2]
    )
    hidden_states = _states(2, 5, 32)
    # the update of iteration 2 is the gradient of the energy with W + delta_2 (in both directions of the tied map)
    energy = layer.attention.energy(hidden_states, normalize=False, weight=attention_weight).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    torch.testing.assert_close(layer.attention(hidden_states, attention_weight)[0], gradient)
    energy = layer.feedforward.energy(hidden_states, normalize=False, weight=feedforward_weight).sum()
    (gradient,) = torch.autograd.grad(energy, hidden_states)
    torch.testing.assert_close(layer.feedforward(hidden_states, feedforward_weight), -gradient)


def test_depthwise_lora_uses_a_different_delta_per_iteration_and_cannot_extrapolate(pixel_values):
    config = tiny_config(depthwise_lora_rank=2, num_recurrences=3)
    model = activate_step_sizes(HyperSETModel(config)).eval()
    with torch.no_grad():
        lora_output = model(pixel_values, output_energies=True)
        shorter = model(pixel_values, num_recurrences=2)  # fewer iterations than built: allowed
        lora = model.encoder.depthwise_lora
        for factor in (lora.attention_up, lora.feedforward_up):
            factor.zero_()
        plain = HyperSETModel(tiny_config(num_recurrences=3)).eval()
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if "depthwise_lora" not in k})
        torch.testing.assert_close(model(pixel_values).last_hidden_state, plain(pixel_values).last_hidden_state)
    assert (lora_output.last_hidden_state - plain(pixel_values).last_hidden_state).abs().max() > 1e-5
    assert lora_output.energies[0].shape == (3, 4) and shorter.last_hidden_state.shape == (3, 17, 32)
    with pytest.raises(ValueError, match="depth-wise LoRA weight deltas for 3 iterations.*cannot run 4"):
        model(pixel_values, num_recurrences=4)


def test_variant_configs_round_trip(tmp_path, pixel_values):
    config = tiny_config(
        attention_type="linear",
        attention_feature_map="elu",
        feedforward_type="gated",
        feedforward_feature_map="tanh",
        step_size_network_type="basic",
        depthwise_lora_rank=2,
    )
    model = activate_step_sizes(HyperSETForImageClassification(config)).eval()
    model.save_pretrained(tmp_path)
    loaded = HyperSETForImageClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.attention_type == "linear" and loaded.config.depthwise_lora_rank == 2
    with torch.no_grad():
        assert torch.equal(model(pixel_values).logits, loaded(pixel_values).logits)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(attention_type="cosine"), "attention_type"),
        (dict(attention_type="linear", attention_feature_map="relu"), "attention_feature_map"),
        (dict(feedforward_type="gated", feedforward_feature_map="exp"), "feedforward_feature_map"),
        (dict(step_size_type="adaptive"), "step_size_type"),
        (dict(step_size_network_type="fancy"), "step_size_network_type"),
        (dict(depthwise_lora_rank=-2), "depthwise_lora_rank"),
        (dict(fixed_step_size=0.0), "fixed_step_size"),
        (dict(num_gradient_free_iterations=3), "num_gradient_free_iterations"),
        (dict(training_num_recurrences_min=4), "training_num_recurrences_max"),
        (dict(training_num_recurrences_min=5, training_num_recurrences_max=4), "must not exceed"),
        (dict(depthwise_lora_rank=2, training_num_recurrences_min=2, training_num_recurrences_max=6), "LoRA"),
        (dict(layer_type="transformer", feedforward_type="softmax"), "Transformer baseline"),
    ],
)
def test_bad_variant_values_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


# ------------------------------------------------------------------------------------------------- training depth


def _sudoku_model(**overrides):
    return tiny_sudoku_model(**overrides).double()


def test_truncated_backpropagation_equals_a_detached_prefix():
    puzzles = torch.randint(0, 10, (2, 81), generator=torch.Generator().manual_seed(0))
    model = _sudoku_model(num_gradient_free_iterations=3)
    base = model.hyperset
    # reference: the state after 3 iterations without graph, then the last iteration with graph
    model.eval()
    with torch.no_grad():
        prefix = base(input_ids=puzzles, num_recurrences=3).last_hidden_state
    model.zero_grad()
    embeddings = base.embeddings(puzzles)
    network = base.encoder.step_size_network
    conditions = network.time_conditions(4, embeddings.device, embeddings.dtype)
    initial = network.conditioning_state(embeddings)
    state, _ = base.encoder.layers[0](prefix, *network.step_sizes(conditions[3], initial))
    state.square().sum().backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    model.train()
    model.zero_grad()
    outputs = base(input_ids=puzzles, output_hidden_states=True)
    torch.testing.assert_close(outputs.last_hidden_state, state)
    assert not outputs.hidden_states[3].requires_grad and outputs.hidden_states[4].requires_grad
    outputs.last_hidden_state.square().sum().backward()
    truncated = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    assert set(truncated) == set(expected)
    for name, gradient in expected.items():
        torch.testing.assert_close(truncated[name], gradient, msg=name)

    model.zero_grad()
    model.config.num_gradient_free_iterations = 0  # full backpropagation differs
    base(input_ids=puzzles).last_hidden_state.square().sum().backward()
    weight = "hyperset.encoder.layers.0.attention.projection.weight"
    full = dict(model.named_parameters())[weight].grad
    assert (full - truncated[weight]).abs().max() > 1e-6
    with pytest.raises(ValueError, match="num_gradient_free_iterations"):
        model.config.num_gradient_free_iterations = 3
        base(input_ids=puzzles, num_recurrences=3)


def test_training_samples_the_number_of_iterations():
    puzzles = torch.randint(0, 10, (2, 81), generator=torch.Generator().manual_seed(0))
    model = _sudoku_model(training_num_recurrences_min=2, training_num_recurrences_max=6)
    model.train()
    torch.manual_seed(0)
    depths = [len(model(puzzles, output_energies=True).energies[0][0]) - 1 for _ in range(40)]
    assert set(depths) == {2, 3, 4, 5, 6}
    torch.manual_seed(0)
    assert depths == [len(model(puzzles, output_energies=True).energies[0][0]) - 1 for _ in range(40)]
    assert model(puzzles, num_recurrences=9, output_energies=True).energies[0].shape == (2, 10)  # explicit wins
    model.eval()
    assert {model(puzzles, output_energies=True).energies[0].shape[1] for _ in range(5)} == {5}  # config depth


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_depthwise_lora_and_truncation_under_gradient_checkpointing(use_reentrant):
    puzzles = torch.randint(0, 10, (2, 81), generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 9, (2, 81), generator=torch.Generator().manual_seed(1))
    model = _sudoku_model(depthwise_lora_rank=2, num_gradient_free_iterations=1).float().train()

    def gradients():
        model.zero_grad()
        model(puzzles, labels=labels).loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    reference = gradients()
    assert any("depthwise_lora" in name for name in reference)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": use_reentrant})
    checkpointed = gradients()
    assert set(checkpointed) == set(reference)
    for name, gradient in reference.items():
        torch.testing.assert_close(checkpointed[name], gradient, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("network_type", ["unnormalized", "normalized", "sinusoidal"])
def test_the_zero_started_time_path_never_learns_and_the_sinusoidal_one_depends_on_the_iteration(network_type):
    """Documented in `step_size_network_type`: both Linears of the time path start at zero, so neither weight ever
    gets a gradient and, conditioned on x_0, the step sizes are the same at every iteration even after training;
    the sinusoidal network's step sizes differ between iterations."""
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                        num_recurrences=3, step_size_network_type=network_type,
                                        time_embedding_size=16, step_size_activation="softplus",
                                        step_size_initial_value=0.5, deep_supervision="all")
    model = HyperSETForSudoku(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    input_ids = torch.randint(0, 10, (4, 81))
    labels = torch.randint(0, 9, (4, 81)).masked_fill(input_ids > 0, -100)
    for _ in range(3):
        optimizer.zero_grad()
        model(input_ids=input_ids, labels=labels).loss.backward()
        optimizer.step()
    network = model.hyperset.encoder.step_size_network
    assert network.step_size_projection.weight.abs().max() > 0  # the head learned
    if network_type != "sinusoidal":
        assert network.time_embedding_projection.weight.abs().max() == 0
        assert network.time_hidden_projection.weight.abs().max() == 0
        assert network.time_hidden_projection.bias.abs().max() > 0  # only the last bias moves
    model.eval()
    with torch.no_grad():
        embeddings = model.hyperset.embeddings(input_ids)
        alphas = [network(iteration, embeddings, network.prepare(embeddings))[0] for iteration in range(3)]
    same = all(torch.equal(alphas[0], alpha) for alpha in alphas[1:])
    assert same == (network_type != "sinusoidal")
