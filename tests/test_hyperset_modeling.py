"""transformers conventions for the Hyper-SET models: save/load, safetensors, batching, determinism, outputs,
gradient checkpointing, initialisation, heads, Auto classes and Hub remote code."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import activate_step_sizes, tiny_config
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForImageClassification,
    AutoModelForMaskedImageModeling,
)
from transformers.modeling_outputs import MaskedImageModelingOutput

from hyperset_hf import (
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
    HyperSETModel,
)


ALL_MODEL_CLASSES = (HyperSETModel, HyperSETForImageClassification, HyperSETForMaskedImageModeling)


def _build(model_class, **config_overrides):
    torch.manual_seed(0)
    return activate_step_sizes(model_class(tiny_config(**config_overrides))).eval()


def _inputs(model_class, pixel_values):
    inputs = {"pixel_values": pixel_values}
    if model_class is HyperSETForMaskedImageModeling:
        inputs["bool_masked_pos"] = torch.rand(pixel_values.shape[0], 16, generator=torch.Generator().manual_seed(2)) < 0.4
    return inputs


def _first_output(outputs):
    return outputs[0] if outputs[0].ndim > 0 else outputs[1]  # skip a scalar loss


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

    model = _build(HyperSETForMaskedImageModeling, num_layers=2)
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert set(stored) == set(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert torch.equal(stored[name], tensor), name


def test_torch_save_load_round_trip(pixel_values, tmp_path):
    model = _build(HyperSETForImageClassification)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    other = HyperSETForImageClassification(tiny_config()).eval()
    other.load_state_dict(torch.load(tmp_path / "weights.pt"))
    with torch.no_grad():
        assert torch.equal(other(pixel_values).logits, model(pixel_values).logits)


@pytest.mark.parametrize("model_class", ALL_MODEL_CLASSES)
def test_batching_equivalence(model_class, pixel_values):
    model = _build(model_class)
    inputs = _inputs(model_class, pixel_values)
    with torch.no_grad():
        batched = model(**inputs, output_energies=True)
        for row in range(pixel_values.shape[0]):
            single = model(**{key: value[row : row + 1] for key, value in inputs.items()}, output_energies=True)
            name = {HyperSETModel: "last_hidden_state", HyperSETForImageClassification: "logits"}.get(
                model_class, "reconstruction"
            )
            torch.testing.assert_close(getattr(single, name)[0], getattr(batched, name)[row], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(single.energies[0][0], batched.energies[0][row], atol=1e-5, rtol=1e-5)


def test_determinism(pixel_values):
    model = _build(HyperSETForImageClassification)
    with torch.no_grad():
        first, second = model(pixel_values).logits, model(pixel_values).logits
    assert torch.equal(first, second)


@pytest.mark.parametrize(("num_layers", "num_recurrences"), [(1, 3), (2, 2)])
def test_hidden_states_count_and_shape(num_layers, num_recurrences, pixel_values):
    model = _build(HyperSETModel, num_layers=num_layers, num_recurrences=num_recurrences)
    assert model.config.num_hidden_layers == num_layers * num_recurrences
    with torch.no_grad():
        outputs = model(pixel_values, output_hidden_states=True)
        overridden = model(pixel_values, output_hidden_states=True, num_recurrences=5)
    assert len(outputs.hidden_states) == model.config.num_hidden_layers + 1
    assert all(state.shape == (3, 17, 32) for state in outputs.hidden_states)
    assert torch.equal(outputs.hidden_states[-1], outputs.last_hidden_state)
    assert len(overridden.hidden_states) == num_layers * 5 + 1

    config = tiny_config(num_layers=num_layers, num_recurrences=num_recurrences, output_hidden_states=True)
    from_config = HyperSETModel(config).eval()
    with torch.no_grad():
        assert len(from_config(pixel_values).hidden_states) == num_layers * num_recurrences + 1
        assert from_config(pixel_values, output_hidden_states=False).hidden_states is None


def test_attention_outputs(pixel_values):
    model = _build(HyperSETForImageClassification, num_layers=2, num_recurrences=2)
    with torch.no_grad():
        outputs = model(pixel_values, output_attentions=True)
    assert len(outputs.attentions) == 4
    for attention in outputs.attentions:
        assert attention.shape == (3, 4, 17, 17)
        # row softmax + column softmax: every head's matrix sums to 2 N
        torch.testing.assert_close(attention.sum(dim=(-1, -2)), torch.full((3, 4), 34.0))
    tuple_outputs = model(pixel_values, output_attentions=True, return_dict=False)
    assert isinstance(tuple_outputs, tuple) and len(tuple_outputs[-1]) == 4


def test_energies_output_per_layer(pixel_values):
    model = _build(HyperSETForImageClassification, num_layers=2, num_recurrences=3)
    with torch.no_grad():
        outputs = model(pixel_values, output_energies=True, output_hidden_states=True)
        plain = model(pixel_values)
    assert plain.energies is None and plain.attention_energies is None
    assert len(outputs.energies) == len(outputs.attention_energies) == len(outputs.feedforward_energies) == 2
    for layer, energies in enumerate(outputs.energies):
        assert energies.shape == (3, 4)
        torch.testing.assert_close(energies, outputs.attention_energies[layer] + outputs.feedforward_energies[layer])
    # energy of the second layer's input = energy of the state after the first layer's last iteration, by layer 2's W
    second_layer = model.hyperset.encoder.layers[1]
    state = outputs.hidden_states[3]
    with torch.no_grad():
        attention_energy, feedforward_energy = second_layer.energies(state)
    torch.testing.assert_close(outputs.attention_energies[1][:, 0], attention_energy)
    torch.testing.assert_close(outputs.feedforward_energies[1][:, 0], feedforward_energy)


def _train_step_gradients(model, pixel_values):
    model.train()
    model.zero_grad()
    loss = model(pixel_values, labels=torch.tensor([0, 3, 4])).loss
    loss.backward()
    return {name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None}


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_training_step_with_gradient_checkpointing(use_reentrant, pixel_values):
    model = _build(HyperSETForImageClassification, num_layers=2, num_recurrences=2)
    reference = _train_step_gradients(model, pixel_values)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": use_reentrant})
    calls = []
    for layer in model.hyperset.encoder.layers:
        layer.attention.register_forward_hook(lambda *args: calls.append(1))
    checkpointed = _train_step_gradients(model, pixel_values)
    assert len(calls) == 2 * 4  # every one of the 2 x 2 iterations ran again in the backward pass
    assert set(checkpointed) == set(reference) == {name for name, _ in model.named_parameters()}
    for name, gradient in reference.items():
        torch.testing.assert_close(checkpointed[name], gradient, atol=1e-6, rtol=1e-5, msg=name)


def test_training_reduces_the_loss(pixel_values):
    torch.manual_seed(0)
    model = HyperSETForImageClassification(tiny_config())
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
    # training moved the step sizes away from zero
    assert model.hyperset.encoder.step_size_network.step_size_projection.weight.abs().max() > 0


@pytest.mark.parametrize("model_class", ALL_MODEL_CLASSES)
def test_every_weight_is_initialised(model_class):
    model = model_class(tiny_config())
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
    assert torch.count_nonzero(model.base_model.encoder.step_size_network.step_size_projection.weight) == 0


def test_missing_weights_are_initialised_on_load(tmp_path):
    from safetensors.torch import load_file, save_file

    model = _build(HyperSETForImageClassification)
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["hyperset.encoder.step_size_network.step_size_projection.weight"]
    del weights["classifier.bias"]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    reloaded, info = HyperSETForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {
        "hyperset.encoder.step_size_network.step_size_projection.weight",
        "classifier.bias",
    }
    assert torch.count_nonzero(reloaded.hyperset.encoder.step_size_network.step_size_projection.weight) == 0
    assert torch.count_nonzero(reloaded.classifier.bias) == 0
    torch.testing.assert_close(reloaded.classifier.weight, model.classifier.weight)


def test_all_tensors_are_parameters_or_buffers():
    model = HyperSETForMaskedImageModeling(tiny_config())
    # the fixed sinusoidal positions are a non-persistent buffer: rebuilt, never saved
    persistent = {name for name, _ in model.named_buffers()} - {"hyperset.embeddings.positions"}
    assert set(model.state_dict()) == {name for name, _ in model.named_parameters()} | persistent


def test_main_input_name():
    for model_class in ALL_MODEL_CLASSES:
        first_argument = list(inspect.signature(model_class.forward).parameters)[1]
        assert model_class.main_input_name == first_argument == "pixel_values"


def test_classification_problem_types(pixel_values):
    for problem_type, labels in (
        ("single_label_classification", torch.tensor([0, 4, 2])),
        ("multi_label_classification", torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 1, 1, 0, 0]])),
    ):
        model = _build(HyperSETForImageClassification, problem_type=problem_type)
        outputs = model(pixel_values, labels=labels)
        if problem_type == "single_label_classification":
            expected = torch.nn.functional.cross_entropy(outputs.logits, labels)
        else:
            expected = torch.nn.functional.binary_cross_entropy_with_logits(outputs.logits, labels)
        torch.testing.assert_close(outputs.loss, expected)
    regression = _build(HyperSETForImageClassification, num_labels=1)
    targets = torch.tensor([0.5, -1.0, 2.0])
    outputs = regression(pixel_values, labels=targets)
    assert regression.config.problem_type == "regression"
    torch.testing.assert_close(outputs.loss, torch.nn.functional.mse_loss(outputs.logits.squeeze(-1), targets))


def test_masked_image_modeling_loss_is_on_masked_pixels(pixel_values):
    model = _build(HyperSETForMaskedImageModeling)
    mask = torch.zeros(3, 16, dtype=torch.bool)
    mask[:, [0, 5, 15]] = True
    outputs = model(pixel_values, bool_masked_pos=mask)
    assert isinstance(outputs, MaskedImageModelingOutput)
    assert outputs.reconstruction.shape == pixel_values.shape
    pixel_mask = mask.reshape(3, 4, 4).repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1).expand_as(pixel_values)
    expected = (outputs.reconstruction - pixel_values).abs()[pixel_mask].mean()
    torch.testing.assert_close(outputs.loss, expected, rtol=1e-4, atol=1e-6)
    # the mask token is used: masking changes the states of the masked patches
    unmasked = model(pixel_values, bool_masked_pos=torch.zeros_like(mask))
    assert not torch.allclose(unmasked.reconstruction, outputs.reconstruction)
    assert model(pixel_values).loss is None


def test_masked_image_modeling_checkpoint_loads_into_classifier(tmp_path):
    mim = _build(HyperSETForMaskedImageModeling)
    mim.save_pretrained(tmp_path)
    classifier, info = HyperSETForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {"readout_norm.weight", "readout_norm.bias", "classifier.weight", "classifier.bias"}
    assert set(info["unexpected_keys"]) >= {"hyperset.embeddings.mask_token"}
    for name, parameter in classifier.hyperset.named_parameters():
        torch.testing.assert_close(parameter, mim.hyperset.get_parameter(name), msg=name)


def test_new_label_count_with_ignore_mismatched_sizes(tmp_path):
    _build(HyperSETForImageClassification).save_pretrained(tmp_path)
    with pytest.raises(Exception):
        HyperSETForImageClassification.from_pretrained(tmp_path, num_labels=7)
    model = HyperSETForImageClassification.from_pretrained(tmp_path, num_labels=7, ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 7


def test_interpolate_pos_encoding_runs_other_sizes():
    model = _build(HyperSETModel)
    with torch.no_grad():
        outputs = model(torch.randn(2, 3, 24, 32), interpolate_pos_encoding=True)
    assert outputs.last_hidden_state.shape == (2, 6 * 8 + 1, 32)
    mim = _build(HyperSETForMaskedImageModeling)
    mask = torch.rand(2, 48) < 0.5
    with torch.no_grad():
        reconstruction = mim(torch.randn(2, 3, 24, 32), bool_masked_pos=mask, interpolate_pos_encoding=True)
    assert reconstruction.reconstruction.shape == (2, 3, 24, 32)
    assert torch.isfinite(reconstruction.loss)


def test_bfloat16_forward_stays_close_to_float32(pixel_values):
    model = _build(HyperSETForImageClassification)
    with torch.no_grad():
        full = model(pixel_values).logits
        half = model.to(torch.bfloat16)(pixel_values).logits
    assert half.dtype == torch.bfloat16
    assert (half.float() - full).abs().max() < 0.1


def test_auto_classes_resolve_to_the_package(tmp_path):
    config = tiny_config()
    assert isinstance(AutoConfig.for_model("hyperset"), HyperSETConfig)
    assert type(AutoModel.from_config(config)) is HyperSETModel
    assert type(AutoModelForImageClassification.from_config(config)) is HyperSETForImageClassification
    assert type(AutoModelForMaskedImageModeling.from_config(config)) is HyperSETForMaskedImageModeling
    _build(HyperSETForMaskedImageModeling).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "hyperset"
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_hyperset.HyperSETConfig",
        "AutoModel": "modeling_hyperset.HyperSETModel",
        "AutoModelForImageClassification": "modeling_hyperset.HyperSETForImageClassification",
        "AutoModelForMaskedImageModeling": "modeling_hyperset.HyperSETForMaskedImageModeling",
        "AutoModelForTokenClassification": "modeling_hyperset.HyperSETForSudoku",
    }
    assert (tmp_path / "modeling_hyperset.py").exists() and (tmp_path / "configuration_hyperset.py").exists()
    assert (tmp_path / "recurrence.py").exists()  # the one loop travels with the model
    assert type(AutoModel.from_pretrained(tmp_path)) is HyperSETModel
    assert type(AutoModelForImageClassification.from_pretrained(tmp_path)) is HyperSETForImageClassification


REMOTE_CODE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["hyperset_hf"] = None  # the package is NOT available: everything must come from the folder
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForImageClassification, AutoModelForMaskedImageModeling

    folder = sys.argv[1]
    data = torch.load(folder + "/expected.pt")
    model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    with torch.no_grad():
        outputs = model(data["pixel_values"], output_energies=True)
    assert torch.equal(outputs.logits, data["logits"]), (outputs.logits - data["logits"]).abs().max()
    assert torch.equal(outputs.energies[0], data["energies"])
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(config).__name__ == "HyperSETConfig" and config.num_recurrences == 3
    base = AutoModel.from_pretrained(folder, trust_remote_code=True)
    assert type(base).__name__ == "HyperSETModel"
    mim = AutoModelForMaskedImageModeling.from_pretrained(folder, trust_remote_code=True)
    assert type(mim).__name__ == "HyperSETForMaskedImageModeling"
    print("REMOTE CODE OK")
    """
)


