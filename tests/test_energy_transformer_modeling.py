"""transformers conventions for the Energy Transformer models: save/load, safetensors, batching, determinism, outputs,
inference mode, gradient checkpointing, bf16, initialisation, heads, masking, Auto classes and Hub remote code."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForImageClassification,
    AutoModelForMaskedImageModeling,
)
from transformers.modeling_outputs import MaskedImageModelingOutput

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForImageClassification,
    EnergyTransformerForMaskedImageModeling,
    EnergyTransformerModel,
)


ALL_MODEL_CLASSES = (
    EnergyTransformerModel,
    EnergyTransformerForImageClassification,
    EnergyTransformerForMaskedImageModeling,
)


def tiny_config(**overrides):
    """d=32, 2 heads of width 8, 64 memories, 16-px images in 4-px patches (17 tokens), 3 steps. The weights are
    initialised 100x (tokens) and 10x (memories) wider than the official initialisation so that every step moves the
    state visibly."""
    values = dict(
        hidden_size=32,
        num_attention_heads=2,
        head_dim=8,
        num_memories=64,
        num_recurrences=3,
        image_size=16,
        patch_size=4,
        num_labels=5,
        token_initializer_range=0.2,
        initializer_range=0.2,
        step_size=0.5,
    )
    values.update(overrides)
    return EnergyTransformerConfig(**values)


@pytest.fixture
def pixel_values():
    return torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _build(model_class, **config_overrides):
    torch.manual_seed(0)
    return model_class(tiny_config(**config_overrides)).eval()


def _mask(batch_size=3, seed=2):
    return torch.rand(batch_size, 16, generator=torch.Generator().manual_seed(seed)) < 0.4


def _inputs(model_class, pixel_values):
    inputs = {"pixel_values": pixel_values}
    if model_class is EnergyTransformerForMaskedImageModeling:
        inputs["bool_masked_pos"] = _mask(pixel_values.shape[0])
    return inputs


def _first_output(outputs):
    return outputs[0] if outputs[0].ndim > 0 else outputs[1]  # skip a scalar loss


# --- save / load -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", ALL_MODEL_CLASSES)
def test_save_load_gives_identical_outputs(model_class, pixel_values, tmp_path):
    model = _build(model_class)
    inputs = _inputs(model_class, pixel_values)
    with torch.no_grad():
        expected = _first_output(model(**inputs))
    model.save_pretrained(tmp_path / "first")
    assert (tmp_path / "first" / "config.json").exists()
    assert (tmp_path / "first" / "model.safetensors").exists()
    assert not (tmp_path / "first" / "pytorch_model.bin").exists()
    assert not (tmp_path / "first" / "generation_config.json").exists()

    reloaded, loading_info = model_class.from_pretrained(tmp_path / "first", output_loading_info=True)
    assert all(not keys for keys in (loading_info["missing_keys"], loading_info["unexpected_keys"]))
    assert not loading_info["mismatched_keys"]
    with torch.no_grad():
        assert torch.equal(_first_output(reloaded.eval()(**inputs)), expected)

    reloaded.save_pretrained(tmp_path / "second")
    again = model_class.from_pretrained(tmp_path / "second").eval()
    with torch.no_grad():
        assert torch.equal(_first_output(again(**inputs)), expected)


def test_safetensors_hold_every_parameter_once(tmp_path):
    from safetensors.torch import load_file

    model = _build(EnergyTransformerForMaskedImageModeling, num_layers=2, memory_type="softmax", memory_bias=True)
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert set(stored) == set(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert torch.equal(stored[name], tensor), name
    # the checkpoint layout of the official code: W^Q, W^K as (heads, head_dim, hidden_size), xi as (hidden, memories)
    assert stored["energy_transformer.encoder.layers.0.attention.query_weight"].shape == (2, 8, 32)
    assert stored["energy_transformer.encoder.layers.1.hopfield.memories"].shape == (32, 64)


def test_torch_save_load_round_trip(pixel_values, tmp_path):
    model = _build(EnergyTransformerForImageClassification)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    other = EnergyTransformerForImageClassification(tiny_config()).eval()
    other.load_state_dict(torch.load(tmp_path / "weights.pt"))
    with torch.no_grad():
        assert torch.equal(other(pixel_values).logits, model(pixel_values).logits)


def test_config_round_trip_and_label_handling(tmp_path):
    config = tiny_config(exclude_self_attention=True, memory_type="softmax", reconstruction_loss="l1")
    config.save_pretrained(tmp_path)
    reloaded = EnergyTransformerConfig.from_pretrained(tmp_path)
    assert reloaded.to_dict() == config.to_dict()
    assert EnergyTransformerConfig.from_json_file(tmp_path / "config.json").to_dict() == config.to_dict()
    assert AutoConfig.from_pretrained(tmp_path, num_recurrences=7).num_recurrences == 7
    assert tiny_config(num_labels=3).num_labels == 3 and len(tiny_config(num_labels=3).id2label) == 3
    default = EnergyTransformerConfig()
    assert default.num_hidden_layers == 12 and default.attention_scaling == 0.125
    assert default.to_dict() == EnergyTransformerConfig.from_preset("imagenet-1k-mim").to_dict()


# --- outputs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", ALL_MODEL_CLASSES)
def test_batching_equivalence(model_class, pixel_values):
    model = _build(model_class)
    inputs = _inputs(model_class, pixel_values)
    name = {EnergyTransformerModel: "last_hidden_state", EnergyTransformerForImageClassification: "logits"}.get(
        model_class, "reconstruction"
    )
    with torch.no_grad():
        batched = model(**inputs, output_energies=True)
        for row in range(pixel_values.shape[0]):
            single = model(**{key: value[row : row + 1] for key, value in inputs.items()}, output_energies=True)
            torch.testing.assert_close(getattr(single, name)[0], getattr(batched, name)[row], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(single.energies[0][0], batched.energies[0][row], atol=1e-5, rtol=1e-5)


def test_determinism(pixel_values):
    model = _build(EnergyTransformerForImageClassification)
    with torch.no_grad():
        first, second = model(pixel_values).logits, model(pixel_values).logits
    assert torch.equal(first, second)


@pytest.mark.parametrize(("num_layers", "num_recurrences"), [(1, 3), (2, 2)])
def test_hidden_states_count_and_shape(num_layers, num_recurrences, pixel_values):
    model = _build(EnergyTransformerModel, num_layers=num_layers, num_recurrences=num_recurrences)
    assert model.config.num_hidden_layers == num_layers * num_recurrences
    with torch.no_grad():
        outputs = model(pixel_values, output_hidden_states=True)
        overridden = model(pixel_values, output_hidden_states=True, num_recurrences=5)
    assert len(outputs.hidden_states) == model.config.num_hidden_layers + 1
    assert all(state.shape == (3, 17, 32) for state in outputs.hidden_states)
    assert torch.equal(outputs.hidden_states[-1], outputs.last_hidden_state)
    assert torch.equal(outputs.pooler_output, outputs.last_hidden_state[:, 0])
    assert len(overridden.hidden_states) == num_layers * 5 + 1
    assert not torch.allclose(overridden.last_hidden_state, outputs.last_hidden_state)

    config = tiny_config(num_layers=num_layers, num_recurrences=num_recurrences, output_hidden_states=True)
    from_config = EnergyTransformerModel(config).eval()
    with torch.no_grad():
        assert len(from_config(pixel_values).hidden_states) == num_layers * num_recurrences + 1
        assert from_config(pixel_values, output_hidden_states=False).hidden_states is None


@pytest.mark.parametrize("exclude_self_attention", [False, True])
def test_attention_outputs(exclude_self_attention, pixel_values):
    model = _build(
        EnergyTransformerForImageClassification,
        num_layers=2,
        num_recurrences=2,
        exclude_self_attention=exclude_self_attention,
    )
    with torch.no_grad():
        outputs = model(pixel_values, output_attentions=True)
    assert len(outputs.attentions) == 4
    for attention in outputs.attentions:
        assert attention.shape == (3, 2, 17, 17)
        torch.testing.assert_close(attention.sum(-1), torch.ones(3, 2, 17))  # softmax over the keys
        diagonal = attention.diagonal(dim1=-2, dim2=-1)
        assert (diagonal == 0).all() if exclude_self_attention else (diagonal > 0).all()
    tuple_outputs = model(pixel_values, output_attentions=True, return_dict=False)
    assert isinstance(tuple_outputs, tuple) and len(tuple_outputs[-1]) == 4


def test_energies_output_per_layer(pixel_values):
    model = _build(EnergyTransformerForImageClassification, num_layers=2, num_recurrences=3)
    with torch.no_grad():
        outputs = model(pixel_values, output_energies=True, output_hidden_states=True)
        plain = model(pixel_values)
        deeper = model(pixel_values, num_recurrences=5, output_energies=True)
    assert plain.energies is None and plain.attention_energies is None and plain.feedforward_energies is None
    assert len(outputs.energies) == len(outputs.attention_energies) == len(outputs.feedforward_energies) == 2
    assert all(energies.shape == (3, 6) for energies in deeper.energies)
    layers = model.energy_transformer.encoder.layers
    for index, energies in enumerate(outputs.energies):
        assert energies.shape == (3, 4)
        torch.testing.assert_close(energies, outputs.attention_energies[index] + outputs.feedforward_energies[index])
        # entry t is E(LN(x_t)) of this block, recomputed from the hidden states
        for step in range(4):
            state = outputs.hidden_states[3 * index + step]
            with torch.no_grad():
                attention_energy, hopfield_energy = layers[index].energies(state)
            torch.testing.assert_close(outputs.attention_energies[index][:, step], attention_energy)
            torch.testing.assert_close(outputs.feedforward_energies[index][:, step], hopfield_energy)


def test_forward_under_inference_mode_equals_no_grad(pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling)
    mask = _mask()
    with torch.no_grad():
        expected = model(pixel_values, bool_masked_pos=mask, output_energies=True)
    with torch.inference_mode():
        outputs = model(pixel_values, bool_masked_pos=mask, output_energies=True, output_attentions=True)
    assert torch.equal(outputs.reconstruction, expected.reconstruction)
    assert torch.equal(outputs.energies[0], expected.energies[0])
    assert torch.equal(outputs.loss, expected.loss)


def test_bfloat16_forward_stays_close_to_float32(pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling)
    mask = _mask()
    with torch.no_grad():
        full = model(pixel_values, bool_masked_pos=mask, output_energies=True)
        half = model.to(torch.bfloat16)(pixel_values, bool_masked_pos=mask, output_energies=True)
    assert half.reconstruction.dtype == torch.bfloat16
    scale = full.reconstruction.abs().max()
    assert (half.reconstruction.float() - full.reconstruction).abs().max() < 0.05 * scale
    relative = (half.energies[0].float() - full.energies[0]).abs() / full.energies[0].abs()
    assert relative.max() < 0.02
    assert torch.isfinite(half.loss)


def test_fixed_depth_forward_is_torch_exportable(pixel_values):
    """No data-dependent control flow: the fixed-T forward exports with `torch.export` and gives the same output."""
    model = _build(EnergyTransformerForMaskedImageModeling)
    mask = _mask()
    with torch.no_grad():
        exported = torch.export.export(model, args=(pixel_values,), kwargs={"bool_masked_pos": mask})
        expected = model(pixel_values, bool_masked_pos=mask)
        outputs = exported.module()(pixel_values, bool_masked_pos=mask)
    torch.testing.assert_close(outputs["reconstruction"], expected.reconstruction)
    torch.testing.assert_close(outputs["loss"], expected.loss)


# --- training --------------------------------------------------------------------------------------------------------


def _train_step_gradients(model, pixel_values):
    model.train()
    model.zero_grad()
    loss = model(pixel_values, labels=torch.tensor([0, 3, 4])).loss
    loss.backward()
    return {name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None}


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_training_step_with_gradient_checkpointing(use_reentrant, pixel_values):
    model = _build(EnergyTransformerForImageClassification, num_layers=2, num_recurrences=2)
    reference = _train_step_gradients(model, pixel_values)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": use_reentrant})
    calls = []
    for layer in model.energy_transformer.encoder.layers:
        layer.attention.register_forward_hook(lambda *args: calls.append(1))
    checkpointed = _train_step_gradients(model, pixel_values)
    assert len(calls) == 2 * 4  # every one of the 2 x 2 steps ran again in the backward pass
    assert set(checkpointed) == set(reference) == {name for name, _ in model.named_parameters()}
    for name, gradient in reference.items():
        torch.testing.assert_close(checkpointed[name], gradient, atol=1e-6, rtol=1e-5, msg=name)


def test_training_reduces_the_loss(pixel_values):
    torch.manual_seed(0)
    model = EnergyTransformerForImageClassification(tiny_config())
    labels = torch.tensor([0, 3, 4])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = model(pixel_values, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    # gradients reached the energy parameters through the unrolled descent
    layer = model.energy_transformer.encoder.layers[0]
    initial = EnergyTransformerForImageClassification(tiny_config()).energy_transformer.encoder.layers[0]
    assert not torch.allclose(layer.attention.key_weight, initial.attention.key_weight)
    assert not torch.allclose(layer.hopfield.memories, initial.hopfield.memories)


def test_gradients_flow_to_every_parameter_of_the_masked_model(pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling, memory_type="softmax", memory_bias=True).train()
    model(pixel_values, bool_masked_pos=_mask()).loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


# --- initialisation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", ALL_MODEL_CLASSES)
def test_every_weight_is_initialised(model_class):
    model = model_class(tiny_config(memory_type="softmax", memory_bias=True, classifier_type="mlp"))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    for module in model.modules():
        module.__dict__.pop("_is_hf_initialized", None)
    for parameter in model.parameters():
        parameter.__dict__.pop("_is_hf_initialized", None)
    model.initialize_weights()
    for name, parameter in model.named_parameters():
        assert torch.isfinite(parameter).all(), f"{name} was not initialised"
    layer = model.base_model.encoder.layers[0]
    assert layer.norm.gamma.item() == 1.0 and torch.count_nonzero(layer.norm.bias) == 0
    assert layer.hopfield.beta.item() == pytest.approx(0.01)


def test_official_initialisation_scales():
    torch.manual_seed(0)
    config = EnergyTransformerConfig(hidden_size=256, num_attention_heads=4, head_dim=64, num_memories=1024,
                                     image_size=64, patch_size=4)  # fmt: skip
    model = EnergyTransformerForMaskedImageModeling(config)
    layer = model.energy_transformer.encoder.layers[0]
    embeddings = model.energy_transformer.embeddings
    assert layer.attention.query_weight.std().item() == pytest.approx(0.002, rel=0.05)
    assert layer.hopfield.memories.std().item() == pytest.approx(0.02, rel=0.05)
    assert embeddings.position_embeddings.std().item() == pytest.approx(0.002, rel=0.05)
    assert embeddings.patch_embeddings.projection.weight.std().item() == pytest.approx(48**-0.5, rel=0.1)  # LeCun
    assert torch.count_nonzero(model.decoder.bias) == 0


def test_missing_weights_are_initialised_on_load(tmp_path):
    from safetensors.torch import load_file, save_file

    model = _build(EnergyTransformerForImageClassification)
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["energy_transformer.encoder.layers.0.norm.gamma"]
    del weights["classifier.bias"]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    reloaded, info = EnergyTransformerForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {"energy_transformer.encoder.layers.0.norm.gamma", "classifier.bias"}
    assert reloaded.energy_transformer.encoder.layers[0].norm.gamma.item() == 1.0
    assert torch.count_nonzero(reloaded.classifier.bias) == 0
    torch.testing.assert_close(reloaded.classifier.weight, model.classifier.weight)


def test_all_tensors_are_parameters_or_buffers():
    model = EnergyTransformerForMaskedImageModeling(tiny_config())
    assert len(model.state_dict()) == len(list(model.parameters())) + len(list(model.buffers()))


def test_main_input_name():
    for model_class in ALL_MODEL_CLASSES:
        first_argument = list(inspect.signature(model_class.forward).parameters)[1]
        assert model_class.main_input_name == first_argument == "pixel_values"


# --- heads -----------------------------------------------------------------------------------------------------------


def test_classification_problem_types(pixel_values):
    for problem_type, labels in (
        ("single_label_classification", torch.tensor([0, 4, 2])),
        ("multi_label_classification", torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 1, 1, 0, 0]])),
    ):
        model = _build(EnergyTransformerForImageClassification, problem_type=problem_type)
        outputs = model(pixel_values, labels=labels)
        if problem_type == "single_label_classification":
            expected = torch.nn.functional.cross_entropy(outputs.logits, labels)
        else:
            expected = torch.nn.functional.binary_cross_entropy_with_logits(outputs.logits, labels)
        torch.testing.assert_close(outputs.loss, expected)
    regression = _build(EnergyTransformerForImageClassification, num_labels=1)
    targets = torch.tensor([0.5, -1.0, 2.0])
    outputs = regression(pixel_values, labels=targets)
    assert regression.config.problem_type == "regression"
    torch.testing.assert_close(outputs.loss, torch.nn.functional.mse_loss(outputs.logits.squeeze(-1), targets))


def test_mlp_classifier_head(pixel_values):
    model = _build(EnergyTransformerForImageClassification, classifier_type="mlp")
    with torch.no_grad():
        outputs = model(pixel_values)
        cls_state = model.energy_transformer(pixel_values).pooler_output
        first, activation, second = model.classifier
        expected = second(activation(first(model.readout_norm(cls_state))))
    assert isinstance(activation, torch.nn.ReLU) and first.out_features == second.in_features == 5
    torch.testing.assert_close(outputs.logits, expected)


def _pixel_mask(patch_mask):
    return patch_mask.reshape(-1, 4, 4).repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1)


@pytest.mark.parametrize("reconstruction_loss", ["rmse", "mse", "l1"])
def test_masked_image_modeling_loss_is_on_the_selected_patches(reconstruction_loss, pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling, reconstruction_loss=reconstruction_loss)
    mask = torch.zeros(3, 16, dtype=torch.bool)
    mask[:, [0, 5, 15]] = True
    outputs = model(pixel_values, bool_masked_pos=mask)
    assert isinstance(outputs, MaskedImageModelingOutput)
    assert outputs.reconstruction.shape == pixel_values.shape
    error = outputs.reconstruction - pixel_values
    selected = _pixel_mask(mask).expand_as(pixel_values)
    if reconstruction_loss == "rmse":  # official: sqrt of the mean over ALL pixels, zero outside the selection
        expected = torch.sqrt((error.square() * selected).sum() / error.numel())
    elif reconstruction_loss == "mse":
        expected = error.square()[selected].mean()
    else:
        expected = error.abs()[selected].mean()
    torch.testing.assert_close(outputs.loss, expected, rtol=1e-4, atol=1e-6)
    assert model(pixel_values).loss is None  # no selection, no loss


@pytest.mark.parametrize("reconstruction_loss", ["rmse", "mse", "l1"])
def test_empty_selection_gives_zero_loss_and_finite_gradients(reconstruction_loss, pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling, reconstruction_loss=reconstruction_loss).train()
    loss = model(pixel_values, bool_masked_pos=torch.zeros(3, 16, dtype=torch.bool)).loss
    assert loss.item() == pytest.approx(0.0, abs=1e-15)
    loss.backward()
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters() if parameter.grad is not None)


def test_masked_patches_are_replaced_by_the_mask_token(pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling)
    embeddings = model.energy_transformer.embeddings
    mask = _mask()
    with torch.no_grad():
        states = embeddings(pixel_values, bool_masked_pos=mask)[:, 1:]
        other_images = embeddings(torch.randn_like(pixel_values), bool_masked_pos=mask)[:, 1:]
        unmasked = embeddings(pixel_values)[:, 1:]
    positions = embeddings.position_embeddings[:, 1:].expand_as(states)
    torch.testing.assert_close(states[mask], (embeddings.mask_token + positions)[mask])
    assert torch.equal(states[mask], other_images[mask])  # nothing of the masked pixels leaks through
    torch.testing.assert_close(states[~mask], unmasked[~mask])


def test_visible_loss_patches_stay_visible_but_count_in_the_loss(pixel_values):
    model = _build(EnergyTransformerForMaskedImageModeling, reconstruction_loss="l1")
    selected = torch.zeros(3, 16, dtype=torch.bool)
    selected[:, :6] = True
    visible = torch.zeros_like(selected)
    visible[:, 4:6] = True
    with torch.no_grad():
        outputs = model(pixel_values, bool_masked_pos=selected, visible_loss_pos=visible, output_hidden_states=True)
        masked_only = model(pixel_values, bool_masked_pos=selected & ~visible, output_hidden_states=True)
    # the model saw exactly the patches of `selected & ~visible` masked ...
    assert torch.equal(outputs.reconstruction, masked_only.reconstruction)
    # ... and the loss covers all six selected patches
    error = (outputs.reconstruction - pixel_values).abs()
    torch.testing.assert_close(outputs.loss, error[_pixel_mask(selected).expand_as(error)].mean())
    assert not torch.allclose(outputs.loss, masked_only.loss)


def test_training_draws_visible_loss_patches_and_evaluation_does_not(pixel_values):
    """The paper's "10 open of 100 selected patches": in training, round(ratio * #selected) of each image's selected
    patches stay visible (and stay in the loss); evaluation masks every selected patch."""
    model = _build(EnergyTransformerForMaskedImageModeling, visible_loss_ratio=0.25)
    selected = torch.zeros(3, 16, dtype=torch.bool)
    selected[0, :8] = True  # 2 visible
    selected[1, :4] = True  # 1 visible
    selected[2, 3:13] = True  # round(2.5) = 3 visible
    torch.manual_seed(3)
    visible = model.draw_visible_loss_patches(selected)
    assert visible.sum(1).tolist() == [2, 1, 3]
    assert not (visible & ~selected).any()
    draws = torch.stack([model.draw_visible_loss_patches(selected) for _ in range(200)])
    assert (draws[:, 0, :8].float().mean(0) > 0.1).all()  # every selected patch gets drawn sometimes

    embeddings = model.energy_transformer.embeddings
    seen = []
    embeddings.register_forward_hook(lambda module, args, kwargs, output: seen.append(kwargs["bool_masked_pos"]),
                                     with_kwargs=True)  # fmt: skip
    model.train()
    model(pixel_values, bool_masked_pos=selected)
    assert seen[-1].sum(1).tolist() == [6, 3, 7]
    model.eval()
    with torch.no_grad():
        model(pixel_values, bool_masked_pos=selected)
    assert torch.equal(seen[-1], selected)
    no_draws = _build(EnergyTransformerForMaskedImageModeling, visible_loss_ratio=0.0).train()
    no_draws.energy_transformer.embeddings.register_forward_hook(
        lambda module, args, kwargs, output: seen.append(kwargs["bool_masked_pos"]), with_kwargs=True
    )
    no_draws(pixel_values, bool_masked_pos=selected)
    assert torch.equal(seen[-1], selected)


def test_masked_image_modeling_checkpoint_loads_into_classifier(tmp_path):
    mim = _build(EnergyTransformerForMaskedImageModeling)
    mim.save_pretrained(tmp_path)
    classifier, info = EnergyTransformerForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {
        "readout_norm.weight",
        "readout_norm.bias",
        "classifier.weight",
        "classifier.bias",
    }
    assert set(info["unexpected_keys"]) >= {"energy_transformer.embeddings.mask_token", "decoder.weight"}
    for name, parameter in classifier.energy_transformer.named_parameters():
        torch.testing.assert_close(parameter, mim.energy_transformer.get_parameter(name), msg=name)


def test_new_label_count_with_ignore_mismatched_sizes(tmp_path):
    _build(EnergyTransformerForImageClassification).save_pretrained(tmp_path)
    with pytest.raises(Exception):
        EnergyTransformerForImageClassification.from_pretrained(tmp_path, num_labels=7)
    model = EnergyTransformerForImageClassification.from_pretrained(tmp_path, num_labels=7, ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 7


def test_interpolate_pos_encoding_runs_other_sizes(pixel_values):
    model = _build(EnergyTransformerModel)
    with torch.no_grad():
        outputs = model(torch.randn(2, 3, 24, 32), interpolate_pos_encoding=True)
        same_size = model(pixel_values, interpolate_pos_encoding=True)
        plain = model(pixel_values)
    assert outputs.last_hidden_state.shape == (2, 6 * 8 + 1, 32)
    assert torch.equal(same_size.last_hidden_state, plain.last_hidden_state)
    mim = _build(EnergyTransformerForMaskedImageModeling)
    mask = torch.rand(2, 48) < 0.5
    with torch.no_grad():
        reconstruction = mim(torch.randn(2, 3, 24, 32), bool_masked_pos=mask, interpolate_pos_encoding=True)
    assert reconstruction.reconstruction.shape == (2, 3, 24, 32)
    assert torch.isfinite(reconstruction.loss)


# --- Auto classes and remote code ------------------------------------------------------------------------------------


def test_auto_classes_resolve_to_the_package(tmp_path):
    config = tiny_config()
    assert isinstance(AutoConfig.for_model("energy_transformer"), EnergyTransformerConfig)
    assert type(AutoModel.from_config(config)) is EnergyTransformerModel
    assert type(AutoModelForImageClassification.from_config(config)) is EnergyTransformerForImageClassification
    assert type(AutoModelForMaskedImageModeling.from_config(config)) is EnergyTransformerForMaskedImageModeling
    _build(EnergyTransformerForMaskedImageModeling).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "energy_transformer"
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_energy_transformer.EnergyTransformerConfig",
        "AutoModel": "modeling_energy_transformer.EnergyTransformerModel",
        "AutoModelForImageClassification": "modeling_energy_transformer.EnergyTransformerForImageClassification",
        "AutoModelForMaskedImageModeling": "modeling_energy_transformer.EnergyTransformerForMaskedImageModeling",
    }
    assert (tmp_path / "modeling_energy_transformer.py").exists()
    assert (tmp_path / "recurrence.py").exists()  # the one loop travels with the model
    assert (tmp_path / "configuration_energy_transformer.py").exists()
    assert not (tmp_path / "modeling_hyperset.py").exists()
    assert type(AutoModel.from_pretrained(tmp_path)) is EnergyTransformerModel
    assert type(AutoModelForMaskedImageModeling.from_pretrained(tmp_path)) is EnergyTransformerForMaskedImageModeling


REMOTE_CODE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["hyperset_hf"] = None  # the package is NOT available: everything must come from the folder
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForImageClassification, AutoModelForMaskedImageModeling

    folder = sys.argv[1]
    data = torch.load(folder + "/expected.pt")
    model = AutoModelForMaskedImageModeling.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    with torch.inference_mode():
        outputs = model(data["pixel_values"], bool_masked_pos=data["mask"], output_energies=True)
    assert torch.equal(outputs.reconstruction, data["reconstruction"])
    assert torch.equal(outputs.energies[0], data["energies"])
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(config).__name__ == "EnergyTransformerConfig" and config.num_recurrences == 3
    base = AutoModel.from_pretrained(folder, trust_remote_code=True)
    assert type(base).__name__ == "EnergyTransformerModel"
    classifier = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True)
    assert type(classifier).__name__ == "EnergyTransformerForImageClassification"
    print("REMOTE CODE OK")
    """
)


