# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of `hyperset_hf.release.convert` against independent functional re-implementations of the
reference image classifier (spec §1.4, §2 row (a), §5.2 "Tokenisation", §9, layout §11.1) and of the reference Sudoku
models (`sudoku/models.py`: `hyper-set` and the Transformer baseline), and against the authors' own MIM model
(`mim/models.py`, imported from the local mirror of their repository; those tests skip without it)."""

import argparse
import json
import math

import pytest
import torch
from torch.nn import functional as F

import hyperset_hf  # noqa: F401  (registers the Auto classes)
from hyperset_hf.release.convert import (
    convert_image_classification_checkpoint,
    convert_mim_checkpoint,
    convert_sudoku_checkpoint,
    load_original_state_dict,
    main,
)
from transformers import (
    AutoConfig,
    AutoModelForImageClassification,
    AutoModelForMaskedLM,
    AutoModelForTokenClassification,
)

# Imported from its module: on transformers 5.17 without torchvision, `transformers.AutoImageProcessor` resolves to a
# placeholder that demands torchvision, although the class itself falls back to the PIL image processors.
from transformers.models.auto.image_processing_auto import AutoImageProcessor


HIDDEN_SIZE = 32
NUM_HEADS = 4
INTERMEDIATE_SIZE = 48
NUM_LAYERS = 2
IMAGE_SIZE = 16
PATCH_SIZE = 4
NUM_CHANNELS = 3
NUM_LABELS = 5
TIME_EMBEDDING_SIZE = 16
NUM_RECURRENCES = 3


# ---------------------------------------------------------------------------------------------------------------------
# A random checkpoint in the reference layout (spec §11.1)
# ---------------------------------------------------------------------------------------------------------------------


def make_reference_state_dict(seed=0, patch_dim=NUM_CHANNELS * PATCH_SIZE**2, num_layers=NUM_LAYERS):
    """Every entry non-zero. The step-size Linear is small (std 0.05) so that the recurrence stays finite while
    still changing the state noticeably."""
    generator = torch.Generator().manual_seed(seed)
    d, p, m, e, c = HIDDEN_SIZE, HIDDEN_SIZE // NUM_HEADS, INTERMEDIATE_SIZE, TIME_EMBEDDING_SIZE, NUM_LABELS

    def normal(*shape, std=1.0, mean=0.0):
        return mean + std * torch.randn(*shape, generator=generator)

    def gain(size):  # norm gains around 1
        return normal(size, std=0.2, mean=1.0)

    state_dict = {
        "cls_token": normal(1, 1, d),
        "emb.0.weight": gain(patch_dim),
        "emb.0.bias": normal(patch_dim, std=0.1),
        "emb.1.weight": normal(d, patch_dim, std=patch_dim**-0.5),
        "emb.1.bias": normal(d, std=0.1),
        "emb.2.weight": gain(d),
        "emb.2.bias": normal(d, std=0.1),
        "fc.0.weight": gain(d),
        "fc.0.bias": normal(d, std=0.1),
        "fc.1.weight": normal(c, d, std=d**-0.5),
        "fc.1.bias": normal(c, std=0.1),
        "time_mlp.0.1.weight": normal(d, e, std=e**-0.5),
        "time_mlp.0.1.bias": normal(d, std=0.1),
        "time_mlp.0.2.weight": gain(d),
        "time_mlp.0.4.weight": gain(d),
        "time_mlp.0.5.weight": normal(d, d, std=d**-0.5),
        "time_mlp.0.5.bias": normal(d, std=0.1),
        "time_mlp.0.6.weight": gain(d),
        "time_mlp.1.1.weight": normal(2 * d, d, std=0.05),
        "time_mlp.1.1.bias": normal(2 * d, std=0.05),
        "ln_inp.weight": gain(d),
    }
    for index in range(num_layers):
        state_dict.update(
            {
                f"enc.{index}.mlp.weight": normal(m, d, std=d**-0.5),
                f"enc.{index}.attn.qkv.weight": normal(d, d, std=d**-0.5),
                f"enc.{index}.attn.ln1_1.weight": gain(p),
                f"enc.{index}.attn.ln1_2.weight": gain(p),
                f"enc.{index}.attn.ln1_3.weight": gain(p),
                f"enc.{index}.ln2.weight": gain(m),
            }
        )
    return state_dict


def save_lightning_checkpoint(state_dict, path, **extra):
    torch.save({"state_dict": {"model." + key: value for key, value in state_dict.items()}, "epoch": 3, **extra}, path)


def cli_arguments(checkpoint, output_dir, *extra):
    return [
        "--task",
        "image-classification",
        "--checkpoint",
        str(checkpoint),
        "--image-size",
        str(IMAGE_SIZE),
        "--num-recurrences",
        str(NUM_RECURRENCES),
        "--output-dir",
        str(output_dir),
        *extra,
    ]


def convert(state_dict, image_size=IMAGE_SIZE, **kwargs):
    return convert_image_classification_checkpoint(
        state_dict, image_size=image_size, num_recurrences=NUM_RECURRENCES, **kwargs
    )


# ---------------------------------------------------------------------------------------------------------------------
# Independent functional forward of the reference model (no hyperset_hf import), written from the spec
# ---------------------------------------------------------------------------------------------------------------------


def reference_patchify(images, patch_size):
    """(B, C, H, W) -> (B, P*P, s*s*C): patches in row-major grid order, pixels inside a patch flattened in
    (row, column, channel) order, channels LAST (spec §5.2)."""
    batch_size, _, height, width = images.shape
    patches = []
    for grid_row in range(height // patch_size):
        for grid_column in range(width // patch_size):
            patch = images[
                :,
                :,
                grid_row * patch_size : (grid_row + 1) * patch_size,
                grid_column * patch_size : (grid_column + 1) * patch_size,
            ]
            patches.append(patch.permute(0, 2, 3, 1).reshape(batch_size, -1))  # (row, column, channel)
    return torch.stack(patches, dim=1)


def reference_position_encoding(num_positions, width, dtype):
    """PE[pos, 2i] = sin(pos * 10000^(-2i/d)), PE[pos, 2i+1] = cos(...) (interleaved, spec §5.2)."""
    encoding = torch.zeros(num_positions, width, dtype=dtype)
    for position in range(num_positions):
        for i in range(width // 2):
            angle = position * 10000.0 ** (-2.0 * i / width)
            encoding[position, 2 * i] = math.sin(angle)
            encoding[position, 2 * i + 1] = math.cos(angle)
    return encoding


def reference_iteration_embedding(iteration, width, dtype):
    """sin_D(t) = [sin(t f_k) for all k, cos(t f_k) for all k], f_k = exp(-k ln(10000) / (half - 1)) (spec §2)."""
    half = width // 2
    frequencies = [math.exp(-k * math.log(10000.0) / (half - 1)) for k in range(half)]
    values = [math.sin(iteration * f) for f in frequencies] + [math.cos(iteration * f) for f in frequencies]
    return torch.tensor(values, dtype=dtype)


def reference_forward(
    state_dict, images, num_heads, num_recurrences, patch_size, activation=F.gelu, condition_on_initial_state=False
):
    """Spec §9 pseudo-code with the per-iteration update of §1.4 and the step-size network of §2 row (a).
    `condition_on_initial_state` is the reference `input_cond: true`: the step sizes see RMSNorm_inp(x_0) with x_0 the
    embedding output (taken here to be the same x_0 for every layer)."""
    sd = {key: value.to(images.dtype) for key, value in state_dict.items()}
    batch_size = images.shape[0]
    hidden_size = sd["cls_token"].shape[-1]
    head_dim = hidden_size // num_heads
    intermediate_size = sd["enc.0.mlp.weight"].shape[0]
    num_layers = len({key.split(".")[1] for key in sd if key.startswith("enc.")})

    def layer_norm(x, prefix):
        return F.layer_norm(x, (x.shape[-1],), sd[prefix + ".weight"], sd[prefix + ".bias"], eps=1e-5)

    def rms_norm(x, gain):
        return F.rms_norm(x, (x.shape[-1],), gain, eps=None)

    def linear(x, prefix, bias=True):
        return F.linear(x, sd[prefix + ".weight"], sd[prefix + ".bias"] if bias else None)

    # tokens = LN_d(Linear_{f->d}(LN_f(patchify_channels_last(img))))
    tokens = layer_norm(linear(layer_norm(reference_patchify(images, patch_size), "emb.0"), "emb.1"), "emb.2")
    x = torch.cat([sd["cls_token"].expand(batch_size, 1, hidden_size), tokens], dim=1)
    x = x + reference_position_encoding(x.shape[1], hidden_size, images.dtype)
    sequence_length = x.shape[1]
    initial_state = x

    # c_t = RMSNorm(Lin_{d->d}(RMSNorm(GELU(RMSNorm(Lin_{512->d}(sin_512(t))))))), t = 1 ... T
    time_width = sd["time_mlp.0.1.weight"].shape[1]
    conditions = []
    for t in range(1, num_recurrences + 1):
        hidden = rms_norm(linear(reference_iteration_embedding(t, time_width, images.dtype), "time_mlp.0.1"),
                          sd["time_mlp.0.2.weight"])
        hidden = rms_norm(F.gelu(hidden), sd["time_mlp.0.4.weight"])
        conditions.append(rms_norm(linear(hidden, "time_mlp.0.5"), sd["time_mlp.0.6.weight"]))

    for layer in range(num_layers):
        w_qkv = sd[f"enc.{layer}.attn.qkv.weight"]  # (d, d), out x in
        w_ff = sd[f"enc.{layer}.mlp.weight"]  # (M, d)
        for t in range(num_recurrences):
            # [alpha | beta] = Lin_{d->2d}(GELU(c_t + RMSNorm_inp(x_t)))
            state = initial_state if condition_on_initial_state else x
            step_sizes = linear(F.gelu(conditions[t] + rms_norm(state, sd["ln_inp.weight"])), "time_mlp.1.1")
            alpha, beta = step_sizes[..., :hidden_size], step_sizes[..., hidden_size:]

            w = (x @ w_qkv.T).reshape(batch_size, sequence_length, num_heads, head_dim).transpose(1, 2)
            q = rms_norm(w, sd[f"enc.{layer}.attn.ln1_1.weight"])
            k = rms_norm(w, sd[f"enc.{layer}.attn.ln1_2.weight"])
            v = rms_norm(w, sd[f"enc.{layer}.attn.ln1_3.weight"])
            scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
            bi_softmax = torch.softmax(scores, dim=-1) + torch.softmax(scores, dim=-2)  # not halved
            y = (bi_softmax @ v).transpose(1, 2).reshape(batch_size, sequence_length, hidden_size)
            x = x - alpha * (y @ w_qkv)  # tied transposed output map

            h = rms_norm(x @ w_ff.T, sd[f"enc.{layer}.ln2.weight"])
            assert h.shape[-1] == intermediate_size
            x = x + beta * (activation(h) @ w_ff)

    return linear(layer_norm(x[:, 0], "fc.0"), "fc.1")


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden_act, step_size_conditioning",
    [("gelu", "current_state"), ("relu", "current_state"), ("gelu", "initial_state")],
)
def test_converted_lightning_checkpoint_matches_reference_forward(tmp_path, hidden_act, step_size_conditioning):
    state_dict = make_reference_state_dict(seed=1)
    checkpoint = tmp_path / "reference.ckpt"
    save_lightning_checkpoint(state_dict, checkpoint)
    output_dir = tmp_path / "converted"
    main(
        cli_arguments(
            checkpoint, output_dir, "--hidden-act", hidden_act, "--step-size-conditioning", step_size_conditioning
        )
    )

    model = AutoModelForImageClassification.from_pretrained(output_dir).to(torch.float64).eval()
    assert type(model).__name__ == "HyperSETForImageClassification"
    images = torch.randn(3, NUM_CHANNELS, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(2))
    images = images.to(torch.float64)
    assert model.config.hidden_act == hidden_act
    assert model.config.step_size_conditioning == step_size_conditioning
    options = {
        "activation": {"gelu": F.gelu, "relu": F.relu}[hidden_act],
        "condition_on_initial_state": step_size_conditioning == "initial_state",
    }
    with torch.no_grad():
        logits = model(images).logits
        expected = reference_forward(state_dict, images, NUM_HEADS, NUM_RECURRENCES, PATCH_SIZE, **options)
        # the iterations matter: one fewer gives clearly different logits
        fewer = reference_forward(state_dict, images, NUM_HEADS, NUM_RECURRENCES - 1, PATCH_SIZE, **options)
        logits_extrapolated = model(images, num_recurrences=NUM_RECURRENCES + 2).logits
        expected_extrapolated = reference_forward(
            state_dict, images, NUM_HEADS, NUM_RECURRENCES + 2, PATCH_SIZE, **options
        )

    assert logits.shape == (3, NUM_LABELS)
    assert torch.isfinite(expected).all()
    assert (expected - fewer).abs().max() > 1e-3
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits_extrapolated, expected_extrapolated, atol=1e-5, rtol=1e-5)

    # the float32 model as saved agrees too (looser: float32 arithmetic)
    model32 = AutoModelForImageClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        logits32 = model32(images.float()).logits
    torch.testing.assert_close(logits32.double(), expected, atol=1e-4, rtol=1e-4)


def test_single_channel_checkpoint_matches_reference_forward():
    # patch length 16 = 1 channel x 4^2 (with 3 channels it would be refused: 16 / 3 is not an integer)
    state_dict = make_reference_state_dict(seed=3, patch_dim=16, num_layers=1)
    model = convert(state_dict, num_channels=1, image_mean=[0.5], image_std=[0.25]).to(torch.float64)
    assert (model.config.num_channels, model.config.patch_size, model.config.num_layers) == (1, PATCH_SIZE, 1)
    images = torch.randn(2, 1, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        logits = model(images).logits
    expected = reference_forward(state_dict, images, NUM_HEADS, NUM_RECURRENCES, PATCH_SIZE)
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="patch"):
        convert(state_dict)  # num_channels defaults to 3


def test_saved_folder_contents_config_and_image_processor(tmp_path):
    checkpoint = tmp_path / "reference.ckpt"
    save_lightning_checkpoint(make_reference_state_dict(), checkpoint)
    labels_file = tmp_path / "labels.json"
    labels_file.write_text(json.dumps({str(index): f"class_{index}" for index in range(NUM_LABELS)}))
    output_dir = tmp_path / "converted"
    main(
        cli_arguments(
            checkpoint,
            output_dir,
            "--image-mean", "0.5", "0.4", "0.3",
            "--image-std", "0.2", "0.25", "0.3",
            "--id2label-json", str(labels_file),
        )
    )

    for name in ("model.safetensors", "config.json", "preprocessor_config.json"):
        assert (output_dir / name).is_file(), name

    config = AutoConfig.from_pretrained(output_dir)
    assert config.model_type == "hyperset"
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (
        HIDDEN_SIZE,
        NUM_HEADS,
        INTERMEDIATE_SIZE,
    )
    assert (config.num_layers, config.num_recurrences, config.time_embedding_size) == (
        NUM_LAYERS,
        NUM_RECURRENCES,
        TIME_EMBEDDING_SIZE,
    )
    assert (config.image_size, config.patch_size, config.num_channels) == (IMAGE_SIZE, PATCH_SIZE, NUM_CHANNELS)
    assert config.num_labels == NUM_LABELS
    assert config.id2label[3] == "class_3" and config.label2id["class_3"] == 3
    assert config.hidden_act == "gelu" and config.step_size_conditioning == "current_state"
    assert config.share_qkv_norm is False and config.rms_norm_eps is None

    image_processor = AutoImageProcessor.from_pretrained(output_dir)
    assert (image_processor.size["height"], image_processor.size["width"]) == (IMAGE_SIZE, IMAGE_SIZE)
    assert list(image_processor.image_mean) == pytest.approx([0.5, 0.4, 0.3])
    assert list(image_processor.image_std) == pytest.approx([0.2, 0.25, 0.3])
    assert image_processor.do_resize
    pixel_values = image_processor(torch.randint(0, 256, (3, 20, 24), dtype=torch.uint8), return_tensors="pt")
    assert tuple(pixel_values["pixel_values"].shape) == (1, NUM_CHANNELS, IMAGE_SIZE, IMAGE_SIZE)


def test_default_image_processor_statistics(tmp_path):
    checkpoint = tmp_path / "reference.pth"
    torch.save(make_reference_state_dict(), checkpoint)
    main(cli_arguments(checkpoint, tmp_path / "converted"))
    image_processor = AutoImageProcessor.from_pretrained(tmp_path / "converted")
    assert list(image_processor.image_mean) == pytest.approx([0.485, 0.456, 0.406])
    assert list(image_processor.image_std) == pytest.approx([0.229, 0.224, 0.225])


def test_container_formats_load_identically(tmp_path):
    from safetensors.torch import save_file

    state_dict = make_reference_state_dict()
    lightning = tmp_path / "lightning.ckpt"
    save_lightning_checkpoint(state_dict, lightning)
    bare = tmp_path / "bare.pth"
    torch.save(state_dict, bare)
    nested = tmp_path / "nested.pth"
    torch.save({"model_state_dict": state_dict, "optimizer_state_dict": {}, "iter": 7}, nested)
    data_parallel = tmp_path / "data_parallel.pt"
    torch.save({"model_state_dict": {"module." + key: value for key, value in state_dict.items()}}, data_parallel)
    lightning_data_parallel = tmp_path / "lightning_data_parallel.ckpt"
    save_lightning_checkpoint({"module." + key: value for key, value in state_dict.items()}, lightning_data_parallel)
    safetensors_file = tmp_path / "weights.safetensors"
    save_file({key: value.contiguous() for key, value in state_dict.items()}, safetensors_file)

    for path in (lightning, bare, nested, data_parallel, lightning_data_parallel, safetensors_file):
        loaded = load_original_state_dict(path)
        assert sorted(loaded) == sorted(state_dict), path.name
        for key, value in state_dict.items():
            assert torch.equal(loaded[key], value), (path.name, key)

    models = [
        convert_image_classification_checkpoint(path, image_size=IMAGE_SIZE, num_recurrences=NUM_RECURRENCES)
        for path in (lightning, bare, safetensors_file)
    ]
    models.append(  # an already loaded checkpoint works too
        convert_image_classification_checkpoint(
            {"state_dict": {"model." + k: v for k, v in state_dict.items()}}, IMAGE_SIZE, NUM_RECURRENCES
        )
    )
    reference_state = models[0].state_dict()
    assert torch.equal(reference_state["hyperset.encoder.layers.1.attention.key_norm.weight"], state_dict[
        "enc.1.attn.ln1_2.weight"
    ])
    for model in models[1:]:
        for key, value in model.state_dict().items():
            assert torch.equal(value, reference_state[key]), key


def test_pickled_objects_need_trust_pickle(tmp_path):
    state_dict = make_reference_state_dict()
    checkpoint = tmp_path / "with_hyper_parameters.ckpt"
    save_lightning_checkpoint(state_dict, checkpoint, hyper_parameters=argparse.Namespace(learning_rate=1e-3))

    with pytest.raises(ValueError, match="--trust-pickle"):
        load_original_state_dict(checkpoint)
    with pytest.raises(ValueError, match="--trust-pickle"):
        main(cli_arguments(checkpoint, tmp_path / "refused"))
    assert not (tmp_path / "refused").exists()

    loaded = load_original_state_dict(checkpoint, trust_pickle=True)
    assert sorted(loaded) == sorted(state_dict)
    main(cli_arguments(checkpoint, tmp_path / "trusted", "--trust-pickle"))
    assert (tmp_path / "trusted" / "model.safetensors").is_file()


def test_unknown_keys_are_listed():
    state_dict = make_reference_state_dict()
    state_dict["time_mlp.1.0.weight"] = torch.ones(HIDDEN_SIZE)
    state_dict["deltaW_attention_B.0"] = torch.ones(HIDDEN_SIZE, 4)
    with pytest.raises(ValueError) as error:
        convert(state_dict)
    message = str(error.value)
    assert "time_mlp.1.0.weight" in message and "deltaW_attention_B.0" in message
    assert "Unexpected keys (2)" in message
    assert "`hyper-set`" in message


def test_missing_keys_are_listed():
    state_dict = make_reference_state_dict()
    del state_dict["enc.0.ln2.weight"]
    del state_dict["ln_inp.weight"]
    with pytest.raises(ValueError) as error:
        convert(state_dict)
    message = str(error.value)
    assert "Missing keys (2)" in message
    assert "enc.0.ln2.weight" in message and "ln_inp.weight" in message
    assert "Unexpected" not in message


def test_basic_variant_is_refused_and_named():
    state_dict = make_reference_state_dict()
    state_dict["time_mlp.1.2.weight"] = state_dict.pop("time_mlp.1.1.weight")
    state_dict["time_mlp.1.2.bias"] = state_dict.pop("time_mlp.1.1.bias")
    state_dict["time_mlp.1.0.weight"] = torch.ones(HIDDEN_SIZE)
    with pytest.raises(ValueError, match="hyper-set-basic") as error:
        convert(state_dict)
    message = str(error.value)
    for key in ("time_mlp.1.0.weight", "time_mlp.1.2.weight", "time_mlp.1.2.bias", "time_mlp.1.1.weight"):
        assert key in message


def test_non_contiguous_layers_are_refused():
    state_dict = make_reference_state_dict(num_layers=3)
    for key in [key for key in state_dict if key.startswith("enc.1.")]:
        del state_dict[key]
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        convert(state_dict)


def test_shape_mismatch_names_key_and_shapes():
    state_dict = make_reference_state_dict()
    state_dict["enc.1.attn.qkv.weight"] = torch.randn(HIDDEN_SIZE, HIDDEN_SIZE + 1)
    with pytest.raises(ValueError) as error:
        convert(state_dict)
    message = str(error.value)
    assert "enc.1.attn.qkv.weight" in message
    assert f"({HIDDEN_SIZE}, {HIDDEN_SIZE + 1})" in message and f"({HIDDEN_SIZE}, {HIDDEN_SIZE})" in message


def test_patch_dim_that_is_not_channels_times_square_is_refused():
    state_dict = make_reference_state_dict(patch_dim=30)  # 30 / 3 = 10 is not a square
    with pytest.raises(ValueError, match="patch"):
        convert(state_dict)
    # 30 is not a square either, so one channel does not help
    with pytest.raises(ValueError, match="patch"):
        convert(state_dict, num_channels=1, image_mean=[0.5], image_std=[0.5])
    # while patch_dim 27 = 3 x 3^2 converts (3-px patches)
    model = convert(make_reference_state_dict(patch_dim=27), image_size=12)
    assert model.config.patch_size == 3


def test_image_size_not_divisible_by_patch_size_is_refused(tmp_path):
    checkpoint = tmp_path / "reference.pth"
    torch.save(make_reference_state_dict(), checkpoint)
    with pytest.raises(ValueError, match="divisible"):
        convert(make_reference_state_dict(), image_size=18)
    arguments = cli_arguments(checkpoint, tmp_path / "converted")
    arguments[arguments.index("--image-size") + 1] = "18"
    with pytest.raises(ValueError, match="divisible"):
        main(arguments)
    assert not (tmp_path / "converted").exists()


def test_command_line_requires_image_size_and_known_task(tmp_path):
    checkpoint = tmp_path / "reference.pth"
    torch.save(make_reference_state_dict(), checkpoint)
    arguments = cli_arguments(checkpoint, tmp_path / "converted")
    without_image_size = arguments[:4] + arguments[6:]
    assert "--image-size" not in without_image_size
    with pytest.raises(SystemExit):
        main(without_image_size)
    with pytest.raises(SystemExit):
        main(["--task", "masked-image-modeling"] + arguments[2:])


def test_every_reference_tensor_lands_in_the_documented_parameter():
    # q and k gains only enter the logits through their product (the scores q k^T are built from the same projection),
    # so the logits test cannot tell `ln1_1` from `ln1_2`: check every entry of the key table directly.
    layer_table = {
        "mlp.weight": "feedforward.projection.weight",
        "attn.qkv.weight": "attention.projection.weight",
        "attn.ln1_1.weight": "attention.query_norm.weight",
        "attn.ln1_2.weight": "attention.key_norm.weight",
        "attn.ln1_3.weight": "attention.value_norm.weight",
        "ln2.weight": "feedforward.norm.weight",
    }
    step_sizes = "hyperset.encoder.step_size_network."
    table = {
        "cls_token": "hyperset.embeddings.cls_token",
        "emb.0.weight": "hyperset.embeddings.patch_embeddings.input_norm.weight",
        "emb.0.bias": "hyperset.embeddings.patch_embeddings.input_norm.bias",
        "emb.1.weight": "hyperset.embeddings.patch_embeddings.projection.weight",
        "emb.1.bias": "hyperset.embeddings.patch_embeddings.projection.bias",
        "emb.2.weight": "hyperset.embeddings.patch_embeddings.output_norm.weight",
        "emb.2.bias": "hyperset.embeddings.patch_embeddings.output_norm.bias",
        "fc.0.weight": "readout_norm.weight",
        "fc.0.bias": "readout_norm.bias",
        "fc.1.weight": "classifier.weight",
        "fc.1.bias": "classifier.bias",
        "time_mlp.0.1.weight": step_sizes + "time_embedding_projection.weight",
        "time_mlp.0.1.bias": step_sizes + "time_embedding_projection.bias",
        "time_mlp.0.2.weight": step_sizes + "time_embedding_norm.weight",
        "time_mlp.0.4.weight": step_sizes + "time_hidden_norm.weight",
        "time_mlp.0.5.weight": step_sizes + "time_hidden_projection.weight",
        "time_mlp.0.5.bias": step_sizes + "time_hidden_projection.bias",
        "time_mlp.0.6.weight": step_sizes + "time_output_norm.weight",
        "time_mlp.1.1.weight": step_sizes + "step_size_projection.weight",
        "time_mlp.1.1.bias": step_sizes + "step_size_projection.bias",
        "ln_inp.weight": step_sizes + "state_norm.weight",
    }
    for index in range(NUM_LAYERS):
        table.update(
            {f"enc.{index}.{key}": f"hyperset.encoder.layers.{index}.{name}" for key, name in layer_table.items()}
        )

    state_dict = make_reference_state_dict(seed=5)
    assert sorted(table) == sorted(state_dict)  # the table covers the reference layout of spec §11.1
    converted = convert(state_dict).state_dict()
    assert sorted(converted) == sorted(table.values())
    for reference_key, key in table.items():
        assert torch.equal(converted[key], state_dict[reference_key]), (reference_key, key)


def test_unrecognised_containers_and_foreign_lightning_entries_are_refused(tmp_path):
    state_dict = make_reference_state_dict()
    checkpoint = tmp_path / "other_trainer.pth"
    torch.save({"weights": state_dict, "epoch": 3}, checkpoint)
    with pytest.raises(ValueError, match="Unrecognised checkpoint container"):
        load_original_state_dict(checkpoint)

    lightning = {"model." + key: value for key, value in state_dict.items()}
    lightning["criterion.class_weights"] = torch.ones(NUM_LABELS)
    with pytest.raises(ValueError, match=r"Unexpected keys \(1\): criterion\.class_weights"):
        convert({"state_dict": lightning, "epoch": 3})

    with pytest.raises(FileNotFoundError):
        load_original_state_dict(tmp_path / "does_not_exist.ckpt")


# ---------------------------------------------------------------------------------------------------------------------
# Sudoku (`--task sudoku`): random checkpoints in the reference layouts of `sudoku/models.py`
# ---------------------------------------------------------------------------------------------------------------------

SUDOKU_HIDDEN_SIZE = 64
SUDOKU_NUM_HEADS = 4
SUDOKU_INTERMEDIATE_SIZE = 256
SUDOKU_TIME_EMBEDDING_SIZE = 48
SUDOKU_DEFAULT_RECURRENCES = 24  # the reference `n_recur`, the converter's default


def make_sudoku_state_dict(
    seed=0,
    num_layers=1,
    hidden_size=SUDOKU_HIDDEN_SIZE,
    num_heads=SUDOKU_NUM_HEADS,
    intermediate_size=SUDOKU_INTERMEDIATE_SIZE,
    time_embedding_size=SUDOKU_TIME_EMBEDDING_SIZE,
    with_mask=True,
):
    """A random `hyper-set` Sudoku state dict with exactly the reference keys (the unused causal `attn.mask` buffer
    included). Every entry is non-zero; the step-size Linear is small so that the states stay moderate."""
    generator = torch.Generator().manual_seed(seed)
    d, p, m, e = hidden_size, hidden_size // num_heads, intermediate_size, time_embedding_size

    def normal(*shape, std=1.0, mean=0.0):
        return mean + std * torch.randn(*shape, generator=generator)

    def gain(size):
        return normal(size, std=0.2, mean=1.0)

    state_dict = {
        "pos_emb": normal(1, 81, d, std=0.5),
        "tok_emb.weight": normal(10, d),
        "ln_f.weight": gain(d),
        "head.weight": normal(9, d, std=d**-0.5),
        "time_mlp.0.1.weight": normal(d, e, std=e**-0.5),
        "time_mlp.0.1.bias": normal(d, std=0.1),
        "time_mlp.0.3.weight": normal(d, d, std=d**-0.5),
        "time_mlp.0.3.bias": normal(d, std=0.1),
        "time_mlp.1.1.weight": normal(2 * d, d, std=0.05),
        "time_mlp.1.1.bias": normal(2 * d, std=0.05),
    }
    for index in range(num_layers):
        state_dict.update(
            {
                f"blocks.{index}.mlp.weight": normal(m, d, std=d**-0.5),
                f"blocks.{index}.attn.qkv.weight": normal(d, d, std=d**-0.5),
                f"blocks.{index}.attn.ln1.weight": gain(p),
                f"blocks.{index}.ln2.weight": gain(m),
            }
        )
        if with_mask:
            state_dict[f"blocks.{index}.attn.mask"] = torch.tril(torch.ones(81, 81)).view(1, 1, 81, 81)
    return state_dict


def make_sudoku_transformer_state_dict(seed=0, num_layers=1, hidden_size=SUDOKU_HIDDEN_SIZE, with_mask=True):
    """A random state dict of the reference Sudoku Transformer baseline (`model.type: transformer`)."""
    generator = torch.Generator().manual_seed(seed)
    d = hidden_size

    def normal(*shape, std=1.0, mean=0.0):
        return mean + std * torch.randn(*shape, generator=generator)

    state_dict = {
        "pos_emb": normal(1, 81, d, std=0.5),
        "tok_emb.weight": normal(10, d),
        "ln_f.weight": normal(d, std=0.2, mean=1.0),
        "head.weight": normal(9, d, std=d**-0.5),
    }
    for index in range(num_layers):
        state_dict.update(
            {
                f"blocks.{index}.ln1.weight": normal(d, std=0.2, mean=1.0),
                f"blocks.{index}.ln2.weight": normal(d, std=0.2, mean=1.0),
                f"blocks.{index}.attn.key.weight": normal(d, d, std=d**-0.5),
                f"blocks.{index}.attn.query.weight": normal(d, d, std=d**-0.5),
                f"blocks.{index}.attn.value.weight": normal(d, d, std=d**-0.5),
                f"blocks.{index}.attn.proj.weight": normal(d, d, std=d**-0.5),
                f"blocks.{index}.mlp.0.weight": normal(4 * d, d, std=d**-0.5),
                f"blocks.{index}.mlp.2.weight": normal(d, 4 * d, std=(4 * d) ** -0.5),
            }
        )
        if with_mask:
            state_dict[f"blocks.{index}.attn.mask"] = torch.tril(torch.ones(81, 81)).view(1, 1, 81, 81)
    return state_dict


def random_puzzles(batch_size=3, seed=0):
    """Random boards of digits 0-9 (0 = blank), about half of the cells blank."""
    generator = torch.Generator().manual_seed(seed)
    digits = torch.randint(1, 10, (batch_size, 81), generator=generator)
    blanks = torch.rand(batch_size, 81, generator=generator) < 0.5
    return torch.where(blanks, torch.zeros_like(digits), digits)


def sudoku_cli_arguments(checkpoint, output_dir, *extra):
    return ["--task", "sudoku", "--checkpoint", str(checkpoint), "--output-dir", str(output_dir), *extra]


def reference_sudoku_forward(state_dict, input_ids, num_heads, num_recurrences, condition_on_initial_state=True):
    """The reference Sudoku `hyper-set` forward (evaluation mode, dropout = identity), written from its pseudo-code:

        x0 = tok_emb(ids) + pos_emb;  c_t = Lin_3(GELU(Lin_1(sin_E(t))));  x = x0
        for each layer, for t = 1 ... T:
            alpha, beta = split(Lin_{d->2d}(GELU(c_t + x0)))     (c_t + x with input_cond false)
            w = heads(x W_qkv^T);  q = k = v = g * rms(w);  A = q k^T / sqrt(p)
            x = x - alpha * (merge((softmax_rows(A) + softmax_columns(A)) v) W_qkv)
            x = x + beta * (ReLU(g_M * rms(x W_ff^T)) W_ff)
        logits = head(RMSNorm_f(x))
    """
    sd = {key: value.to(torch.float64) for key, value in state_dict.items()}
    batch_size, num_cells = input_ids.shape
    hidden_size = sd["tok_emb.weight"].shape[1]
    head_dim = hidden_size // num_heads
    num_layers = len({key.split(".")[1] for key in sd if key.startswith("blocks.")})

    def rms_norm(x, gain):
        return F.rms_norm(x, (x.shape[-1],), gain, eps=None)

    def linear(x, prefix):
        return F.linear(x, sd[prefix + ".weight"], sd[prefix + ".bias"])

    x0 = sd["tok_emb.weight"][input_ids] + sd["pos_emb"]
    time_width = sd["time_mlp.0.1.weight"].shape[1]
    conditions = [
        linear(F.gelu(linear(reference_iteration_embedding(t, time_width, torch.float64), "time_mlp.0.1")),
               "time_mlp.0.3")
        for t in range(1, num_recurrences + 1)
    ]
    x = x0
    for layer in range(num_layers):
        w_qkv = sd[f"blocks.{layer}.attn.qkv.weight"]
        w_ff = sd[f"blocks.{layer}.mlp.weight"]
        for t in range(num_recurrences):
            state = x0 if condition_on_initial_state else x
            step_sizes = linear(F.gelu(conditions[t] + state), "time_mlp.1.1")
            alpha, beta = step_sizes[..., :hidden_size], step_sizes[..., hidden_size:]

            w = (x @ w_qkv.T).reshape(batch_size, num_cells, num_heads, head_dim).transpose(1, 2)
            qkv = rms_norm(w, sd[f"blocks.{layer}.attn.ln1.weight"])
            scores = qkv @ qkv.transpose(-1, -2) / math.sqrt(head_dim)
            bi_softmax = torch.softmax(scores, dim=-1) + torch.softmax(scores, dim=-2)
            y = (bi_softmax @ qkv).transpose(1, 2).reshape(batch_size, num_cells, hidden_size)
            x = x - alpha * (y @ w_qkv)

            x = x + beta * (F.relu(rms_norm(x @ w_ff.T, sd[f"blocks.{layer}.ln2.weight"])) @ w_ff)
    return rms_norm(x, sd["ln_f.weight"]) @ sd["head.weight"].T


def reference_sudoku_transformer_forward(state_dict, input_ids, num_heads, num_recurrences):
    """The reference Sudoku Transformer baseline (evaluation mode): per layer and iteration
    x = x + proj(softmax_rows(q k^T / sqrt(p)) v) with q, k, v = query/key/value(RMSNorm_1(x)), then
    x = x + mlp.2(ReLU(mlp.0(RMSNorm_2(x)))); logits = head(RMSNorm_f(x))."""
    sd = {key: value.to(torch.float64) for key, value in state_dict.items()}
    batch_size, num_cells = input_ids.shape
    hidden_size = sd["tok_emb.weight"].shape[1]
    head_dim = hidden_size // num_heads
    num_layers = len({key.split(".")[1] for key in sd if key.startswith("blocks.")})

    def rms_norm(x, gain):
        return F.rms_norm(x, (x.shape[-1],), gain, eps=None)

    def heads(x):
        return x.reshape(batch_size, num_cells, num_heads, head_dim).transpose(1, 2)

    x = sd["tok_emb.weight"][input_ids] + sd["pos_emb"]
    for layer in range(num_layers):
        prefix = f"blocks.{layer}."
        for _ in range(num_recurrences):
            h = rms_norm(x, sd[prefix + "ln1.weight"])
            q, k, v = (heads(h @ sd[prefix + f"attn.{name}.weight"].T) for name in ("query", "key", "value"))
            attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim), dim=-1)
            y = (attention @ v).transpose(1, 2).reshape(batch_size, num_cells, hidden_size)
            x = x + y @ sd[prefix + "attn.proj.weight"].T
            h = rms_norm(x, sd[prefix + "ln2.weight"])
            x = x + F.relu(h @ sd[prefix + "mlp.0.weight"].T) @ sd[prefix + "mlp.2.weight"].T
    return rms_norm(x, sd["ln_f.weight"]) @ sd["head.weight"].T


def load_converted_sudoku(output_dir):
    model = AutoModelForTokenClassification.from_pretrained(output_dir).to(torch.float64).eval()
    assert type(model).__name__ == "HyperSETForSudoku"
    return model


@pytest.mark.parametrize(
    "num_layers, num_recurrences, extra_arguments",
    [
        (1, None, ()),  # the paper's L1 x 24 layout with the converter's defaults (T = 24, input_cond true)
        (2, 6, ()),
        (1, 5, ("--step-size-conditioning", "current_state")),  # reference input_cond: false
    ],
)
def test_converted_sudoku_checkpoint_matches_reference_forward(tmp_path, num_layers, num_recurrences, extra_arguments):
    state_dict = make_sudoku_state_dict(seed=1, num_layers=num_layers)
    checkpoint = tmp_path / "Sudoku_reference.pth"
    torch.save(state_dict, checkpoint)  # a bare state dict, as the reference trainer saves it
    output_dir = tmp_path / "converted"
    arguments = sudoku_cli_arguments(checkpoint, output_dir, *extra_arguments)
    if num_recurrences is not None:
        arguments += ["--num-recurrences", str(num_recurrences)]
    main(arguments)

    assert (output_dir / "model.safetensors").is_file() and (output_dir / "config.json").is_file()
    assert not (output_dir / "preprocessor_config.json").exists()
    model = load_converted_sudoku(output_dir)
    num_recurrences = num_recurrences or SUDOKU_DEFAULT_RECURRENCES
    condition_on_initial_state = "current_state" not in extra_arguments
    config = model.config
    assert (config.input_type, config.layer_type, config.num_labels) == ("sudoku", "hyperset", 9)
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (
        SUDOKU_HIDDEN_SIZE,
        SUDOKU_NUM_HEADS,
        SUDOKU_INTERMEDIATE_SIZE,
    )
    assert (config.num_layers, config.num_recurrences, config.time_embedding_size) == (
        num_layers,
        num_recurrences,
        SUDOKU_TIME_EMBEDDING_SIZE,
    )
    assert config.share_qkv_norm and config.hidden_act == "relu" and config.rms_norm_eps is None
    assert config.step_size_network_type == "unnormalized"
    assert config.step_size_conditioning == ("initial_state" if condition_on_initial_state else "current_state")

    input_ids = random_puzzles(4, seed=2)
    options = {"condition_on_initial_state": condition_on_initial_state}
    with torch.no_grad():
        logits = model(input_ids).logits
        logits_extrapolated = model(input_ids, num_recurrences=num_recurrences + 4).logits
    expected = reference_sudoku_forward(state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences, **options)
    expected_extrapolated = reference_sudoku_forward(
        state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences + 4, **options
    )
    # the iterations and the step-size conditioning matter: both change the logits clearly
    fewer = reference_sudoku_forward(state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences - 1, **options)
    other_conditioning = reference_sudoku_forward(
        state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences, condition_on_initial_state=not options[
            "condition_on_initial_state"
        ]
    )

    assert logits.shape == (4, 81, 9)
    assert torch.isfinite(expected).all() and torch.isfinite(expected_extrapolated).all()
    assert (expected - fewer).abs().max() > 1e-3
    assert (expected - other_conditioning).abs().max() > 1e-3
    assert (logits - expected).abs().max() <= 1e-6
    assert (logits_extrapolated - expected_extrapolated).abs().max() <= 1e-6

    # the float32 model as saved agrees too (looser: float32 arithmetic)
    model32 = AutoModelForTokenClassification.from_pretrained(output_dir).eval()
    with torch.no_grad():
        logits32 = model32(input_ids).logits
    torch.testing.assert_close(logits32.double(), expected, atol=1e-4, rtol=1e-4)


def test_converted_sudoku_transformer_matches_reference_forward(tmp_path):
    num_recurrences = 5
    state_dict = make_sudoku_transformer_state_dict(seed=3, num_layers=2)
    checkpoint = tmp_path / "transformer.pth"
    torch.save(state_dict, checkpoint)
    output_dir = tmp_path / "converted"
    main(
        sudoku_cli_arguments(
            checkpoint, output_dir, "--num-attention-heads", str(SUDOKU_NUM_HEADS), "--num-recurrences", "5"
        )
    )

    model = load_converted_sudoku(output_dir)
    config = model.config
    assert (config.layer_type, config.num_layers, config.num_recurrences) == ("transformer", 2, num_recurrences)
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (
        SUDOKU_HIDDEN_SIZE,
        SUDOKU_NUM_HEADS,
        4 * SUDOKU_HIDDEN_SIZE,
    )
    input_ids = random_puzzles(4, seed=4)
    with torch.no_grad():
        logits = model(input_ids).logits
        logits_extrapolated = model(input_ids, num_recurrences=num_recurrences + 4).logits
    expected = reference_sudoku_transformer_forward(state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences)
    expected_extrapolated = reference_sudoku_transformer_forward(
        state_dict, input_ids, SUDOKU_NUM_HEADS, num_recurrences + 4
    )
    assert torch.isfinite(expected_extrapolated).all()
    assert (logits - expected).abs().max() <= 1e-6
    assert (logits_extrapolated - expected_extrapolated).abs().max() <= 1e-6

    # the head count matters (and is what the weights cannot tell): another one gives other logits
    other_heads = convert_sudoku_checkpoint(checkpoint, num_recurrences=num_recurrences, num_attention_heads=8)
    with torch.no_grad():
        logits_other_heads = other_heads.to(torch.float64)(input_ids).logits
    assert (logits_other_heads - expected).abs().max() > 1e-3


def test_sudoku_transformer_without_num_attention_heads_is_refused(tmp_path):
    checkpoint = tmp_path / "transformer.pth"
    torch.save(make_sudoku_transformer_state_dict(), checkpoint)
    with pytest.raises(ValueError, match="--num-attention-heads") as error:
        main(sudoku_cli_arguments(checkpoint, tmp_path / "refused"))
    assert "not recoverable from its weights" in str(error.value)
    assert not (tmp_path / "refused").exists()
    with pytest.raises(ValueError, match="not divisible"):
        convert_sudoku_checkpoint(checkpoint, num_attention_heads=5)


def test_sudoku_heads_are_inferred_from_the_shared_gain_and_checked():
    state_dict = make_sudoku_state_dict(num_heads=8)  # head width 8
    assert convert_sudoku_checkpoint(state_dict).config.num_attention_heads == 8
    assert convert_sudoku_checkpoint(state_dict, num_attention_heads=8).config.num_attention_heads == 8
    with pytest.raises(ValueError, match="contradicts") as error:
        convert_sudoku_checkpoint(state_dict, num_attention_heads=4)
    assert "blocks.0.attn.ln1.weight" in str(error.value)
    state_dict["blocks.0.attn.ln1.weight"] = torch.ones(10)  # 64 is not a multiple of 10
    with pytest.raises(ValueError, match="not a multiple of the head width"):
        convert_sudoku_checkpoint(state_dict)


def test_sudoku_parameter_counts_at_the_paper_size():
    # d = 768, 12 heads, M = 3072, time embedding 512, one layer: the paper's 5,195,584 parameters
    state_dict = make_sudoku_state_dict(hidden_size=768, num_heads=12, intermediate_size=3072, time_embedding_size=512)
    assert tuple(state_dict["blocks.0.attn.ln1.weight"].shape) == (64,)
    model = convert_sudoku_checkpoint(state_dict)
    assert sum(parameter.numel() for parameter in model.parameters()) == 5_195_584
    # the reference's own count: every entry but the unused mask buffer
    assert sum(value.numel() for key, value in state_dict.items() if not key.endswith("attn.mask")) == 5_195_584
    config = model.config
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (768, 12, 3072)
    assert (config.num_layers, config.num_recurrences, config.time_embedding_size) == (1, 24, 512)
    assert config.step_size_conditioning == "initial_state"

    transformer = convert_sudoku_checkpoint(
        make_sudoku_transformer_state_dict(hidden_size=768), num_attention_heads=12
    )
    assert sum(parameter.numel() for parameter in transformer.parameters()) == 7_156_992


def test_every_sudoku_reference_tensor_lands_in_the_documented_parameter():
    step_sizes = "hyperset.encoder.step_size_network."
    shared = {
        "pos_emb": "hyperset.embeddings.position_embeddings",
        "tok_emb.weight": "hyperset.embeddings.digit_embeddings.weight",
        "ln_f.weight": "readout_norm.weight",
        "head.weight": "classifier.weight",
    }
    hyperset_table = {
        **shared,
        "time_mlp.0.1.weight": step_sizes + "time_embedding_projection.weight",
        "time_mlp.0.1.bias": step_sizes + "time_embedding_projection.bias",
        "time_mlp.0.3.weight": step_sizes + "time_hidden_projection.weight",
        "time_mlp.0.3.bias": step_sizes + "time_hidden_projection.bias",
        "time_mlp.1.1.weight": step_sizes + "step_size_projection.weight",
        "time_mlp.1.1.bias": step_sizes + "step_size_projection.bias",
    }
    transformer_table = dict(shared)
    for index in range(2):
        layer = f"hyperset.encoder.layers.{index}."
        hyperset_table.update(
            {
                f"blocks.{index}.mlp.weight": layer + "feedforward.projection.weight",
                f"blocks.{index}.attn.qkv.weight": layer + "attention.projection.weight",
                f"blocks.{index}.attn.ln1.weight": layer + "attention.qkv_norm.weight",
                f"blocks.{index}.ln2.weight": layer + "feedforward.norm.weight",
            }
        )
        transformer_table.update(
            {
                f"blocks.{index}.ln1.weight": layer + "attention_norm.weight",
                f"blocks.{index}.ln2.weight": layer + "mlp_norm.weight",
                f"blocks.{index}.attn.query.weight": layer + "attention.query.weight",
                f"blocks.{index}.attn.key.weight": layer + "attention.key.weight",
                f"blocks.{index}.attn.value.weight": layer + "attention.value.weight",
                f"blocks.{index}.attn.proj.weight": layer + "attention.output.weight",
                f"blocks.{index}.mlp.0.weight": layer + "mlp.0.weight",
                f"blocks.{index}.mlp.2.weight": layer + "mlp.2.weight",
            }
        )

    for state_dict, table, heads in (
        (make_sudoku_state_dict(seed=5, num_layers=2), hyperset_table, None),
        (make_sudoku_transformer_state_dict(seed=5, num_layers=2), transformer_table, SUDOKU_NUM_HEADS),
    ):
        masks = sorted(key for key in state_dict if key.endswith(".attn.mask"))
        assert masks == ["blocks.0.attn.mask", "blocks.1.attn.mask"]
        assert sorted(table) == sorted(set(state_dict) - set(masks))  # the table covers the reference layout
        converted = convert_sudoku_checkpoint(state_dict, num_attention_heads=heads).state_dict()
        assert sorted(converted) == sorted(table.values())  # the mask buffers are dropped
        for reference_key, key in table.items():
            assert torch.equal(converted[key], state_dict[reference_key]), (reference_key, key)

    # checkpoints without the (unused) mask buffers convert to the same weights
    without_masks = convert_sudoku_checkpoint(make_sudoku_state_dict(seed=5, num_layers=2, with_mask=False))
    with_masks = convert_sudoku_checkpoint(make_sudoku_state_dict(seed=5, num_layers=2))
    for key, value in with_masks.state_dict().items():
        assert torch.equal(without_masks.state_dict()[key], value), key


def test_sudoku_unknown_and_missing_keys_are_listed():
    state_dict = make_sudoku_state_dict(num_layers=2)
    del state_dict["blocks.1.ln2.weight"]
    del state_dict["time_mlp.0.3.bias"]
    state_dict["blocks.0.attn.ln1_1.weight"] = torch.ones(SUDOKU_HIDDEN_SIZE // SUDOKU_NUM_HEADS)
    state_dict["ln_inp.weight"] = torch.ones(SUDOKU_HIDDEN_SIZE)
    with pytest.raises(ValueError) as error:
        convert_sudoku_checkpoint(state_dict)
    message = str(error.value)
    assert "Sudoku `hyper-set`" in message
    assert "Unexpected keys (2): blocks.0.attn.ln1_1.weight, ln_inp.weight." in message
    assert "Missing keys (2): blocks.1.ln2.weight, time_mlp.0.3.bias." in message

    transformer = make_sudoku_transformer_state_dict()
    del transformer["blocks.0.attn.proj.weight"]
    transformer["blocks.0.attn.output.weight"] = torch.ones(SUDOKU_HIDDEN_SIZE, SUDOKU_HIDDEN_SIZE)
    with pytest.raises(ValueError) as error:
        convert_sudoku_checkpoint(transformer, num_attention_heads=SUDOKU_NUM_HEADS)
    message = str(error.value)
    assert "Sudoku `transformer`" in message
    assert "Unexpected keys (1): blocks.0.attn.output.weight." in message
    assert "Missing keys (1): blocks.0.attn.proj.weight." in message


def test_sudoku_missing_pos_emb_is_refused_as_unsupported_sincos(tmp_path):
    state_dict = make_sudoku_state_dict()
    del state_dict["pos_emb"]  # `pos_emb: sincos` keeps the fixed positions out of the state dict
    checkpoint = tmp_path / "sincos.pth"
    torch.save(state_dict, checkpoint)
    with pytest.raises(ValueError) as error:
        main(sudoku_cli_arguments(checkpoint, tmp_path / "refused"))
    message = str(error.value)
    assert "Fixed 2-D sin-cos positions are not supported" in message
    assert "Missing keys (1): pos_emb." in message
    assert not (tmp_path / "refused").exists()


def test_sudoku_vocabulary_cells_and_classes_are_checked():
    state_dict = make_sudoku_state_dict()
    state_dict["tok_emb.weight"] = torch.randn(11, SUDOKU_HIDDEN_SIZE)
    with pytest.raises(ValueError, match=r"`tok_emb.weight` has shape \(11, 64\).*10 rows"):
        convert_sudoku_checkpoint(state_dict)

    state_dict = make_sudoku_state_dict()
    state_dict["pos_emb"] = torch.randn(1, 16, SUDOKU_HIDDEN_SIZE)  # a 4 x 4 board
    with pytest.raises(ValueError, match=r"`pos_emb` has shape \(1, 16, 64\); expected \(1, 81, hidden_size\)"):
        convert_sudoku_checkpoint(state_dict)

    state_dict = make_sudoku_state_dict()
    state_dict["head.weight"] = torch.randn(10, SUDOKU_HIDDEN_SIZE)
    with pytest.raises(ValueError, match=r"`head.weight` has shape \(10, 64\).*9 rows"):
        convert_sudoku_checkpoint(state_dict)


def test_sudoku_shape_mismatch_and_layer_gaps_are_refused():
    state_dict = make_sudoku_state_dict()
    state_dict["time_mlp.0.3.weight"] = torch.randn(SUDOKU_HIDDEN_SIZE, SUDOKU_HIDDEN_SIZE + 1)
    with pytest.raises(ValueError) as error:
        convert_sudoku_checkpoint(state_dict)
    message = str(error.value)
    assert "time_mlp.0.3.weight" in message and "time_hidden_projection.weight" in message
    assert f"({SUDOKU_HIDDEN_SIZE}, {SUDOKU_HIDDEN_SIZE + 1})" in message

    state_dict = make_sudoku_state_dict(num_layers=3)
    for key in [key for key in state_dict if key.startswith("blocks.1.")]:
        del state_dict[key]
    with pytest.raises(ValueError, match=r"`blocks.<i>` with i in \[0, 2\]"):
        convert_sudoku_checkpoint(state_dict)


def test_sudoku_other_models_are_named():
    image_classifier = make_reference_state_dict()
    with pytest.raises(ValueError, match="--task image-classification"):
        convert_sudoku_checkpoint(image_classifier)
    with pytest.raises(ValueError, match="Sudoku"):  # and the other way round
        convert(make_sudoku_state_dict())

    shared = make_sudoku_transformer_state_dict()
    shared["blocks.0.attn.qkv.weight"] = shared.pop("blocks.0.attn.query.weight")
    del shared["blocks.0.attn.key.weight"], shared["blocks.0.attn.value.weight"]
    with pytest.raises(ValueError, match="transformer_shared"):
        convert_sudoku_checkpoint(shared, num_attention_heads=SUDOKU_NUM_HEADS)


def test_sudoku_pickled_objects_need_trust_pickle(tmp_path):
    checkpoint = tmp_path / "nested.pth"
    torch.save(
        {"model_state_dict": make_sudoku_state_dict(), "args": argparse.Namespace(n_recur=24)}, checkpoint
    )
    with pytest.raises(ValueError, match="--trust-pickle"):
        main(sudoku_cli_arguments(checkpoint, tmp_path / "refused"))
    assert not (tmp_path / "refused").exists()
    main(sudoku_cli_arguments(checkpoint, tmp_path / "trusted", "--trust-pickle"))
    assert (tmp_path / "trusted" / "model.safetensors").is_file()


def test_command_line_options_per_task(tmp_path):
    sudoku_checkpoint = tmp_path / "sudoku.pth"
    torch.save(make_sudoku_state_dict(), sudoku_checkpoint)
    image_checkpoint = tmp_path / "image.pth"
    torch.save(make_reference_state_dict(), image_checkpoint)

    # image-classification options are refused for Sudoku, and the Sudoku option for image classification
    for extra in (("--image-size", "32"), ("--hidden-act", "relu"), ("--num-channels", "1")):
        with pytest.raises(SystemExit):
            main(sudoku_cli_arguments(sudoku_checkpoint, tmp_path / "refused", *extra))
    with pytest.raises(SystemExit):
        main(cli_arguments(image_checkpoint, tmp_path / "refused", "--num-attention-heads", str(NUM_HEADS)))
    # --num-recurrences is required for image classification only
    arguments = cli_arguments(image_checkpoint, tmp_path / "refused")
    position = arguments.index("--num-recurrences")
    with pytest.raises(SystemExit):
        main(arguments[:position] + arguments[position + 2 :])
    assert not (tmp_path / "refused").exists()
    assert main(sudoku_cli_arguments(sudoku_checkpoint, tmp_path / "converted")).config.num_recurrences == 24


# ---------------------------------------------------------------------------------------------------------------------
# Masked image modeling (`--task mim`): the authors' own `MaskTransformerUncond` (read from the local mirror of their
# repository, skipped without it), saved by their own `MIMTrainer._save_checkpoint`, converted and compared
# ---------------------------------------------------------------------------------------------------------------------

# The reference model, its random weights and inputs come from the equivalence tests of the MIM model; `reference` is
# their module-scoped fixture (it extracts `mim/models.py` and `mim/trainer.py` from the mirror, or skips).
from test_hyperset_token_mim import build_reference, reference, reference_inputs  # noqa: E402, F401


MIM_HIDDEN_SIZE = 64
MIM_NUM_HEADS = 2
MIM_CODEBOOK_SIZE = 32
# The grid is 16 x 16 (reference img_size 256): the authors' `HyperSETBlock.forward` asserts 256 tokens.
MIM_GRID = 16


def save_like_the_mim_trainer(reference, model, folder, multi_gpu=False):
    """Saves `model` with the authors' `MIMTrainer._save_checkpoint` (a dict with `iter`, `global_epoch`,
    `model_state_dict`, `optimizer_state_dict`, `scaler_state_dict`) after one AdamW step, so that the optimizer state
    holds tensors as in a real checkpoint; with `multi_gpu` the model is reached through `.module` as under DDP."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0, betas=(0.9, 0.96), weight_decay=0.0)  # lr 0: no change
    _, input_ids = reference_inputs(batch_size=1, codebook_size=MIM_CODEBOOK_SIZE)
    model(input_ids, n_recur=1).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    trainer = argparse.Namespace(
        is_master=True, is_multi_gpus=multi_gpu, vit=argparse.Namespace(module=model) if multi_gpu else model,
        ckpt_path=str(folder), cfg=argparse.Namespace(experiment=argparse.Namespace(ckpt_name="mim_ckpt")), iter=7,
        global_epoch=2, optimizer=optimizer, scaler=torch.amp.GradScaler("cpu"),
    )  # fmt: skip
    reference.trainer.MIMTrainer._save_checkpoint(trainer, "last")
    return folder / "mim_ckpt_last.pth"