def test_remote_code_loads_in_a_fresh_process_without_the_package(pixel_values, tmp_path):
    model = _build(HyperSETForImageClassification)
    folder = tmp_path / "repo"
    model.save_pretrained(folder)
    with torch.no_grad():
        outputs = model(pixel_values, output_energies=True)
    torch.save(
        {"pixel_values": pixel_values, "logits": outputs.logits, "energies": outputs.energies[0]},
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
        ({"hidden_size": 30, "num_attention_heads": 4}, "`hidden_size` (30) must be divisible by `num_attention_heads` (4)"),
        ({"num_recurrences": 0}, "`num_recurrences` must be a positive integer, got 0"),
        ({"num_recurrences": -3}, "`num_recurrences` must be a positive integer, got -3"),
        ({"num_layers": 0}, "`num_layers` must be a positive integer, got 0"),
        ({"num_attention_heads": 0}, "`num_attention_heads` must be a positive integer, got 0"),
        ({"intermediate_size": 0}, "`intermediate_size` must be a positive integer, got 0"),
        ({"hidden_act": "tanh"}, "`hidden_act` must be one of ('relu', 'gelu'), got 'tanh'"),
        ({"step_size_conditioning": "x0"}, "`step_size_conditioning` must be one of"),
        ({"image_size": 18}, "`image_size` (18) must be divisible by `patch_size` (4)"),
        ({"patch_size": 0}, "`patch_size` must be a positive integer, got 0"),
        ({"num_channels": 0}, "`num_channels` must be a positive integer, got 0"),
        ({"time_embedding_size": 7}, "`time_embedding_size` must be an even number >= 4"),
        ({"initializer_range": 0.0}, "`initializer_range` must be positive"),
        ({"layer_norm_eps": -1.0}, "`layer_norm_eps` must be positive"),
        ({"rms_norm_eps": 0.0}, "`rms_norm_eps` must be positive or None"),
    ],
)
def test_invalid_config_values_raise_clear_errors(overrides, message):
    with pytest.raises(ValueError) as error:
        tiny_config(**overrides)
    assert message in str(error.value)


