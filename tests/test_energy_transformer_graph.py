"""The Energy Transformer on graphs (`EnergyTransformerForNodeClassification`): the closed-form update is minus the
gradient of the graph energy, the energy decreases, a complete graph gives the image model, node permutation
equivariance, the self-loop policy, bad inputs, save/load and Auto classes, remote code, and the node loss."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub.errors import StrictDataclassFieldValidationError
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForTokenClassification

from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForNodeClassification
from hyperset_hf.modeling_energy_transformer import (
    EnergyTransformerAttention,
    EnergyTransformerLayer,
    build_graph_index,
)


NUM_NODES, NUM_FEATURES = 7, 6


def graph_config(**overrides):
    """d=12, 2 heads of width 4, 16 memories, 3 steps; weights initialised wide enough that every step moves the
    state visibly."""
    values = dict(
        num_node_features=NUM_FEATURES,
        hidden_size=12,
        num_attention_heads=2,
        head_dim=4,
        num_memories=16,
        num_recurrences=3,
        num_labels=3,
        token_initializer_range=0.3,
        initializer_range=0.3,
        step_size=0.1,
    )
    values.update(overrides)
    return EnergyTransformerConfig(**values)


def build(dtype=torch.float64, **overrides):
    torch.manual_seed(0)
    model = EnergyTransformerForNodeClassification(graph_config(**overrides)).eval().to(dtype)
    with torch.no_grad():  # a non-trivial EnergyLayerNorm
        for layer in model.layers:
            layer.norm.gamma.fill_(1.3)
            layer.norm.bias.normal_(0.0, 0.2)
    return model


def random_graph(num_edge_types=1, seed=1, dtype=torch.float64):
    """7 nodes, 15 edges: random ones, a self-loop (2 -> 2) and a duplicate edge; node 6 has no in-edges."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(NUM_NODES, NUM_FEATURES, generator=generator, dtype=dtype)
    source = torch.randint(0, NUM_NODES, (12,), generator=generator)
    target = torch.randint(0, NUM_NODES - 1, (12,), generator=generator)
    edge_index = torch.cat((torch.stack((source, target)), torch.tensor([[2, 0, 0], [2, 1, 1]])), dim=1)
    edge_type = torch.randint(0, num_edge_types, (edge_index.shape[1],), generator=generator)
    return x, edge_index, edge_type


def graph_energy(layer, normalized, graph):
    return layer.attention.energy(normalized, graph) + layer.hopfield.energy(normalized.unsqueeze(0))[0]


# --- (1) the closed-form update is minus the gradient of the energy --------------------------------------------------


@pytest.mark.parametrize("num_edge_types", [1, 3])
@pytest.mark.parametrize("add_self_loops", [True, False])
@pytest.mark.parametrize("memory_type", ["relu_squared", "softmax"])
def test_closed_form_update_is_minus_the_energy_gradient(num_edge_types, add_self_loops, memory_type):
    model = build(num_edge_types=num_edge_types, add_self_loops=add_self_loops, memory_type=memory_type)
    layer = model.layers[0]
    x, edge_index, edge_type = random_graph(num_edge_types)
    graph = build_graph_index(edge_index, edge_type, NUM_NODES, num_edge_types, add_self_loops)
    state = model.node_embeddings(x).detach()

    normalized = layer.norm(state).detach().requires_grad_(True)
    (autograd_gradient,) = torch.autograd.grad(graph_energy(layer, normalized, graph), normalized)
    closed_form, _, attention_energy, hopfield_energy = layer.energy_gradient(normalized.detach(), graph)
    assert autograd_gradient.abs().max() > 1e-2  # not a trivial comparison
    torch.testing.assert_close(closed_form, autograd_gradient, atol=1e-10, rtol=0)
    torch.testing.assert_close(attention_energy + hopfield_energy, graph_energy(layer, normalized, graph))

    # the step on the state: x <- x - step_size * dE/dg with g = LN(x)
    with torch.no_grad():
        next_state, _ = layer(state, graph)
        energies = torch.stack(layer.energies(state, graph))
    torch.testing.assert_close(next_state, state - 0.1 * autograd_gradient, atol=1e-12, rtol=0)
    torch.testing.assert_close(energies.sum(), graph_energy(layer, normalized, graph).detach())