def test_remote_code_loads_in_a_fresh_process_without_the_package(pixel_values, tmp_path):
    model = _build(EnergyTransformerForMaskedImageModeling)
    folder = tmp_path / "repo"
    model.save_pretrained(folder)
    mask = _mask()
    with torch.no_grad():
        outputs = model(pixel_values, bool_masked_pos=mask, output_energies=True)
    torch.save(
        {
            "pixel_values": pixel_values,
            "mask": mask,
            "reconstruction": outputs.reconstruction,
            "energies": outputs.energies[0],
        },
        folder / "expected.pt",
    )
    script = tmp_path / "load_remote.py"
    script.write_text(REMOTE_CODE_SCRIPT)
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "HF_MODULES_CACHE")
    }
    environment.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf_home"), PYTHONNOUSERSITE="1")
    result = subprocess.run(
        [sys.executable, str(script), str(folder)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REMOTE CODE OK" in result.stdout


# --- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_recurrences": 0}, "`num_recurrences` must be a positive integer, got 0"),
        ({"num_layers": -1}, "`num_layers` must be a positive integer, got -1"),
        ({"head_dim": 0}, "`head_dim` must be a positive integer, got 0"),
        ({"num_memories": 0}, "`num_memories` must be a positive integer, got 0"),
        ({"num_attention_heads": 0}, "`num_attention_heads` must be a positive integer, got 0"),
        ({"memory_type": "tanh"}, "`memory_type` must be one of ('relu_squared', 'softmax'), got 'tanh'"),
        ({"classifier_type": "deep"}, "`classifier_type` must be one of ('linear', 'mlp'), got 'deep'"),
        ({"reconstruction_loss": "huber"}, "`reconstruction_loss` must be one of ('rmse', 'mse', 'l1'), got 'huber'"),
        ({"image_size": 18}, "`image_size` (18) must be divisible by `patch_size` (4)"),
        ({"step_size": 0.0}, "`step_size` must be a finite positive number, got 0.0"),
        ({"attention_beta": -1.0}, "`attention_beta` must be a finite positive number, got -1.0"),
        ({"layer_norm_eps": 0.0}, "`layer_norm_eps` must be a finite positive number, got 0.0"),
        ({"visible_loss_ratio": 1.0}, "`visible_loss_ratio` must be in [0, 1), got 1.0"),
        ({"memory_type": "softmax", "memory_beta_init": 0.0}, "`memory_beta_init` must be non-zero"),
    ],
)
def test_invalid_config_values_raise_clear_errors(overrides, message):
    with pytest.raises(ValueError) as error:
        tiny_config(**overrides)
    assert message in str(error.value)