def test_wrong_type_in_config_is_rejected():
    with pytest.raises(Exception, match="num_recurrences"):
        tiny_config(num_recurrences="twelve")


@pytest.mark.parametrize("bad_value", [0, -1, 2.5, True, "4"])
def test_invalid_num_recurrences_at_call_time(bad_value, pixel_values):
    model = _build(HyperSETModel)
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
    model = _build(HyperSETForImageClassification)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape), **kwargs)


def test_bad_mask_raises_clear_errors(pixel_values):
    mim = _build(HyperSETForMaskedImageModeling)
    with pytest.raises(ValueError, match=r"`bool_masked_pos` must have shape \(batch_size, num_patches\) = \(3, 16\), got \(3, 15\)"):
        mim(pixel_values, bool_masked_pos=torch.zeros(3, 15, dtype=torch.bool))
    with pytest.raises(ValueError, match="no mask token"):
        _build(HyperSETModel)(pixel_values, bool_masked_pos=torch.zeros(3, 16, dtype=torch.bool))


def test_missing_pixel_values_and_unknown_arguments_raise(pixel_values):
    model = _build(HyperSETForImageClassification)
    with pytest.raises(ValueError, match="pass `pixel_values`"):
        model()
    with pytest.raises(TypeError, match="num_recurrence"):
        model(pixel_values, num_recurrence=4)  # a typo must not be silently ignored