def mim_cli_arguments(checkpoint, output_dir, *extra):
    return ["--task", "mim", "--checkpoint", str(checkpoint), "--output-dir", str(output_dir), *extra]


@pytest.mark.parametrize(
    "layer_type, multiplier, preset, default_recurrences",
    [("hyperset", 1, "mim", 12), ("hyperset", 8, "mim-scaled", 24), ("transformer", 4, "mim-transformer", 12)],
)
def test_converted_mim_checkpoint_matches_the_authors_model(
    reference, tmp_path, layer_type, multiplier, preset, default_recurrences
):
    reference_model = build_reference(
        reference, layer_type, multiplier, hidden_size=MIM_HIDDEN_SIZE, heads=MIM_NUM_HEADS,
        codebook_size=MIM_CODEBOOK_SIZE, seed=5,
    )  # fmt: skip
    checkpoint = save_like_the_mim_trainer(reference, reference_model, tmp_path, multi_gpu=layer_type == "transformer")
    saved = torch.load(checkpoint, weights_only=True)  # what the trainer wrote loads without unpickling objects
    assert {"iter", "global_epoch", "model_state_dict", "optimizer_state_dict", "scaler_state_dict"} <= set(saved)
    assert not any(key.startswith("module.") for key in saved["model_state_dict"])

    output_dir = tmp_path / "converted"
    extra = ("--num-attention-heads", str(MIM_NUM_HEADS)) if layer_type == "transformer" else ()
    main(mim_cli_arguments(checkpoint, output_dir, *extra))
    assert (output_dir / "model.safetensors").is_file() and (output_dir / "config.json").is_file()
    model = AutoModelForMaskedLM.from_pretrained(output_dir).eval()
    assert type(model).__name__ == "HyperSETForMaskedTokenModeling"

    config, expected_config = model.config, hyperset_hf.HyperSETConfig.from_preset(preset)
    assert (config.layer_type, config.hidden_act, config.share_qkv_norm) == (
        expected_config.layer_type, expected_config.hidden_act, expected_config.share_qkv_norm,
    )  # fmt: skip
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size, config.num_layers) == (
        MIM_HIDDEN_SIZE, MIM_NUM_HEADS, multiplier * MIM_HIDDEN_SIZE, 1,
    )  # fmt: skip
    assert (config.codebook_size, config.mask_token_id, config.token_grid_size) == (
        MIM_CODEBOOK_SIZE, MIM_CODEBOOK_SIZE, MIM_GRID,
    )  # fmt: skip
    assert config.num_recurrences == default_recurrences == expected_config.num_recurrences

    codes, input_ids = reference_inputs(batch_size=2, codebook_size=MIM_CODEBOOK_SIZE, seed=6)
    assert (input_ids == MIM_CODEBOOK_SIZE).any() and (input_ids != MIM_CODEBOOK_SIZE).any()  # some masked tokens
    with torch.no_grad():
        expected = reference_model(input_ids, n_recur=default_recurrences)
        logits = model(input_ids).logits  # the converted default iteration count
        assert logits.shape == expected.shape == (2, MIM_GRID * MIM_GRID, MIM_CODEBOOK_SIZE)
        torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)
        fewer = reference_model(input_ids, n_recur=3)
        torch.testing.assert_close(model(input_ids, num_recurrences=3).logits, fewer, atol=1e-5, rtol=0)
        assert (expected - fewer).abs().max() > 1e-3  # the iterations move the state
        # the Python API on the unmasked codes, from the loaded dictionary
        direct = convert_mim_checkpoint(saved, num_attention_heads=MIM_NUM_HEADS if extra else None)
        torch.testing.assert_close(direct(codes).logits, reference_model(codes, n_recur=default_recurrences),
                                   atol=1e-5, rtol=0)  # fmt: skip


