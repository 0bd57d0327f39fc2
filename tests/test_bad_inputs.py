"""Bad and edge inputs at every public boundary: each case must raise the expected exception type with a message that
names the bad value and what was expected; no case may be accepted silently or hang.

The cases are tables (`bad_inputs.CaseTable`: an id -> `(callable, exception type, fragments the message must
contain)`), checked by `bad_inputs.check_case`; the areas added later have their own files, `test_bad_inputs_*.py`."""

import json
import math

import numpy as np
import pytest
import torch
from bad_inputs import CaseTable, check_case, no_hang
from conftest import tiny_config, tiny_sudoku_config
from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification

from hyperset_hf import (
    EnergyTransformerConfig,
    EnergyTransformerForMaskedImageModeling,
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
    HyperSETForSudoku,
)
from hyperset_hf.data.sudoku import check_puzzle, check_solution, parse_grid


PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
SOLUTION = "214758639695432187387916452729645318536821794841379526163284975958167243472593861"
CASES = CaseTable()  # calls: `function()`
LOADING = CaseTable()  # loading saved folders: `function(root)`
case, cases, loading_case = CASES.case, CASES.cases, LOADING.case


# ---------------------------------------------------------------------------------------------------------------------
# Configurations: every numeric field out of range, every choice field misspelt, wrong types
# ---------------------------------------------------------------------------------------------------------------------

HYPERSET_POSITIVE_INTS = (
    "hidden_size", "num_attention_heads", "intermediate_size", "num_layers", "num_recurrences",
    "time_embedding_size", "image_size", "patch_size", "num_channels", "bisoftmax_chunk_size",
    "deep_supervision_num_iterations", "adaptive_exit_min_recurrences",
)  # fmt: skip
HYPERSET_CHOICES = (
    "hidden_act", "step_size_conditioning", "input_type", "layer_type", "step_size_network_type", "attention_type",
    "attention_feature_map", "feedforward_type", "feedforward_feature_map", "step_size_type",
    "adaptive_exit_criterion", "bisoftmax_implementation", "position_embedding_type", "step_size_activation",
    "deep_supervision", "deep_supervision_weighting",
)  # fmt: skip
ET_POSITIVE_INTS = (
    "hidden_size", "num_attention_heads", "head_dim", "num_memories", "num_layers", "num_recurrences", "image_size",
    "patch_size", "num_channels",
)  # fmt: skip
ET_POSITIVE_FLOATS = ("step_size", "layer_norm_eps", "initializer_range", "token_initializer_range", "attention_beta")
ET_CHOICES = ("memory_type", "classifier_type", "reconstruction_loss")


def _sudoku(**overrides):
    return tiny_sudoku_config(**overrides)


def _et(**overrides):
    return EnergyTransformerConfig(**overrides)


for family, build, ints in (("hyperset", tiny_config, HYPERSET_POSITIVE_INTS), ("et", _et, ET_POSITIVE_INTS)):
    for field in ints:
        for value in (0, -3):
            cases(f"config/{family}/{field}", [(str(value), {field: value}, (field, str(value), "positive"))],
                  ValueError, lambda kwargs, build=build: build(**kwargs))  # fmt: skip
        for label, value in (("float", 2.5), ("string", "8")):
            cases(f"config/{family}/{field}", [(label, {field: value}, (field, repr(value)))],
                  Exception, lambda kwargs, build=build: build(**kwargs))  # fmt: skip
for field in HYPERSET_CHOICES:
    cases("config/hyperset/choice", [(field, {field: "nonsense"}, (field, "'nonsense'", "must be one of"))],
          ValueError, lambda kwargs: tiny_config(**kwargs))  # fmt: skip
for field in ET_CHOICES:
    cases("config/et/choice", [(field, {field: "nonsense"}, (field, "'nonsense'", "must be one of"))],
          ValueError, lambda kwargs: _et(**kwargs))  # fmt: skip
for field in ET_POSITIVE_FLOATS:
    for label, value in (("zero", 0.0), ("negative", -1.0), ("inf", math.inf), ("nan", math.nan)):
        cases(f"config/et/{field}", [(label, {field: value}, (field, repr(value).replace("inf", "inf"), "finite positive"))],
              ValueError, lambda kwargs: _et(**kwargs))  # fmt: skip

