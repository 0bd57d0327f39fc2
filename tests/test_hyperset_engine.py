"""The recurrence engine: the one-softmax and the chunked bi-softmax equal the two-softmax form, every registry entry's
direction is the gradient of its energy, the loop compiles with `fullgraph=True`, a huge depth allocates nothing up
front, half precision accumulates energies in float32."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_config, tiny_sudoku_model
from torch.utils._python_dispatch import TorchDispatchMode

from hyperset_hf import HyperSETForImageClassification, HyperSETModel
from hyperset_hf.input_checks import MAX_NUM_RECURRENCES
from hyperset_hf.energies import (
    ATTENTION_ENERGIES,
    FEEDFORWARD_ENERGIES,
    chunked_bisoftmax,
    dense_bisoftmax,
)


def _normalised_heads(seed=0, shape=(2, 3, 17, 8)):
    generator = torch.Generator().manual_seed(seed)
    z = torch.nn.functional.rms_norm(torch.randn(*shape, dtype=torch.float64, generator=generator), (shape[-1],))
    gains = [1.0 + 0.3 * torch.randn(shape[-1], dtype=torch.float64, generator=generator) for _ in range(3)]
    return z, [z * gain for gain in gains]  # separate query, key and value gains, as the image classifier


def _two_softmax_form(query, key, value, scaling):
    scores = query @ key.transpose(-1, -2) * scaling
    attention = scores.softmax(dim=-1) + scores.softmax(dim=-2)
    return attention @ value, attention


@pytest.mark.parametrize("separate_gains", [False, True])
def test_one_softmax_bisoftmax_equals_the_two_softmax_form(separate_gains):
    z, (query, key, value) = _normalised_heads()
    if not separate_gains:
        query = key = value = z
    expected_context, expected_attention = _two_softmax_form(query, key, value, 8**-0.5)
    context, attention = dense_bisoftmax(query, key, value, 8**-0.5)
    assert (context - expected_context).abs().max() <= 1e-10
    assert (attention - expected_attention).abs().max() <= 1e-10
    assert expected_context.abs().max() > 0.1


@pytest.mark.parametrize("chunk_size", [1, 5, 17, 64])
def test_chunked_bisoftmax_equals_the_dense_form(chunk_size):
    _, (query, key, value) = _normalised_heads(seed=1)
    expected, _ = dense_bisoftmax(query, key, value, 8**-0.5)
    context, attention = chunked_bisoftmax(query, key, value, 8**-0.5, chunk_size)
    assert attention is None  # the N x N matrix is never formed
    assert (context - expected).abs().max() <= 1e-10


def test_chunked_model_equals_the_dense_model(pixel_values):
    outputs = {}
    for implementation in ("dense", "chunked"):
        torch.manual_seed(0)
        config = tiny_config(bisoftmax_implementation=implementation, bisoftmax_chunk_size=4, num_recurrences=4)
        model = activate_step_sizes(HyperSETForImageClassification(config)).eval()
        with torch.no_grad():
            outputs[implementation] = model(pixel_values, output_energies=True)
    torch.testing.assert_close(outputs["chunked"].logits, outputs["dense"].logits, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outputs["chunked"].energies[0], outputs["dense"].energies[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="bisoftmax_implementation='dense'"):
        model(pixel_values, output_attentions=True)


@pytest.mark.parametrize("attention_type", sorted(ATTENTION_ENERGIES))
def test_attention_registry_entry_direction_is_the_energy_gradient(attention_type):
    config = tiny_config(attention_type=attention_type, attention_feature_map="softplus")
    entry = ATTENTION_ENERGIES[attention_type](config)
    z, _ = _normalised_heads(seed=2, shape=(2, 4, 7, 8))
    z.requires_grad_(True)
    (gradient,) = torch.autograd.grad(entry.energy(z).sum(), z)
    direction, _ = entry.direction(z, z, z)
    assert gradient.abs().max() > 1e-2
    torch.testing.assert_close(direction, gradient, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("feedforward_type", sorted(FEEDFORWARD_ENERGIES))
@pytest.mark.parametrize("hidden_act", ["relu", "gelu"])
def test_feedforward_registry_entry_direction_is_minus_the_energy_gradient(feedforward_type, hidden_act):
    config = tiny_config(feedforward_type=feedforward_type, feedforward_feature_map="tanh", hidden_act=hidden_act)
    entry = FEEDFORWARD_ENERGIES[feedforward_type](config)
    hidden = torch.randn(2, 7, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    hidden.requires_grad_(True)
    (gradient,) = torch.autograd.grad(entry.energy(hidden).sum(), hidden)
    assert gradient.abs().max() > 1e-2
    torch.testing.assert_close(entry.direction(hidden), -gradient, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["sudoku", "image"])
def test_the_fixed_depth_loop_compiles_without_graph_breaks(kind, pixel_values):
    if kind == "sudoku":
        model = tiny_sudoku_model(num_recurrences=3).eval()
        inputs = {"input_ids": torch.randint(0, 10, (2, 81), generator=torch.Generator().manual_seed(0))}
    else:
        torch.manual_seed(0)
        model = activate_step_sizes(HyperSETForImageClassification(tiny_config(num_layers=2))).eval()
        inputs = {"pixel_values": pixel_values}
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")  # graph capture: a break raises
    with torch.no_grad():
        eager = model(**inputs, output_energies=True)
        traced = compiled(**inputs, output_energies=True)
    first = eager[0]
    torch.testing.assert_close(traced[0], first, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(traced.energies[0], eager.energies[0], rtol=1e-5, atol=1e-5)


class _LargestAllocation(TorchDispatchMode):
    """Records the number of elements of the largest tensor any operation produces."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, torch.Tensor):
                self.largest = max(self.largest, tensor.numel())
        return output


class _FirstIteration(Exception):
    pass


def test_the_largest_iteration_count_starts_without_allocating_for_all_of_them(pixel_values):
    model = activate_step_sizes(HyperSETModel(tiny_config())).eval()
    state_size = pixel_values.shape[0] * 17 * 32

    def stop(module, args):
        raise _FirstIteration

    model.encoder.layers[0].register_forward_pre_hook(stop)
    with torch.no_grad(), _LargestAllocation() as tracker, pytest.raises(_FirstIteration):
        model(pixel_values, num_recurrences=MAX_NUM_RECURRENCES)
    assert 0 < tracker.largest <= 4 * state_size  # nothing of size num_recurrences before the first iteration


def test_half_precision_accumulates_energies_and_softmax_in_float32(pixel_values):
    torch.manual_seed(0)
    model = activate_step_sizes(HyperSETModel(tiny_config(num_recurrences=4))).eval()
    with torch.no_grad():
        full = model(pixel_values, output_energies=True)
        half = model.to(torch.bfloat16)(pixel_values.bfloat16(), output_energies=True)
    assert half.last_hidden_state.dtype == torch.bfloat16
    assert half.energies[0].dtype == torch.float32  # accumulated in float32, not rounded to bf16
    torch.testing.assert_close(half.energies[0], full.energies[0], rtol=2e-2, atol=0.5)