def test_attention_energy_is_the_neighbourhood_log_sum_exp():
    """E_att = -(1/beta) sum_r sum_h sum_i logsumexp_{j in N_r(i)} (beta K_j . Q_i), written out node by node."""
    model = build(num_edge_types=2)
    attention = model.layers[0].attention
    x, edge_index, edge_type = random_graph(2)
    g = model.layers[0].norm(model.node_embeddings(x)).detach()
    beta = attention.scaling
    expected = torch.zeros((), dtype=torch.float64)
    for r in range(2):
        queries = torch.einsum("hyd,nd->nhy", attention.query_weight[r], g)
        keys = torch.einsum("hyd,nd->nhy", attention.key_weight[r], g)
        for i in range(NUM_NODES):
            typed = (edge_type == r) & (edge_index[1] == i) & (edge_index[0] != i)
            neighbours = torch.cat((edge_index[0, typed], torch.tensor([i])))  # + one self-loop
            scores = beta * torch.einsum("hy,jhy->hj", queries[i], keys[neighbours])
            expected = expected - torch.logsumexp(scores, dim=-1).sum() / beta
    graph = build_graph_index(edge_index, edge_type, NUM_NODES, 2, True)
    torch.testing.assert_close(attention.energy(g, graph), expected, atol=1e-12, rtol=0)


# --- (2) the energy decreases ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_edge_types", [1, 2])
def test_energy_decreases_at_every_step(num_edge_types):
    model = build(num_edge_types=num_edge_types, step_size=0.05, num_layers=2)
    x, edge_index, edge_type = random_graph(num_edge_types)
    with torch.inference_mode():  # the closed-form updates need no autograd
        outputs = model(x, edge_index, edge_type, num_recurrences=30, output_energies=True)
    assert len(outputs.energies) == 2
    for energies, attention, hopfield in zip(
        outputs.energies, outputs.attention_energies, outputs.feedforward_energies
    ):
        assert energies.shape == (31,)
        torch.testing.assert_close(energies, attention + hopfield)
        assert (energies.diff() < 0).all(), energies


# --- (3) a complete graph is the image model -------------------------------------------------------------------------