cases(
    "config/hyperset",
    [
        ("hidden-not-divisible", dict(hidden_size=30), ("hidden_size", "30", "divisible", "num_attention_heads")),
        ("negative-exit-threshold", dict(adaptive_exit_threshold=-0.1), ("adaptive_exit_threshold", "-0.1")),
        ("nan-exit-threshold", dict(adaptive_exit_threshold=math.nan), ("adaptive_exit_threshold", "nan")),
        ("negative-lora-rank", dict(depthwise_lora_rank=-2), ("depthwise_lora_rank", "-2", "non-negative")),
        ("negative-fixed-step", dict(step_size_type="fixed", fixed_step_size=-0.5), ("fixed_step_size", "-0.5")),
        ("inf-fixed-step", dict(step_size_type="fixed", fixed_step_size=math.inf), ("fixed_step_size", "inf")),
        ("dropout-one", dict(embedding_dropout_prob=1.0), ("embedding_dropout_prob", "1.0")),
        ("odd-time-embedding", dict(time_embedding_size=7), ("time_embedding_size", "7", "even")),
        ("image-not-divisible", dict(image_size=18), ("image_size", "18", "patch_size")),
        ("zero-initializer", dict(initializer_range=0.0), ("initializer_range", "0.0", "positive")),
        ("zero-layer-norm-eps", dict(layer_norm_eps=0.0), ("layer_norm_eps", "0.0")),
        ("negative-rms-eps", dict(rms_norm_eps=-1e-6), ("rms_norm_eps", "-1e-06")),
        ("sudoku-option-on-image", dict(deep_supervision="all"), ("deep_supervision", "input_type='image'")),
        ("rcb-on-image", dict(position_embedding_type="row_column_box"), ("position_embedding_type", "'image'")),
        ("gradient-free-too-many", dict(num_gradient_free_iterations=3), ("num_gradient_free_iterations", "3")),
        ("training-depth-half-set", dict(training_num_recurrences_min=2), ("training_num_recurrences_max", "None")),
        ("training-depth-reversed", dict(training_num_recurrences_min=5, training_num_recurrences_max=2), ("5", "2")),
        ("typo-field", dict(num_recurrence=48), ("num_recurrence", "num_recurrences", "did you mean")),
        ("typo-field-2", dict(hiden_size=48), ("hiden_size", "hidden_size")),
        ("transformer-with-lora", dict(layer_type="transformer", depthwise_lora_rank=2), ("depthwise_lora_rank", "2")),
        ("energy-exit-on-transformer", dict(layer_type="transformer", adaptive_exit_threshold=0.1), ("energy",)),
        ("softplus-zero-start", dict(step_size_activation="softplus", step_size_initial_value=0.0), ("0.0", "positive")),
        ("inf-start", dict(step_size_initial_value=math.inf), ("step_size_initial_value", "inf")),
        ("fixed-with-softplus", dict(step_size_type="fixed", step_size_activation="softplus"), ("fixed",)),
        ("inf-lora-scale", dict(depthwise_lora_scale=math.inf), ("depthwise_lora_scale", "inf")),
        ("negative-detach", dict(detach_interval=-1), ("detach_interval", "-1")),
        ("energy-descent-on-image", dict(energy_descent_loss_weight=0.1), ("energy_descent_loss_weight", "'image'")),
    ],
    ValueError,
    lambda kwargs: tiny_config(**kwargs),
)
cases(
    "config/sudoku",
    [
        ("num-labels", dict(num_labels=5), ("num_labels", "9", "5")),
        ("negative-energy-descent", dict(energy_descent_loss_weight=-1.0), ("energy_descent_loss_weight", "-1.0")),
    ],
    ValueError,
    lambda kwargs: HyperSETForSudoku(_sudoku(**kwargs)),
)
cases(
    "config/et",
    [
        ("nan-memory-beta", dict(memory_beta_init=math.nan), ("memory_beta_init", "nan", "finite")),
        ("zero-softmax-memory-beta", dict(memory_type="softmax", memory_beta_init=0.0), ("memory_beta_init", "zero")),
        ("visible-loss-one", dict(visible_loss_ratio=1.0), ("visible_loss_ratio", "1.0")),
        ("image-not-divisible", dict(image_size=30, patch_size=8), ("image_size", "30", "patch_size")),
        ("typo-field", dict(step_sizee=0.1), ("step_sizee", "step_size", "did you mean")),
    ],
    ValueError,
    lambda kwargs: _et(**kwargs),
)
cases(
    "config/preset",
    [("unknown-hyperset", "sudoku2", ("sudoku2", "expected one of"))],
    ValueError,
    lambda name: HyperSETConfig.from_preset(name),
)
cases(
    "config/preset",
    [("unknown-et", "imagenet", ("imagenet", "expected one of"))],
    ValueError,
    lambda name: EnergyTransformerConfig.from_preset(name),
)