def test_unknown_preset_and_wrong_types_are_rejected():
    with pytest.raises(ValueError, match="Unknown preset 'imagenet'; expected one of \\['imagenet-1k-mim'\\]"):
        EnergyTransformerConfig.from_preset("imagenet")
    with pytest.raises(Exception, match="num_recurrences"):
        tiny_config(num_recurrences="twelve")


@pytest.mark.parametrize("bad_value", [0, -1, 2.5, True, "4"])
def test_invalid_num_recurrences_at_call_time(bad_value, pixel_values):
    model = _build(EnergyTransformerModel)
    with pytest.raises(ValueError, match=r"`num_recurrences` must be a positive integer, got " + repr(bad_value).replace(".", r"\.")):
        model(pixel_values, num_recurrences=bad_value)


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((2, 3, 32, 32), {}, r"Input image size \(32x32\) doesn't match model \(16x16\)"),
        ((2, 1, 16, 16), {}, "`pixel_values` has 1 channels but the model expects 3"),
        ((3, 16, 16), {}, r"`pixel_values` must be a tensor of shape \(batch_size, num_channels, height, width\), got \(3, 16, 16\)"),
        ((2, 3, 18, 16), {"interpolate_pos_encoding": True}, r"Image size \(18x16\) must be divisible by the patch size \(4\)"),
    ],
)
def test_bad_pixel_values_raise_clear_errors(shape, kwargs, message):
    model = _build(EnergyTransformerForImageClassification)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape), **kwargs)