def test_mim_num_recurrences_and_grid_options(reference, tmp_path):
    reference_model = build_reference(reference, "hyperset", 1, hidden_size=MIM_HIDDEN_SIZE, heads=MIM_NUM_HEADS,
                                      codebook_size=MIM_CODEBOOK_SIZE)  # fmt: skip
    checkpoint = save_like_the_mim_trainer(reference, reference_model, tmp_path)
    model = main(mim_cli_arguments(checkpoint, tmp_path / "r5", "--num-recurrences", "5", "--token-grid-size", "8"))
    assert (model.config.num_recurrences, model.config.token_grid_size) == (5, 8)
    with pytest.raises(ValueError, match="contradicts"):
        convert_mim_checkpoint(checkpoint, num_attention_heads=4)  # hyper-set: d / length of the shared gain = 2
    # options of other tasks are refused, and --token-grid-size for the other tasks
    for extra in (("--image-size", "32"), ("--step-size-conditioning", "current_state")):
        with pytest.raises(SystemExit):
            main(mim_cli_arguments(checkpoint, tmp_path / "refused", *extra))
    sudoku_checkpoint = tmp_path / "sudoku.pth"
    torch.save(make_sudoku_state_dict(), sudoku_checkpoint)
    with pytest.raises(SystemExit):
        main(sudoku_cli_arguments(sudoku_checkpoint, tmp_path / "refused", "--token-grid-size", "16"))
    assert not (tmp_path / "refused").exists()


