"""GPU checks (issue 22): bf16 autocast training steps against float32, SDPA against eager attention for the Transformer
baseline, the chunked bi-softmax against the dense one, `torch.compile` (inductor) against eager, and checkpoints moved
between the GPU and the CPU. Every test is marked `cuda` and skipped without a CUDA GPU; `benchmarks/gpu/check.sh` runs
them (`python -m pytest -m cuda tests/test_cuda.py`).

The models are small (d=64, 4 heads, 4 iterations, 65 tokens) and use only the public classes, configs and forward
arguments. Every parameter gets a little noise on top of its initialisation, so that the zero-initialised step-size
networks vary from token to token and every iteration moves the state.

`HYPERSET_CUDA_TEST_DEVICE=cpu` runs the same checks on the CPU: that only debugs the tests themselves (the GPU kernels
are not exercised), it is no substitute for the GPU run.
"""

import copy
import os
import shutil

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode


DEVICE = os.environ.get("HYPERSET_CUDA_TEST_DEVICE", "cuda")
SKIPPED = DEVICE == "cuda" and not torch.cuda.is_available()
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(SKIPPED, reason="needs a CUDA GPU")]
if not SKIPPED:  # collecting the skipped tests does not import the models (the CPU dry run of check.sh stays fast)
    from hyperset_hf import (
        EnergyTransformerConfig,
        EnergyTransformerForImageClassification,
        EnergyTransformerForMaskedImageModeling,
        HyperSETConfig,
        HyperSETForImageClassification,
        HyperSETForMaskedTokenModeling,
        HyperSETForSudoku,
    )
BATCH_SIZE = 4


@pytest.fixture(autouse=True)
def exact_float32():
    """float32 means float32: no TF32 in cuDNN convolutions (on by default) or cuBLAS matmuls, for the whole test."""
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _autocast(enabled: bool = True):
    return torch.autocast(device_type=torch.device(DEVICE).type, dtype=torch.bfloat16, enabled=enabled)


def hyperset_config(**overrides):
    """d=64, 4 heads, FF width 128, 4 iterations, 32-px images in 4-px patches (65 tokens)."""
    values = dict(
        hidden_size=64, num_attention_heads=4, intermediate_size=128, num_recurrences=4, time_embedding_size=64,
        image_size=32, patch_size=4, num_labels=10,
    )  # fmt: skip
    if overrides.get("layer_type", "hyperset") == "hyperset":
        values["step_size_initial_value"] = 0.1
    values.update(overrides)
    return HyperSETConfig(**values)


def sudoku_config(**overrides):
    values = dict(
        hidden_size=64, num_attention_heads=4, intermediate_size=128, num_recurrences=4, time_embedding_size=64,
        embedding_dropout_prob=0.0,
    )  # fmt: skip
    if overrides.get("layer_type", "hyperset") == "hyperset":
        values["step_size_initial_value"] = 0.1
    values.update(overrides)
    return HyperSETConfig.from_preset("sudoku-transformer" if values.get("layer_type") == "transformer" else "sudoku",
                                      **values)  # fmt: skip


def visual_token_config(**overrides):
    values = dict(
        hidden_size=64, num_attention_heads=4, intermediate_size=128, num_recurrences=4, time_embedding_size=64,
        token_grid_size=8, codebook_size=64, step_size_initial_value=0.1,
    )  # fmt: skip
    values.update(overrides)
    return HyperSETConfig.from_preset("mim", **values)


def energy_transformer_config(**overrides):
    """d=64, 4 heads of width 16, 128 memories, 4 steps, 32-px images in 4-px patches (65 tokens); initialised wider
    than the official initialisation so that every step moves the state visibly."""
    values = dict(
        hidden_size=64, num_attention_heads=4, head_dim=16, num_memories=128, num_recurrences=4, image_size=32,
        patch_size=4, num_labels=10, token_initializer_range=0.2, initializer_range=0.2, step_size=0.5,
    )  # fmt: skip
    values.update(overrides)
    return EnergyTransformerConfig(**values)