def test_bad_masks_raise_clear_errors(pixel_values):
    mim = _build(EnergyTransformerForMaskedImageModeling)
    with pytest.raises(ValueError, match=r"`bool_masked_pos` must have shape \(batch_size, num_patches\) = \(3, 16\), got \(3, 15\)"):
        mim(pixel_values, bool_masked_pos=torch.zeros(3, 15, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"`visible_loss_pos` must have the shape of `bool_masked_pos` \(3, 16\), got \(3, 8\)"):
        mim(pixel_values, bool_masked_pos=_mask(), visible_loss_pos=torch.zeros(3, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match="no mask token"):
        _build(EnergyTransformerModel)(pixel_values, bool_masked_pos=_mask())


def test_missing_pixel_values_and_unknown_arguments_raise(pixel_values):
    model = _build(EnergyTransformerForImageClassification)
    with pytest.raises(ValueError, match="pass `pixel_values`"):
        model()
    with pytest.raises(TypeError, match="num_recurrence"):
        model(pixel_values, num_recurrence=4)  # a typo must not be silently ignored


def test_sdpa_is_refused():
    with pytest.raises(ValueError):
        EnergyTransformerModel._from_config(tiny_config(), attn_implementation="sdpa")


@pytest.mark.parametrize("module_name", ["configuration_energy_transformer", "modeling_energy_transformer"])
def test_docstring_examples(module_name):
    import doctest
    import importlib

    module = importlib.import_module(f"hyperset_hf.{module_name}")
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0
    assert results.failed == 0