@pytest.mark.parametrize("layer_type", ["hyperset", "transformer"])
def test_sdpa_and_eager_give_the_same_outputs(layer_type, pixel_values):
    # SDPA serves the Transformer baseline; the energy layers compute their bi-softmax themselves either way
    outputs = {}
    for implementation in ("eager", "sdpa"):
        torch.manual_seed(0)
        model = HyperSETModel._from_config(tiny_config(layer_type=layer_type), attn_implementation=implementation)
        with torch.no_grad():
            model = activate_step_sizes(model) if layer_type == "hyperset" else model
            outputs[implementation] = model.eval()(pixel_values).last_hidden_state
    torch.testing.assert_close(outputs["sdpa"], outputs["eager"], rtol=1e-5, atol=1e-6)


def test_image_classification_pipeline_matches_the_model(tmp_path):
    import numpy as np
    from PIL import Image
    from transformers import ViTImageProcessor, pipeline

    model = _build(HyperSETForImageClassification)
    processor = ViTImageProcessor(size={"height": 16, "width": 16}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8)) for _ in range(2)]
    classifier = pipeline("image-classification", model=str(tmp_path))
    results = classifier(images, top_k=5)
    with torch.no_grad():
        probabilities = model(processor(images, return_tensors="pt")["pixel_values"]).logits.softmax(-1)
    for result, expected in zip(results, probabilities):
        scores = {entry["label"]: entry["score"] for entry in result}
        for index, probability in enumerate(expected.tolist()):
            assert abs(scores[model.config.id2label[index]] - probability) < 1e-5


def test_checkpoints_saved_with_the_old_classifier_norm_name_load(tmp_path):
    """The classifiers' LayerNorm was `classifier_norm` (it shared the prefix of the head `classifier`); checkpoints
    saved under that name load into `readout_norm`."""
    from safetensors.torch import load_file, save_file

    HyperSETForImageClassification(tiny_config()).save_pretrained(tmp_path)
    weights = {
        key.replace("readout_norm", "classifier_norm"): value
        for key, value in load_file(tmp_path / "model.safetensors").items()
    }
    weights["classifier_norm.weight"] = torch.randn_like(weights["classifier_norm.weight"])
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    model, info = HyperSETForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert torch.equal(model.readout_norm.weight, weights["classifier_norm.weight"])
    assert not info["missing_keys"] and not info["unexpected_keys"]