def randomized(model: torch.nn.Module, std: float = 0.02, seed: int = 0) -> torch.nn.Module:
    """Adds N(0, std) noise to every parameter (so that zero-initialised weights are not zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32) * std
            parameter.add_(noise.to(parameter.device, parameter.dtype))
    return model


def image_inputs(config, seed: int = 1, labels: bool = True) -> dict:
    generator = torch.Generator().manual_seed(seed)
    shape = (BATCH_SIZE, config.num_channels, config.image_size, config.image_size)
    inputs = {"pixel_values": torch.randn(shape, generator=generator)}
    if labels:
        inputs["labels"] = torch.randint(0, config.num_labels, (BATCH_SIZE,), generator=generator)
    return inputs


def masked_image_inputs(config, seed: int = 1) -> dict:
    generator = torch.Generator().manual_seed(seed)
    inputs = image_inputs(config, seed, labels=False)
    num_patches = (config.image_size // config.patch_size) ** 2
    inputs["bool_masked_pos"] = torch.rand(BATCH_SIZE, num_patches, generator=generator) < 0.5
    return inputs


def sudoku_inputs(seed: int = 1) -> dict:
    generator = torch.Generator().manual_seed(seed)
    digits = torch.randint(1, 10, (BATCH_SIZE, 81), generator=generator)
    blank = torch.rand(BATCH_SIZE, 81, generator=generator) < 0.6
    solution = torch.randint(0, 9, (BATCH_SIZE, 81), generator=generator)
    return {"input_ids": torch.where(blank, 0, digits), "labels": torch.where(blank, solution, -100)}


def visual_token_inputs(config, seed: int = 1) -> dict:
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, config.codebook_size, (BATCH_SIZE, config.num_visual_tokens), generator=generator)
    masked = torch.rand(codes.shape, generator=generator) < 0.5
    return {"input_ids": torch.where(masked, config.mask_token_id, codes), "labels": torch.where(masked, codes, -100)}


def build(case: str):
    """A randomised model (float32, on the test device, train mode) and its inputs (with labels: a loss)."""
    torch.manual_seed(0)
    if case == "hyperset-image":
        config = hyperset_config()
        model, inputs = HyperSETForImageClassification(config), image_inputs(config)
    elif case == "hyperset-sudoku":
        model, inputs = HyperSETForSudoku(sudoku_config()), sudoku_inputs()
    elif case == "hyperset-visual-tokens":
        config = visual_token_config()
        model, inputs = HyperSETForMaskedTokenModeling(config), visual_token_inputs(config)
    elif case == "transformer-sudoku":
        model, inputs = HyperSETForSudoku(sudoku_config(layer_type="transformer")), sudoku_inputs()
    elif case == "energy-transformer-image":
        config = energy_transformer_config()
        model, inputs = EnergyTransformerForImageClassification(config), image_inputs(config)
    elif case == "energy-transformer-mim":
        config = energy_transformer_config(visible_loss_ratio=0.0)  # no random visible patches: a deterministic loss
        model, inputs = EnergyTransformerForMaskedImageModeling(config), masked_image_inputs(config)
    else:
        raise ValueError(case)
    return randomized(model).to(DEVICE).train(), {name: value.to(DEVICE) for name, value in inputs.items()}


def prediction(outputs) -> torch.Tensor:
    logits = getattr(outputs, "logits", None)
    return outputs.reconstruction if logits is None else logits


def forward_backward(model, inputs, bf16: bool):
    """Loss, predictions (float32, detached) and the gradient of every parameter (float32) of one training step."""
    model.zero_grad(set_to_none=True)
    with _autocast(bf16):
        outputs = model(**inputs)
    outputs.loss.backward()
    gradients = {name: p.grad.detach().float().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return outputs.loss.detach().float(), prediction(outputs).detach().float(), gradients


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual.double() - expected.double()).norm() / expected.double().norm().clamp_min(1e-30))


def cosine(first: dict, second: dict) -> float:
    a = torch.cat([first[name].reshape(-1) for name in sorted(first)]).double()
    b = torch.cat([second[name].reshape(-1) for name in sorted(first)]).double()
    return float(a @ b / (a.norm() * b.norm()).clamp_min(1e-30))


CASES = [
    "energy-transformer-image",
    "energy-transformer-mim",
    "hyperset-image",
    "hyperset-sudoku",
    "hyperset-visual-tokens",
    "transformer-sudoku",
]


@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES)
def test_bf16_autocast_training_step_is_finite_and_close_to_float32(case):
    model, inputs = build(case)
    loss, predictions, gradients = forward_backward(model, inputs, bf16=False)
    half_loss, half_predictions, half_gradients = forward_backward(model, inputs, bf16=True)
    assert torch.isfinite(half_loss) and torch.isfinite(half_predictions).all()
    assert sorted(half_gradients) == sorted(gradients)
    assert all(torch.isfinite(gradient).all() for gradient in half_gradients.values())
    assert sum(float(gradient.abs().sum()) for gradient in half_gradients.values()) > 0
    assert abs(float(half_loss - loss)) <= 0.02 * abs(float(loss)) + 1e-3
    assert relative_error(half_predictions, predictions) < 0.05
    assert cosine(half_gradients, gradients) > 0.98


class _OperatorNames(TorchDispatchMode):
    """Records the names of the aten operators that run."""

    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(str(func))
        return func(*args, **(kwargs or {}))


def _transformer_baselines():
    """The Transformer-baseline classifier twice, eager and SDPA attention, with the same weights."""
    config = hyperset_config(layer_type="transformer")
    models = {}
    for implementation in ("eager", "sdpa"):
        torch.manual_seed(0)
        models[implementation] = HyperSETForImageClassification._from_config(
            copy.deepcopy(config), attn_implementation=implementation
        )
        assert models[implementation].config._attn_implementation == implementation
    randomized(models["eager"])
    models["sdpa"].load_state_dict(models["eager"].state_dict())
    return {name: model.to(DEVICE).train() for name, model in models.items()}


@pytest.mark.cuda
def test_sdpa_matches_eager_for_the_transformer_baseline_in_float32():
    models = _transformer_baselines()
    inputs = {name: value.to(DEVICE) for name, value in image_inputs(models["eager"].config).items()}
    results = {}
    for implementation, model in models.items():
        with _OperatorNames() as recorder:
            results[implementation] = forward_backward(model, inputs, bf16=False)
        uses_sdpa = any("scaled_dot_product" in name for name in recorder.names)
        assert uses_sdpa == (implementation == "sdpa"), sorted(recorder.names)
    (loss, predictions, gradients), (sdpa_loss, sdpa_predictions, sdpa_gradients) = results["eager"], results["sdpa"]
    torch.testing.assert_close(sdpa_loss, loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sdpa_predictions, predictions, rtol=1e-4, atol=1e-5)
    for name, gradient in gradients.items():
        torch.testing.assert_close(sdpa_gradients[name], gradient, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.cuda
def test_sdpa_matches_eager_for_the_transformer_baseline_in_bf16_autocast():
    models = _transformer_baselines()
    inputs = {name: value.to(DEVICE) for name, value in image_inputs(models["eager"].config).items()}
    (loss, predictions, gradients), (sdpa_loss, sdpa_predictions, sdpa_gradients) = (
        forward_backward(models[implementation], inputs, bf16=True) for implementation in ("eager", "sdpa")
    )
    assert torch.isfinite(sdpa_loss) and all(torch.isfinite(g).all() for g in sdpa_gradients.values())
    assert abs(float(sdpa_loss - loss)) <= 0.01 * abs(float(loss)) + 1e-3
    assert relative_error(sdpa_predictions, predictions) < 0.03
    assert cosine(sdpa_gradients, gradients) > 0.99


def _dense_and_chunked(chunk_size: int = 16, **overrides):
    models = {}
    for implementation in ("dense", "chunked"):
        config = hyperset_config(bisoftmax_implementation=implementation, bisoftmax_chunk_size=chunk_size, **overrides)
        torch.manual_seed(0)
        models[implementation] = HyperSETForImageClassification(config)
    randomized(models["dense"])
    models["chunked"].load_state_dict(models["dense"].state_dict())
    return {name: model.to(DEVICE) for name, model in models.items()}


@pytest.mark.cuda
def test_chunked_bisoftmax_matches_dense():
    models = _dense_and_chunked(chunk_size=16)  # 65 tokens: chunks of 16, 16, 16, 16 and 1 queries
    inputs = {name: value.to(DEVICE) for name, value in image_inputs(models["dense"].config).items()}
    with torch.no_grad():
        outputs = {name: model.eval()(**inputs, output_energies=True) for name, model in models.items()}
    torch.testing.assert_close(outputs["chunked"].logits, outputs["dense"].logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(outputs["chunked"].energies[0], outputs["dense"].energies[0], rtol=1e-4, atol=1e-4)
    (loss, _, gradients), (chunked_loss, _, chunked_gradients) = (
        forward_backward(models[name].train(), inputs, bf16=False) for name in ("dense", "chunked")
    )
    torch.testing.assert_close(chunked_loss, loss, rtol=1e-5, atol=1e-6)
    for name, gradient in gradients.items():
        torch.testing.assert_close(chunked_gradients[name], gradient, rtol=1e-3, atol=1e-5, msg=name)
    half, chunked_half = (forward_backward(models[name], inputs, bf16=True) for name in ("dense", "chunked"))
    assert torch.isfinite(chunked_half[0]) and abs(float(chunked_half[0] - half[0])) <= 0.02 * abs(float(loss))
    assert relative_error(chunked_half[1], half[1]) < 0.05  # predictions
    assert cosine(chunked_half[2], half[2]) > 0.98  # gradients


@pytest.mark.cuda
def test_chunked_bisoftmax_needs_less_memory_on_a_long_sequence():
    if torch.device(DEVICE).type != "cuda":
        pytest.skip("peak memory is measured with torch.cuda")
    # 128-px images in 4-px patches: 1025 tokens; the dense N x N matrices dominate the inference memory
    models = _dense_and_chunked(chunk_size=128, image_size=128, num_recurrences=2)
    pixel_values = image_inputs(models["dense"].config, labels=False)["pixel_values"].to(DEVICE)
    peaks, logits = {}, {}
    for name, model in models.items():
        model.eval()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        with torch.no_grad():
            logits[name] = model(pixel_values).logits
        torch.cuda.synchronize()
        peaks[name] = torch.cuda.max_memory_allocated() - start
    torch.testing.assert_close(logits["chunked"], logits["dense"], rtol=1e-4, atol=1e-5)
    assert peaks["chunked"] < peaks["dense"], peaks


def _has_c_compiler() -> bool:
    return any(shutil.which(name) for name in (os.environ.get("CC") or "cc", "cc", "gcc", "clang"))


@pytest.mark.cuda
def test_torch_compile_inductor_matches_eager():
    if not _has_c_compiler():
        pytest.skip("inductor (Triton) needs a C compiler, none on PATH")
    torch.manual_seed(0)
    model = randomized(HyperSETForImageClassification(hyperset_config(num_recurrences=3))).to(DEVICE).eval()
    pixel_values = image_inputs(model.config, labels=False)["pixel_values"].to(DEVICE)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="inductor")
    with torch.no_grad():
        eager = model(pixel_values, output_energies=True)
        inductor = compiled(pixel_values, output_energies=True)
        again = compiled(pixel_values, output_energies=True)  # the cached graph
    torch._dynamo.reset()
    assert eager.logits.abs().max() > 0
    for outputs in (inductor, again):
        torch.testing.assert_close(outputs.logits, eager.logits, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(outputs.energies[0], eager.energies[0], rtol=1e-4, atol=1e-3)


SAVE_LOAD_CASES = ["energy-transformer-mim", "hyperset-image", "hyperset-sudoku", "transformer-sudoku"]


def _eval_inputs(inputs: dict, device) -> dict:
    return {name: value.to(device) for name, value in inputs.items() if name != "labels"}


def _assert_same_weights(first: torch.nn.Module, second: torch.nn.Module):
    first_state, second_state = first.state_dict(), second.state_dict()
    assert sorted(first_state) == sorted(second_state)
    for name, tensor in first_state.items():
        assert second_state[name].dtype == tensor.dtype, name
        assert torch.equal(second_state[name].cpu(), tensor.cpu()), name


@pytest.mark.cuda
@pytest.mark.parametrize("case", SAVE_LOAD_CASES)
def test_saved_on_the_gpu_loads_on_the_cpu_with_identical_outputs(case, tmp_path):
    model, inputs = build(case)
    model.eval()
    with torch.no_grad():
        on_gpu = prediction(model(**_eval_inputs(inputs, DEVICE)))
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    assert loaded.device.type == "cpu" and loaded.dtype == torch.float32
    reference = model.to("cpu")
    _assert_same_weights(loaded, reference)
    cpu_inputs = _eval_inputs(inputs, "cpu")
    with torch.no_grad():
        loaded_outputs, reference_outputs = prediction(loaded(**cpu_inputs)), prediction(reference(**cpu_inputs))
    assert torch.equal(loaded_outputs, reference_outputs)
    torch.testing.assert_close(loaded_outputs, on_gpu.cpu(), rtol=1e-4, atol=1e-4)  # the CPU agrees with the GPU


@pytest.mark.cuda
@pytest.mark.parametrize("case", SAVE_LOAD_CASES)
def test_saved_on_the_cpu_loads_on_the_gpu_with_identical_outputs(case, tmp_path):
    model, inputs = build(case)
    model = model.to("cpu").eval()
    with torch.no_grad():
        on_cpu = prediction(model(**_eval_inputs(inputs, "cpu")))
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).to(DEVICE).eval()
    assert loaded.dtype == torch.float32
    reference = model.to(DEVICE)
    _assert_same_weights(loaded, reference)
    device_inputs = _eval_inputs(inputs, DEVICE)
    with torch.no_grad():
        loaded_outputs, reference_outputs = prediction(loaded(**device_inputs)), prediction(reference(**device_inputs))
    assert torch.equal(loaded_outputs, reference_outputs)
    torch.testing.assert_close(loaded_outputs.cpu(), on_cpu, rtol=1e-4, atol=1e-4)