# ---------------------------------------------------------------------------------------------------------------------
# Loading: overrides are validated, broken folders and files are named
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved tiny Sudoku model and a saved tiny image classifier."""
    root = tmp_path_factory.mktemp("saved")
    torch.manual_seed(0)
    HyperSETForSudoku(_sudoku()).save_pretrained(root / "sudoku")
    HyperSETForImageClassification(tiny_config()).save_pretrained(root / "image")
    return root


@loading_case("override-num-recurrences-zero", ValueError, "num_recurrences", "0", "positive")
def _(root):
    HyperSETForSudoku.from_pretrained(root / "sudoku", num_recurrences=0)


@loading_case("autoconfig-override-hidden-size", ValueError, "hidden_size", "15", "divisible")
def _(root):
    AutoConfig.from_pretrained(root / "sudoku", hidden_size=15)


@loading_case("config-override-negative-threshold", ValueError, "adaptive_exit_threshold", "-1")
def _(root):
    HyperSETConfig.from_pretrained(root / "sudoku", adaptive_exit_threshold=-1.0)


@loading_case("config-override-bad-choice", ValueError, "attention_type", "'softmax'")
def _(root):
    AutoModel.from_pretrained(root / "image", attention_type="softmax")


@loading_case("override-typo", TypeError, "num_recurrence")
def _(root):
    HyperSETForSudoku.from_pretrained(root / "sudoku", num_recurrence=4)


@loading_case("missing-folder", OSError, "does-not-exist")
def _(root):
    AutoModelForTokenClassification.from_pretrained(root / "does-not-exist")


@loading_case("corrupted-weights", Exception, "model.safetensors")
def _(root):
    folder = root / "corrupted"
    HyperSETForSudoku(_sudoku()).save_pretrained(folder)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-64:] = b"\xff" * 64  # same size, NaN bytes in the last tensor
    weights.write_bytes(bytes(data))
    HyperSETForSudoku.from_pretrained(folder)


@loading_case("truncated-weights", Exception, "model.safetensors")
def _(root):
    folder = root / "truncated"
    HyperSETForSudoku(_sudoku()).save_pretrained(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    HyperSETForSudoku.from_pretrained(folder)


@loading_case("config-bad-json-value", ValueError, "num_recurrences", "-4")
def _(root):
    folder = root / "bad-json"
    HyperSETForSudoku(_sudoku()).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_recurrences"] = -4
    (folder / "config.json").write_text(json.dumps(config))
    HyperSETForSudoku.from_pretrained(folder)


@pytest.mark.parametrize("name", sorted(LOADING))
def test_loading_bad_input(name, saved):
    function, exception, fragments = LOADING[name]
    check_case(function, exception, fragments, saved)


# ---------------------------------------------------------------------------------------------------------------------
# Models: forward inputs
# ---------------------------------------------------------------------------------------------------------------------

_MODELS = {}


def _model(kind):
    """Tiny models built once per session."""
    if kind not in _MODELS:
        torch.manual_seed(0)
        _MODELS[kind] = {
            "sudoku": lambda: HyperSETForSudoku(_sudoku()),
            "classifier": lambda: HyperSETForImageClassification(tiny_config()),
            "mim": lambda: HyperSETForMaskedImageModeling(tiny_config(num_labels=2)),
            "et": lambda: EnergyTransformerForMaskedImageModeling(
                EnergyTransformerConfig(hidden_size=16, num_attention_heads=2, head_dim=8, num_memories=32,
                                        num_recurrences=2, image_size=16, patch_size=4)  # fmt: skip
            ),
        }[kind]().eval()
    return _MODELS[kind]


PUZZLES = torch.tensor([[int(c) if c != "." else 0 for c in PUZZLE]] * 2)
IMAGES = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))


def _labels(**cells):
    labels = torch.full((2, 81), -100)
    labels[0, 0] = 1
    for key, value in cells.items():
        labels[0, int(key[1:])] = value
    return labels


def _nan_images():
    images = IMAGES.clone()
    images[1, 0, 3, 3] = float("nan")
    return images


def _inf_images():
    images = IMAGES.clone()
    images[0, 2, 0, 0] = float("inf")
    return images


cases(
    "forward/sudoku",
    [
        ("wrong-length", dict(input_ids=PUZZLES[:, :80]), ("input_ids", "(2, 80)", "81")),
        ("one-dimensional", dict(input_ids=PUZZLES[0]), ("input_ids", "(81,)", "(batch_size, 81)")),
        ("float-ids", dict(input_ids=PUZZLES.float()), ("input_ids", "float32", "integer")),
        ("digit-ten", dict(input_ids=PUZZLES.clone().index_fill_(1, torch.tensor([5]), 10)), ("10", "0-9")),
        ("negative-digit", dict(input_ids=PUZZLES.clone().index_fill_(1, torch.tensor([7]), -1)), ("-1", "0-9")),
        ("empty-batch", dict(input_ids=PUZZLES[:0]), ("input_ids", "empty", "at least one")),
        ("list-input", dict(input_ids=PUZZLES.tolist()), ("input_ids", "list", "tensor")),
        ("pixel-values", dict(input_ids=PUZZLES, pixel_values=IMAGES), ("Sudoku model", "pixel_values")),
        ("zero-recurrences", dict(input_ids=PUZZLES, num_recurrences=0), ("num_recurrences", "0", "positive")),
        ("negative-recurrences", dict(input_ids=PUZZLES, num_recurrences=-2), ("num_recurrences", "-2")),
        ("float-recurrences", dict(input_ids=PUZZLES, num_recurrences=2.5), ("num_recurrences", "2.5")),
        ("string-recurrences", dict(input_ids=PUZZLES, num_recurrences="4"), ("num_recurrences", "'4'")),
        ("huge-recurrences", dict(input_ids=PUZZLES, num_recurrences=10**6), ("num_recurrences", "1000000", "at most")),
        ("bool-recurrences", dict(input_ids=PUZZLES, num_recurrences=True), ("num_recurrences", "True")),
        ("typo-kwarg", dict(input_ids=PUZZLES, num_recurrence=4), ("num_recurrence",)),
        ("labels-wrong-shape", dict(input_ids=PUZZLES, labels=torch.zeros(2, 80, dtype=torch.long)), ("labels", "(2, 80)")),
        ("labels-out-of-range", dict(input_ids=PUZZLES, labels=_labels(c3=9)), ("labels", "9", "0-8")),
        ("labels-negative", dict(input_ids=PUZZLES, labels=_labels(c3=-5)), ("labels", "-5")),
        ("labels-float", dict(input_ids=PUZZLES, labels=_labels().float()), ("labels", "float32", "integer")),
        ("labels-all-ignored", dict(input_ids=PUZZLES, labels=torch.full((2, 81), -100)), ("labels", "-100", "no cell")),
        ("negative-exit-threshold", dict(input_ids=PUZZLES, adaptive_exit_threshold=-0.5), ("adaptive_exit_threshold", "-0.5")),
        ("exit-criterion", dict(input_ids=PUZZLES, adaptive_exit_threshold=0.1, adaptive_exit_criterion="loss"), ("'loss'",)),
        ("exit-min-above-max", dict(input_ids=PUZZLES, num_recurrences=4, adaptive_exit_threshold=0.1,
                                    adaptive_exit_min_recurrences=8), ("adaptive_exit_min_recurrences", "8", "4")),
        ("interpolate-on-sudoku", dict(input_ids=PUZZLES, interpolate_pos_encoding=True), ("interpolate_pos_encoding", "Sudoku")),
        ("masked-pos-on-sudoku", dict(input_ids=PUZZLES, bool_masked_pos=torch.zeros(2, 81, dtype=torch.bool)), ("bool_masked_pos",)),
    ],
    Exception,
    lambda kwargs: _model("sudoku")(**kwargs),
)
MASK = torch.zeros(2, 16, dtype=torch.bool)
cases(
    "forward/image",
    [
        ("nan-pixels", dict(pixel_values=_nan_images()), ("pixel_values", "nan", "finite")),
        ("inf-pixels", dict(pixel_values=_inf_images()), ("pixel_values", "inf", "finite")),
        ("channels", dict(pixel_values=IMAGES[:, :1]), ("1 channels", "3")),
        ("size", dict(pixel_values=torch.randn(2, 3, 20, 20)), ("20x20", "16x16")),
        ("three-dimensional", dict(pixel_values=IMAGES[0]), ("pixel_values", "(3, 16, 16)")),
        ("empty-batch", dict(pixel_values=IMAGES[:0]), ("pixel_values", "empty", "at least one")),
        ("integer-pixels", dict(pixel_values=(IMAGES * 100).long()), ("pixel_values", "int64", "float")),
        ("interpolate-indivisible", dict(pixel_values=torch.randn(2, 3, 18, 18), interpolate_pos_encoding=True), ("18x18", "4")),
        ("input-ids-on-image", dict(pixel_values=IMAGES, input_ids=PUZZLES), ("image model", "input_ids")),
        ("zero-recurrences", dict(pixel_values=IMAGES, num_recurrences=0), ("num_recurrences", "0")),
        ("huge-recurrences", dict(pixel_values=IMAGES, num_recurrences=10**7), ("num_recurrences", "10000000", "at most")),
        ("labels-out-of-range", dict(pixel_values=IMAGES, labels=torch.tensor([1, 7])), ("labels", "7", "0-4")),
        ("labels-wrong-shape", dict(pixel_values=IMAGES, labels=torch.tensor([1, 2, 3])), ("labels", "(3,)", "(2,)")),
        ("masked-pos-no-mask-token", dict(pixel_values=IMAGES, bool_masked_pos=MASK), ("bool_masked_pos", "mask token")),
    ],
    Exception,
    lambda kwargs: _model("classifier")(**kwargs),
)
cases(
    "forward/mim",
    [
        ("mask-floats", dict(pixel_values=IMAGES, bool_masked_pos=torch.full((2, 16), 0.5)), ("bool_masked_pos", "float32", "bool")),
        ("mask-twos", dict(pixel_values=IMAGES, bool_masked_pos=torch.full((2, 16), 2)), ("bool_masked_pos", "2", "0 or 1")),
        ("mask-shape", dict(pixel_values=IMAGES, bool_masked_pos=torch.zeros(2, 15, dtype=torch.bool)), ("(2, 15)", "(2, 16)")),
        ("nan-pixels", dict(pixel_values=_nan_images(), bool_masked_pos=MASK), ("pixel_values", "nan")),
    ],
    Exception,
    lambda kwargs: _model("mim")(**kwargs),
)
cases(
    "forward/et",
    [
        ("nan-pixels", dict(pixel_values=_nan_images()), ("pixel_values", "nan", "finite")),
        ("empty-batch", dict(pixel_values=IMAGES[:0]), ("pixel_values", "empty")),
        ("channels", dict(pixel_values=IMAGES[:, :2]), ("2 channels", "3")),
        ("zero-recurrences", dict(pixel_values=IMAGES, num_recurrences=0), ("num_recurrences", "0")),
        ("huge-recurrences", dict(pixel_values=IMAGES, num_recurrences=10**6), ("num_recurrences", "1000000", "at most")),
        ("mask-floats", dict(pixel_values=IMAGES, bool_masked_pos=torch.full((2, 16), 0.5)), ("bool_masked_pos", "float32")),
        ("mask-shape", dict(pixel_values=IMAGES, bool_masked_pos=torch.zeros(3, 16, dtype=torch.bool)), ("(3, 16)",)),
        ("typo-kwarg", dict(pixel_values=IMAGES, output_energy=True), ("output_energy",)),
    ],
    Exception,
    lambda kwargs: _model("et")(**kwargs),
)


def _solve(puzzles, **kwargs):
    return _model("sudoku").solve(puzzles, **kwargs)


cases(
    "solve",
    [
        ("duplicate-givens", PUZZLES.clone().index_fill_(1, torch.tensor([0]), 1), ("digit 1", "repeated", "board 0")),
        ("wrong-shape", PUZZLES[:, :9], ("(2, 9)", "81")),
    ],
    ValueError,
    _solve,
)


# ---------------------------------------------------------------------------------------------------------------------
# Data, metrics, pipeline
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "data/parse_grid",
    [
        ("short", PUZZLE[:-1], ("expected 81 cells", "80")),
        ("letter", PUZZLE[:-1] + "x", ("'x'", "cell 80", "row 9, column 9")),
        ("value-ten", [10] + [0] * 80, ("got 10", "cell 0", "0-9")),
        ("negative", [0] * 80 + [-1], ("got -1", "cell 80")),
        ("fractional", [0.5] + [0] * 80, ("0.5", "cell 0")),
        ("nine-by-eight", np.zeros((9, 8), dtype=int), ("expected 81 cells", "72")),
    ],
    ValueError,
    parse_grid,
)
cases(
    "data/check_puzzle",
    [
        ("repeated-in-row", "11" + "." * 79, ("digit 1", "row 1")),
        ("no-solution", "12345678." + "........9" + "." * 63, ("no solution",)),
    ],
    ValueError,
    check_puzzle,
)
cases(
    "data/check_solution",
    [
        ("incomplete", "." + SOLUTION[1:], ("incomplete", "row 1, column 1")),
        ("repeats", SOLUTION[1] + SOLUTION[1:], ("repeats digit",)),
    ],
    ValueError,
    check_solution,
)


def _benchmark(kwargs):
    from hyperset_hf.data.sudoku import load_sudoku_benchmark

    return load_sudoku_benchmark(**kwargs)


cases(
    "data/benchmark",
    [
        ("unknown-name", dict(name="satnet"), ("satnet", "satnet-like")),
        ("unknown-split", dict(name="satnet-like", split="validation"), ("validation", "train")),
    ],
    ValueError,
    _benchmark,
)


def _generate(kwargs):
    from hyperset_hf.data.sudoku import generate_sudoku_dataset

    return generate_sudoku_dataset(**{"num_puzzles": 2, "min_givens": 30, "max_givens": 40, "seed": 0, **kwargs})


cases(
    "data/generate",
    [
        ("too-few-givens", dict(min_givens=10), ("10", "givens")),
        ("too-many-givens", dict(max_givens=82), ("82", "81")),
        ("reversed-givens", dict(min_givens=50, max_givens=40), ("50", "40")),
        ("negative-puzzles", dict(num_puzzles=-1), ("num_puzzles", "-1")),
    ],
    ValueError,
    _generate,
)


def _sudoku_metric(args):
    from hyperset_hf.metrics import sudoku_metrics

    return sudoku_metrics(*args)


cases(
    "metric/sudoku",
    [
        ("length-mismatch", ([SOLUTION, SOLUTION], [SOLUTION], [PUZZLE, PUZZLE]), ("2", "1")),
        ("short-prediction", ([SOLUTION[:80]], [SOLUTION], [PUZZLE]), ("81", "80")),
        ("blank-reference", ([SOLUTION], ["." + SOLUTION[1:]], [PUZZLE]), ("reference",)),
        ("empty", ([], [], []), ("at least one", "0")),
    ],
    ValueError,
    _sudoku_metric,
)


def _image_metric(args):
    from hyperset_hf.metrics import image_reconstruction_metrics

    return image_reconstruction_metrics(*args)


cases(
    "metric/image",
    [
        ("shape-mismatch", ([np.zeros((1, 16, 16))], [np.zeros((1, 16, 17))]), ("(1, 16, 16)", "(1, 16, 17)")),
        ("nan", ([np.full((1, 16, 16), np.nan)], [np.zeros((1, 16, 16))]), ("nan", "finite")),
        ("two-dimensional", ([np.zeros((8, 8))], [np.zeros((8, 8))]), ("(8, 8)", "(C, H, W)")),
        ("count-mismatch", ([np.zeros((1, 16, 16))] * 2, [np.zeros((1, 16, 16))]), ("2", "1")),
    ],
    ValueError,
    _image_metric,
)


def _pipeline():
    from transformers import pipeline

    from hyperset_hf.pipeline_sudoku import register_sudoku_pipeline

    register_sudoku_pipeline()
    return pipeline("sudoku-solving", model=_model("sudoku"))


cases(
    "pipeline",
    [
        ("short", dict(inputs=PUZZLE[:-2]), ("expected 81 cells", "79")),
        ("bad-character", dict(inputs=PUZZLE[:-1] + "?"), ("'?'",)),
        ("duplicate-givens", dict(inputs="11" + "." * 79), ("digit 1", "repeated")),
        ("bad-in-batch", dict(inputs=[PUZZLE, PUZZLE[:-1]]), ("puzzle 1", "80")),
        ("zero-recurrences", dict(inputs=PUZZLE, num_recurrences=0), ("num_recurrences", "0")),
        ("unknown-option", dict(inputs=PUZZLE, iterations=4), ("iterations",)),
        ("number", dict(inputs=42), ("int", "81")),
        ("negative-recurrences", dict(inputs=[PUZZLE], num_recurrences=-1), ("num_recurrences", "-1")),
        ("nine-by-eight", dict(inputs=[[0] * 8] * 9), ("puzzle 0", "expected 81")),
        ("none", dict(inputs=None), ("NoneType",)),
    ],
    Exception,
    lambda kwargs: _pipeline()(**kwargs),
)


# ---------------------------------------------------------------------------------------------------------------------
# The command line: exit status 2 (usage) or 1 (the Hub refused), one line naming the problem, no traceback
# ---------------------------------------------------------------------------------------------------------------------

CLI_CASES = {
    "solve-short-puzzle": (["solve", PUZZLE[:-3]], 2, ["expected 81 cells", "78"]),
    "solve-bad-character": (["solve", PUZZLE[:-1] + "x"], 2, ["'x'"]),
    "solve-clashing-givens": (["solve", "11" + "." * 79], 2, ["digit 1", "repeated"]),
    "solve-zero-recurrences": (["solve", PUZZLE, "--num-recurrences", "0"], 2, ["positive integer", "0"]),
    "solve-float-recurrences": (["solve", PUZZLE, "--num-recurrences", "1e20"], 2, ["positive integer", "1e20"]),
    "solve-huge-recurrences": (["solve", PUZZLE, "--num-recurrences", str(10**20)], 2, ["at most", str(10**20)]),
    "solve-missing-model": (["solve", PUZZLE, "--model", "/no/such/folder"], 2, ["/no/such/folder", "not found"]),
    "solve-bad-device": (["solve", PUZZLE, "--device", "cuda:7"], 2, ["cuda"]),
    "unknown-command": (["train"], 2, ["invalid choice", "'train'"]),
    "card-wrong-kind": (["card", "--model-dir", "{image}", "--kind", "sudoku"], 2, ["image-classification", "sudoku"]),
    "card-missing-folder": (["card", "--model-dir", "/no/such/folder"], 2, ["/no/such/folder"]),
    "push-repo-id-without-namespace": (["push", "--model-dir", "{sudoku}", "--repo-id", "noslash"], 2, ["ORG/NAME", "'noslash'"]),
    "push-repo-id-two-slashes": (["push", "--model-dir", "{sudoku}", "--repo-id", "a/b/c"], 2, ["'a/b/c'"]),
    "push-offline": (["push", "--model-dir", "{sudoku}", "--repo-id", "org/name"], 1, ["could not upload", "offline"]),
    "push-missing-folder": (["push", "--model-dir", "/no/such/folder", "--repo-id", "org/name"], 2, ["/no/such/folder"]),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_command_line_bad_input(name, saved, capsys, monkeypatch):
    from hyperset_hf.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    argv, status, fragments = CLI_CASES[name]
    argv = [item.format(sudoku=saved / "sudoku", image=saved / "image") for item in argv]
    if argv[0] == "solve" and "--model" not in argv:
        argv += ["--model", str(saved / "sudoku")]
    with no_hang(), pytest.raises(SystemExit) as info:
        main(argv)
    error = capsys.readouterr().err
    assert info.value.code == status, error
    assert "Traceback" not in error
    missing = [fragment for fragment in fragments if fragment.lower() not in error.lower()]
    assert not missing, f"{error!r} does not name {missing}"


# ---------------------------------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name):
    check_case(*CASES[name])


def test_pipeline_says_when_a_puzzle_has_no_solution():
    result = _pipeline()("12345678." + "........9" + "." * 63)  # givens do not clash, cell (1, 9) has no digit left
    assert not result["is_valid"] and "the puzzle has no solution" in result["problem"]


def test_the_table_is_large():
    assert len(CASES) + len(LOADING) + len(CLI_CASES) >= 250