def test_mim_checkpoint_with_a_missing_or_unknown_key_is_refused_naming_it(reference, tmp_path):
    reference_model = build_reference(reference, "hyperset", 1, hidden_size=MIM_HIDDEN_SIZE, heads=MIM_NUM_HEADS,
                                      codebook_size=MIM_CODEBOOK_SIZE)  # fmt: skip
    state_dict = reference_model.state_dict()
    broken = {key: value for key, value in state_dict.items() if key != "transformer.ln2.weight"}
    checkpoint = tmp_path / "broken.pth"
    torch.save({"model_state_dict": broken, "iter": 0}, checkpoint)
    with pytest.raises(ValueError, match=r"Missing keys \(1\): transformer\.ln2\.weight\.") as error:
        main(mim_cli_arguments(checkpoint, tmp_path / "refused"))
    assert "MIM `hyper-set`" in str(error.value)
    assert not (tmp_path / "refused").exists()

    with pytest.raises(ValueError, match=r"Unexpected keys \(1\): transformer\.extra\.weight\."):
        convert_mim_checkpoint({**state_dict, "transformer.extra.weight": torch.zeros(3)})
    # a DDP `module.` prefix is removed; a wrong shape is named with both shapes
    bad = {"module." + key: value for key, value in state_dict.items()}
    bad["module.transformer.ln2.weight"] = torch.ones(5)
    with pytest.raises(ValueError, match=r"`transformer\.ln2\.weight`.*\(5,\), expected \(64,\)"):
        convert_mim_checkpoint(bad)
    # codebook rows of the embedding and the head must agree (K + 1 with [MASK])
    with pytest.raises(ValueError, match=r"`tok_emb\.weight`.*must have 33 rows"):
        convert_mim_checkpoint({**state_dict, "tok_emb.weight": torch.zeros(32, MIM_HIDDEN_SIZE)})
    # a Sudoku checkpoint is named as such
    with pytest.raises(ValueError, match="a Sudoku model"):
        convert_mim_checkpoint(make_sudoku_state_dict())


def test_mim_transformer_without_num_attention_heads_is_refused(reference, tmp_path):
    reference_model = build_reference(reference, "transformer", 4, hidden_size=MIM_HIDDEN_SIZE, heads=MIM_NUM_HEADS,
                                      codebook_size=MIM_CODEBOOK_SIZE)  # fmt: skip
    checkpoint = save_like_the_mim_trainer(reference, reference_model, tmp_path)
    with pytest.raises(ValueError, match="--num-attention-heads") as error:
        main(mim_cli_arguments(checkpoint, tmp_path / "refused"))
    assert "not recoverable from its weights" in str(error.value)
    assert not (tmp_path / "refused").exists()
