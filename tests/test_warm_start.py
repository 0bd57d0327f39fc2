"""A warm start (`initial_state`) continues the one recurrence, in every model: T iterations equal a iterations
followed by T - a more from the state they reached (with step sizes that do not depend on the iteration: a warm start
counts its iterations from 0 again). The shape check lives in one place, `RecurrentEncoder.forward`."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_config, tiny_sudoku_model
from test_energy_transformer_graph import build as build_graph_model
from test_energy_transformer_graph import random_graph
from test_energy_transformer_modeling import tiny_config as tiny_et_config

from hyperset_hf import EnergyTransformerModel, HyperSETModel


def _hyperset_image():
    torch.manual_seed(0)
    model = activate_step_sizes(HyperSETModel(tiny_config(step_size_type="fixed", fixed_step_size=0.3))).eval()
    return model, {"pixel_values": torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))}


def _hyperset_sudoku():
    inputs = torch.randint(0, 10, (2, 81), generator=torch.Generator().manual_seed(1))
    return tiny_sudoku_model(step_size_type="fixed", fixed_step_size=0.3).eval(), {"input_ids": inputs}


def _transformer_baseline():
    torch.manual_seed(0)
    model = HyperSETModel(tiny_config(layer_type="transformer")).eval()
    return model, {"pixel_values": torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))}


def _energy_transformer_image():
    torch.manual_seed(0)
    model = EnergyTransformerModel(tiny_et_config()).eval()
    return model, {"pixel_values": torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))}


def _energy_transformer_graph():
    x, edge_index, edge_type = random_graph()
    return build_graph_model(), {"x": x, "edge_index": edge_index}


MODELS = {
    "hyperset-image": _hyperset_image,
    "hyperset-sudoku": _hyperset_sudoku,
    "transformer-baseline": _transformer_baseline,
    "energy-transformer-image": _energy_transformer_image,
    "energy-transformer-graph": _energy_transformer_graph,
}


def _final_state(model, inputs, **kwargs):
    outputs = model(**inputs, output_hidden_states=True, **kwargs)
    return outputs.hidden_states[-1]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_warm_start_continues_the_recurrence(name):
    model, inputs = MODELS[name]()
    with torch.no_grad():
        full = _final_state(model, inputs, num_recurrences=5)
        halfway = _final_state(model, inputs, num_recurrences=2)
        continued = _final_state(model, inputs, num_recurrences=3, initial_state=halfway)
        restarted = _final_state(model, inputs, num_recurrences=3)
    torch.testing.assert_close(continued, full)
    assert (restarted - full).abs().max() > 1e-4  # the warm start is what makes them equal


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_warm_start_of_the_wrong_shape_is_refused(name):
    model, inputs = MODELS[name]()
    with torch.no_grad():
        state = _final_state(model, inputs, num_recurrences=1)
        with pytest.raises(ValueError, match=r"`initial_state` must have the shape of the embeddings .*got \("):
            model(**inputs, initial_state=state[..., :-1])
        with pytest.raises(ValueError, match="`initial_state` .* got list"):
            model(**inputs, initial_state=state.tolist())