@pytest.mark.parametrize("add_self_loops", [True, False])
def test_complete_graph_equals_the_dense_image_attention(add_self_loops):
    model = build(add_self_loops=add_self_loops)
    graph_layer = model.layers[0]
    num_nodes = 6
    nodes = torch.arange(num_nodes)
    edge_index = torch.stack((nodes.repeat(num_nodes), nodes.repeat_interleave(num_nodes)))  # all j -> i, self too
    edge_index = edge_index[:, torch.randperm(edge_index.shape[1], generator=torch.Generator().manual_seed(3))]
    graph = build_graph_index(edge_index, None, num_nodes, 1, add_self_loops)
    state = torch.randn(num_nodes, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    image_config = graph_config(num_node_features=None, exclude_self_attention=False)
    image_layer = EnergyTransformerLayer(image_config).to(torch.float64)
    image_shapes = {name: value.shape for name, value in image_layer.state_dict().items()}
    graph_weights = graph_layer.state_dict()  # the same names; the attention weights have a leading edge-type axis
    image_layer.load_state_dict({name: value.reshape(image_shapes[name]) for name, value in graph_weights.items()})
    assert isinstance(image_layer.attention, EnergyTransformerAttention)

    with torch.no_grad():
        g = graph_layer.norm(state)
        gradient, probabilities, energy = graph_layer.attention(g, graph)
        image_gradient, image_probabilities, image_energy = image_layer.attention(g.unsqueeze(0))
        torch.testing.assert_close(energy, image_energy[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(gradient, image_gradient[0], atol=1e-12, rtol=0)
        # the weight of edge j -> i is the image model's P[h, i (query), j (key)]
        num_edges = edge_index.shape[1]
        dense = image_probabilities[0][:, edge_index[1], edge_index[0]].t()  # (num_edges, num_heads)
        if add_self_loops:  # the edge list's self-loops are replaced by the appended ones (one per node)
            is_loop = (edge_index[0] == edge_index[1]).unsqueeze(-1)
            dense = dense.masked_fill(is_loop, 0.0)
            diagonal = image_probabilities[0].diagonal(dim1=1, dim2=2).t()  # (num_nodes, num_heads)
            torch.testing.assert_close(probabilities[num_edges:], diagonal, atol=1e-12, rtol=0)
        torch.testing.assert_close(probabilities[:num_edges], dense, atol=1e-12, rtol=0)

        # the whole step (attention + memories) on the state
        next_state, _ = graph_layer(state, graph)
        image_next_state, _ = image_layer(state.unsqueeze(0))
        energies = torch.stack(graph_layer.energies(state, graph))
        image_energies = torch.stack(image_layer.energies(state.unsqueeze(0)), dim=-1)
        torch.testing.assert_close(next_state, image_next_state[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(energies, image_energies[0], atol=1e-12, rtol=0)


# --- (4) permutation equivariance and the self-loop policy -----------------------------------------------------------


@pytest.mark.parametrize("num_edge_types", [1, 2])
@pytest.mark.parametrize("energy_readout", [False, True])
def test_node_permutation_equivariance(num_edge_types, energy_readout):
    model = build(num_edge_types=num_edge_types, energy_readout=energy_readout, classifier_type="mlp")
    x, edge_index, edge_type = random_graph(num_edge_types)
    permutation = torch.randperm(NUM_NODES, generator=torch.Generator().manual_seed(5))  # new node k = old node perm[k]
    new_label = torch.argsort(permutation)  # old node i -> new node new_label[i]
    edge_order = torch.randperm(edge_index.shape[1], generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        outputs = model(x, edge_index, edge_type, output_energies=True)
        permuted = model(
            x[permutation], new_label[edge_index][:, edge_order], edge_type[edge_order], output_energies=True
        )
    torch.testing.assert_close(permuted.logits, outputs.logits[permutation], atol=1e-12, rtol=0)
    torch.testing.assert_close(permuted.energies[0], outputs.energies[0], atol=1e-12, rtol=0)


def test_existing_self_loops_are_replaced_not_counted_twice():
    model = build()
    x, edge_index, _ = random_graph()
    without_loops = edge_index[:, edge_index[0] != edge_index[1]]
    all_loops = torch.cat((edge_index, torch.arange(NUM_NODES).repeat(2, 1)), dim=1)
    with torch.no_grad():
        reference = model(x, without_loops).logits
        torch.testing.assert_close(model(x, edge_index).logits, reference, atol=1e-12, rtol=0)
        torch.testing.assert_close(model(x, all_loops).logits, reference, atol=1e-12, rtol=0)
        # without added self-loops, the edge list is used as given: its self-loops count
        model.config.add_self_loops = False
        assert not torch.allclose(model(x, without_loops).logits, model(x, all_loops).logits)


def test_graph_with_no_edges_and_a_single_node():
    model = build()
    with torch.no_grad():
        outputs = model(torch.randn(1, NUM_FEATURES, dtype=torch.float64), torch.zeros(2, 0, dtype=torch.long),
                        output_energies=True)  # fmt: skip
    assert outputs.logits.shape == (1, 3) and torch.isfinite(outputs.energies[0]).all()


def test_loop_has_no_graph_breaks():
    """The recurrent step only gathers and scatters with fixed indices: one graph for torch.compile."""
    model = build(dtype=torch.float32)
    x, edge_index, edge_type = random_graph(dtype=torch.float32)
    graph = build_graph_index(edge_index, None, NUM_NODES, 1, True)
    state = model.node_embeddings(x).detach()
    explanation = torch._dynamo.explain(model.layers[0])(state, graph)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    torch._dynamo.reset()


# --- (5) bad inputs --------------------------------------------------------------------------------------------------


def _bad(**changes):
    x, edge_index, edge_type = random_graph(2)
    inputs = dict(x=x, edge_index=edge_index, edge_type=edge_type)
    inputs.update(changes)
    return inputs


BAD_EDGE_INDEX = random_graph(2)[1].clone()
BAD_EDGE_INDEX[1, 4] = NUM_NODES
NEGATIVE_EDGE_INDEX = random_graph(2)[1].clone()
NEGATIVE_EDGE_INDEX[0, 3] = -1
BAD_EDGE_TYPE = random_graph(2)[2].clone()
BAD_EDGE_TYPE[2] = 3
NAN_X = random_graph(2)[0].clone()
NAN_X[2, 3] = float("nan")


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        (_bad(edge_index=BAD_EDGE_INDEX[:1]), ValueError, r"`edge_index` must be a tensor of shape \(2, num_edges\).*got \(1, 15\)"),
        (_bad(edge_index=torch.zeros(2, 3, 5, dtype=torch.long)), ValueError, r"got \(2, 3, 5\)"),
        (_bad(edge_index=BAD_EDGE_INDEX.float()), ValueError, "`edge_index` must be an integer tensor .* got dtype torch.float32"),
        (_bad(edge_index=BAD_EDGE_INDEX.bool()), ValueError, "got dtype torch.bool"),
        (_bad(edge_index=BAD_EDGE_INDEX), ValueError, r"node indices in 0-6 \(the graph has 7 nodes.*edge 4 has the target 7"),
        (_bad(edge_index=NEGATIVE_EDGE_INDEX), ValueError, "edge 3 has the source -1"),
        (_bad(edge_type=BAD_EDGE_TYPE), ValueError, r"types in 0-1 \(config.num_edge_types = 2\); edge 2 has type 3"),
        (_bad(edge_type=BAD_EDGE_TYPE[:14]), ValueError, r"one entry per edge, shape \(15,\).* got \(14,\)"),
        (_bad(edge_type=BAD_EDGE_TYPE.float()), ValueError, "`edge_type` must be an integer tensor.*torch.float32"),
        (_bad(edge_type=None), ValueError, "`edge_type` .* is required.*num_edge_types = 2"),
        (_bad(x=torch.randn(NUM_NODES, dtype=torch.float64)), ValueError, r"`x` must be a tensor of shape \(num_nodes, num_node_features\), got \(7,\)"),
        (_bad(x=torch.randn(1, NUM_NODES, NUM_FEATURES)), ValueError, r"got \(1, 7, 6\)"),
        (_bad(x=NAN_X), ValueError, "`x` must be finite; it holds nan at node 2, feature 3"),
        (_bad(x=torch.randn(NUM_NODES, 5)), ValueError, r"`x` has 5 features per node but the model expects 6 \(config.num_node_features\)"),
        (_bad(x=torch.randn(0, NUM_FEATURES)), ValueError, "`x` has 0 nodes"),
        (_bad(x=torch.ones(NUM_NODES, NUM_FEATURES, dtype=torch.long)), ValueError, "`x` must be a float tensor.*torch.int64"),
        (_bad(labels=torch.zeros(6, dtype=torch.long)), ValueError, r"`labels` must have one entry per node, shape \(7,\), got \(6,\)"),
        (_bad(labels=torch.tensor([0, 3, 1, -100, 0, 0, 2])), ValueError, r"class indices in 0-2, or -100 .*; node 1 has 3"),
        (_bad(labels=torch.tensor([0, 1, 1, -1, 0, 0, 2])), ValueError, "node 3 has -1"),
        (_bad(labels=torch.zeros(7)), ValueError, "`labels` must be an integer tensor.*torch.float32"),
        (_bad(num_recurrences=0), ValueError, "`num_recurrences` must be a positive integer, got 0"),
        (_bad(output_energy=True), TypeError, "output_energy"),
        (dict(x=random_graph()[0]), ValueError, "pass the node features `x`.*and `edge_index`"),
    ],
)  # fmt: skip
def test_bad_inputs_raise_clear_errors(inputs, error, message):
    model = build(num_edge_types=2)
    with pytest.raises(error, match=message):
        model(**inputs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_node_features": 0}, "`num_node_features` must be a positive integer, got 0"),
        ({"num_edge_types": 0}, "`num_edge_types` must be a positive integer, got 0"),
        ({"class_weights": [1.0, -2.0, 1.0]}, r"finite non-negative numbers .* got \[1.0, -2.0, 1.0\]"),
        ({"class_weights": [0.0, 0.0, 0.0]}, "not all zero"),
        ({"class_weights": [1.0, 2.0]}, r"one weight per label \(3 labels\), got 2: \[1.0, 2.0\]"),
        ({"exclude_self_attention": True}, "`exclude_self_attention=True` is an image-model option"),
        ({"energy_readout": "yes"}, r"energy_readout.*expected bool, got str \(value: 'yes'\)"),
    ],
)
def test_invalid_graph_config_values_raise_clear_errors(overrides, message):
    with pytest.raises((ValueError, StrictDataclassFieldValidationError), match=message):  # the latter: wrong types
        graph_config(**overrides)


def test_image_config_is_refused_and_image_configs_are_unchanged():
    image_config = graph_config(num_node_features=None)
    with pytest.raises(ValueError, match="needs a graph config: set `num_node_features`"):
        EnergyTransformerForNodeClassification(image_config)
    assert "AutoModelForTokenClassification" not in image_config.auto_map
    assert graph_config().auto_map["AutoModelForTokenClassification"] == (
        "modeling_energy_transformer.EnergyTransformerForNodeClassification"
    )


# --- (6) save / load, Auto classes, remote code ----------------------------------------------------------------------


def test_save_load_round_trip_and_auto_class(tmp_path):
    model = build(dtype=torch.float32, num_edge_types=2, class_weights=[1.0, 2.0, 5.0])
    x, edge_index, edge_type = random_graph(2, dtype=torch.float32)
    with torch.no_grad():
        expected = model(x, edge_index, edge_type).logits
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["auto_map"]["AutoModelForTokenClassification"] == (
        "modeling_energy_transformer.EnergyTransformerForNodeClassification"
    )
    assert saved["class_weights"] == [1.0, 2.0, 5.0] and saved["num_edge_types"] == 2
    assert (tmp_path / "modeling_energy_transformer.py").exists()
    for loader in (EnergyTransformerForNodeClassification, AutoModelForTokenClassification):
        loaded = loader.from_pretrained(tmp_path).eval()
        assert type(loaded) is EnergyTransformerForNodeClassification
        with torch.no_grad():
            assert torch.equal(loaded(x, edge_index, edge_type).logits, expected)
    assert AutoConfig.from_pretrained(tmp_path).class_weights == [1.0, 2.0, 5.0]
    assert type(AutoModelForTokenClassification.from_config(graph_config())) is EnergyTransformerForNodeClassification


REMOTE_CODE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["hyperset_hf"] = None  # the package is NOT available: everything must come from the folder
    import torch
    from transformers import AutoModelForTokenClassification

    folder = sys.argv[1]
    data = torch.load(folder + "/expected.pt")
    model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    assert type(model).__name__ == "EnergyTransformerForNodeClassification"
    with torch.inference_mode():
        outputs = model(data["x"], data["edge_index"], output_energies=True)
    assert torch.equal(outputs.logits, data["logits"])
    assert torch.equal(outputs.energies[0], data["energies"])
    print("REMOTE CODE OK")
    """
)


def test_remote_code_loads_in_a_fresh_process_without_the_package(tmp_path):
    model = build(dtype=torch.float32)
    x, edge_index, _ = random_graph(dtype=torch.float32)
    folder = tmp_path / "repo"
    model.save_pretrained(folder)
    with torch.no_grad():
        outputs = model(x, edge_index, output_energies=True)
    torch.save(
        {"x": x, "edge_index": edge_index, "logits": outputs.logits, "energies": outputs.energies[0]},
        folder / "expected.pt",
    )
    script = tmp_path / "load_remote.py"
    script.write_text(REMOTE_CODE_SCRIPT)
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "HF_MODULES_CACHE")}
    environment.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), PYTHONNOUSERSITE="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, str(script), str(folder)], cwd=tmp_path, env=environment, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REMOTE CODE OK" in result.stdout


# --- (7) the loss ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("class_weights", [None, [1.0, 4.0, 0.5]])
def test_loss_ignores_unlabelled_nodes_and_uses_class_weights(class_weights):
    model = build(class_weights=class_weights)
    x, edge_index, _ = random_graph()
    labels = torch.tensor([0, -100, 2, 1, -100, 1, 0])
    outputs = model(x, edge_index, labels=labels)
    labelled = labels != -100
    weight = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float64)
    expected = F.cross_entropy(outputs.logits[labelled], labels[labelled], weight=weight)
    torch.testing.assert_close(outputs.loss, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(model(x, edge_index, labels=labels.masked_fill(~labelled, 2)).logits, outputs.logits)

    # the labels of ignored nodes do not matter; no labelled node: refused, as by the Sudoku head (was a loss of 0)
    with pytest.raises(ValueError, match="`labels` are -100 \\(ignored\\) for all 7 nodes: there is no node to score"):
        model(x, edge_index, labels=torch.full((NUM_NODES,), -100))


def test_training_step_with_gradient_checkpointing_matches():
    x, edge_index, edge_type = random_graph(2)
    labels = torch.tensor([0, 1, 2, 1, -100, 1, 0])
    gradients = []
    for checkpointing in (False, True):
        model = build(num_edge_types=2).train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        model(x, edge_index, edge_type, labels=labels).loss.backward()
        gradients.append({name: p.grad for name, p in model.named_parameters()})
        assert all(g is not None and torch.isfinite(g).all() for g in gradients[-1].values())
    for name, gradient in gradients[0].items():
        torch.testing.assert_close(gradients[1][name], gradient, atol=1e-12, rtol=0)


def test_output_shapes_and_return_dict_false():
    model = build(num_layers=2)
    x, edge_index, _ = random_graph()
    with torch.no_grad():
        outputs = model(x, edge_index, num_recurrences=4, output_hidden_states=True, output_attentions=True,
                        output_energies=True)  # fmt: skip
        as_tuple = model(x, edge_index, num_recurrences=4, return_dict=False)
    assert outputs.logits.shape == (NUM_NODES, 3)
    assert len(outputs.hidden_states) == 2 * 4 + 1 and outputs.hidden_states[0].shape == (NUM_NODES, 12)
    # 15 edges of the edge list + 7 added self-loops, each with a weight per head; the weights of a node sum to 1
    assert len(outputs.attentions) == 8 and outputs.attentions[0].shape == (15 + NUM_NODES, 2)
    targets = torch.cat((edge_index[1], torch.arange(NUM_NODES)))
    sums = torch.zeros(NUM_NODES, 2, dtype=torch.float64).index_add(0, targets, outputs.attentions[0])
    torch.testing.assert_close(sums, torch.ones_like(sums))
    assert [e.shape for e in outputs.energies] == [(5,), (5,)]
    assert isinstance(as_tuple, tuple) and torch.equal(as_tuple[0], outputs.logits)


# --- the energy readout: every node's share of the energy ------------------------------------------------------------


@pytest.mark.parametrize("memory_type", ["relu_squared", "softmax"])
def test_node_energies_sum_to_the_graph_energy_and_reach_the_logits(memory_type):
    model = build(num_edge_types=2, memory_type=memory_type, energy_readout=True)
    x, edge_index, edge_type = random_graph(2)
    graph = build_graph_index(edge_index, edge_type, NUM_NODES, 2, True)
    layer = model.layers[0]
    state = model.node_embeddings(x)
    node_energies = layer.node_energies(state, graph)
    assert node_energies.shape == (NUM_NODES, 2 * 2 + 1)  # per edge type and head, and the Hopfield energy
    torch.testing.assert_close(node_energies.sum(), graph_energy(layer, layer.norm(state), graph), atol=1e-10, rtol=0)
    # the logits depend on the energies: scaling the Hopfield memories changes them only through the readout here
    plain = build(num_edge_types=2, memory_type=memory_type, energy_readout=False)
    assert model.classifier.in_features == plain.classifier.in_features + 5
    with torch.no_grad():
        logits = model(x, edge_index, edge_type).logits
        model.classifier.weight[:, -5:] = 0.0
        without = model(x, edge_index, edge_type).logits
    assert (logits - without).abs().max() > 1e-3


def test_checkpoints_saved_before_the_blocks_moved_into_the_encoder_load(tmp_path):
    """0.1 saved the graph blocks as `layers.*`; 0.2 keeps them in `encoder.layers.*` and maps the old names on load."""
    from safetensors.torch import load_file, save_file

    model = build(dtype=torch.float32)
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    assert any(key.startswith("encoder.layers.") for key in weights)
    save_file({key.removeprefix("encoder."): value for key, value in weights.items()}, tmp_path / "model.safetensors",
              metadata={"format": "pt"})  # fmt: skip
    reloaded = EnergyTransformerForNodeClassification.from_pretrained(tmp_path).eval()
    x, edge_index, edge_type = random_graph(dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x, edge_index).logits, model(x, edge_index).logits, rtol=0, atol=0)
