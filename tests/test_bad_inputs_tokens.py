# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Bad and edge inputs of the token area: the masked-token model (`HyperSETForMaskedTokenModeling`), MaskGIT
(`maskgit_schedule`, `mask_visual_tokens`, `maskgit_decode` and the batch helpers), the image tokenizer
(`DiffusersVQTokenizer`), the `"masked-image-completion"` pipeline, and the input forms of the Sudoku parser
(`parse_grid` / `parse_grids` / `parse_puzzle`, used by the `"sudoku-solving"` pipeline and `hyperset-hf solve`).

Each bad case (a `bad_inputs.CaseTable`) must raise the package's own exception of a fitting type naming the argument,
the value and what is accepted; the accepted forms are tested as accepted, with the result they must give (the parsed
grid, the same codes as the canonical form)."""

import math

import numpy as np
import pytest
import torch
from bad_inputs import CaseTable, check_case
from conftest import tiny_config, tiny_sudoku_config, tiny_vq_model
from transformers import pipeline

from hyperset_hf import (
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedTokenModeling,
    HyperSETForSudoku,
)
from hyperset_hf.data.sudoku import count_solutions, parse_grid, parse_grids
from hyperset_hf.maskgit import (
    DiffusersVQTokenizer,
    decode_images,
    encode_images,
    image_to_pixel_values,
    mask_visual_tokens,
    maskgit_complete,
    maskgit_decode,
    maskgit_schedule,
)
from hyperset_hf.pipeline_sudoku import format_grid, parse_puzzle


CASES = CaseTable()  # calls: `function()`
case, cases = CASES.case, CASES.cases

CODEBOOK, GRID = 16, 4  # mask id 16; 8x8 px images, one downsampling -> 4x4 tokens
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
DIGITS = [0 if character == "." else int(character) for character in PUZZLE]
ROWS = [PUZZLE[row * 9 : row * 9 + 9] for row in range(9)]


_BUILT = {}


def _built(name, build):
    if name not in _BUILT:
        torch.manual_seed(0)
        _BUILT[name] = build()
    return _BUILT[name]


def _token_config():
    return HyperSETConfig.from_preset(
        "mim", hidden_size=32, num_attention_heads=4, intermediate_size=32, time_embedding_size=32,
        codebook_size=CODEBOOK, token_grid_size=GRID, num_recurrences=2,
    )  # fmt: skip


def _token_model():
    return _built("token model", lambda: HyperSETForMaskedTokenModeling(_token_config()).eval())


def _sudoku_model():
    return _built("sudoku model", lambda: HyperSETForSudoku(tiny_sudoku_config()).eval())


def _tokenizer(num_channels=1):
    pytest.importorskip("diffusers", reason="the image tokenizer is a diffusers VQModel")
    return _built(f"tokenizer {num_channels}", lambda: DiffusersVQTokenizer(
        tiny_vq_model(codebook_size=CODEBOOK, num_channels=num_channels)))  # fmt: skip


def _completer(**kwargs):
    if kwargs:
        return pipeline("masked-image-completion", model=_token_model(), image_tokenizer=_tokenizer(), **kwargs)
    return _built("completer", lambda: pipeline("masked-image-completion", model=_token_model(),
                                                image_tokenizer=_tokenizer()))  # fmt: skip


def _solver(**kwargs):
    if kwargs:
        return pipeline("sudoku-solving", model=_sudoku_model(), **kwargs)
    return _built("solver", lambda: pipeline("sudoku-solving", model=_sudoku_model()))


def _codes(masked=0):
    """(2, 4, 4) codes of the tiny codebook, the first `masked` tokens of every grid masked."""
    codes = torch.arange(2 * GRID * GRID).remainder(CODEBOOK).view(2, GRID, GRID)
    codes.view(2, -1)[:, :masked] = CODEBOOK
    return codes


def _with(tensor, index, value):
    tensor = tensor.clone()
    tensor[index] = value
    return tensor


IMAGE = (np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8)


class _NanLogits(torch.nn.Module):
    """A stand-in token model whose logits are all nan."""

    def __init__(self):
        super().__init__()
        self.config = _token_config()

    def forward(self, input_ids, **kwargs):
        return torch.full((input_ids.shape[0], GRID * GRID, CODEBOOK), math.nan)


# ---------------------------------------------------------------------------------------------------------------------
# The masked-token model's forward: ids of a wrong dtype, shape or range
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "model/input_ids",
    [
        ("bool", _codes().bool(), ("input_ids", "torch.bool", "integer")),
        ("float", _codes().float(), ("input_ids", "torch.float32", "integer")),
        ("above-mask-id", _with(_codes(), (0, 1, 1), CODEBOOK + 1), ("input_ids", "17", "0-15", "mask id 16")),
        ("negative", _with(_codes(), (1, 0, 0), -1), ("input_ids", "-1", "0-15")),
        ("one-dimensional", _codes()[0, 0], ("input_ids", "(4,)", "(batch_size, 16)")),
        ("four-dimensional", _codes()[:, None], ("input_ids", "(2, 1, 4, 4)", "(batch_size, 4, 4)")),
        ("wrong-grid", torch.zeros(2, 3, 3, dtype=torch.long), ("input_ids", "(2, 3, 3)", "(batch_size, 16)")),
        ("empty-batch", _codes()[:0], ("input_ids", "empty", "at least one")),
        ("numpy", _codes().numpy(), ("input_ids", "ndarray", "tensor")),
        ("list", _codes().tolist(), ("input_ids", "list", "tensor")),
    ],
    ValueError,
    lambda input_ids: _token_model()(input_ids=input_ids),
)
cases(
    "model/labels",
    [
        ("mask-id", _with(torch.full((2, 4, 4), -100), (0, 0, 0), CODEBOOK), ("labels", "16", "mask id", "0-15")),
        ("float", torch.zeros(2, 4, 4), ("labels", "float32", "integer")),
        ("wrong-shape", torch.zeros(2, 16, 1, dtype=torch.long), ("labels", "(2, 16, 1)", "shape of `input_ids`")),
    ],
    ValueError,
    lambda labels: _token_model()(input_ids=_codes(masked=3), labels=labels),
)


def _token_config_with(**overrides):
    config = _token_config()
    return HyperSETConfig.from_preset("mim", **{**{key: getattr(config, key) for key in (
        "hidden_size", "num_attention_heads", "intermediate_size", "time_embedding_size", "codebook_size",
        "token_grid_size")}, **overrides})  # fmt: skip


def _assign_mask_token_id(value):
    config = _token_config()
    config.mask_token_id = value


cases(
    "config/mask_token_id",
    [
        ("real-code", 3, ("mask_token_id", "3", "codebook_size = 16", "real code")),
        ("zero", 0, ("mask_token_id", "0", "codebook_size = 16")),
        ("beyond", 17, ("mask_token_id", "17", "codebook_size = 16")),
        ("float", 16.0, ("mask_token_id", "16.0", "codebook_size = 16")),
    ],
    ValueError,
    lambda value: _token_config_with(mask_token_id=value),
)
case("config/mask_token_id/assigned", ValueError, "mask_token_id", "5", "codebook_size = 16")(
    lambda: _assign_mask_token_id(5)
)


def test_the_mask_token_id_of_the_config_is_accepted_with_its_one_value(tmp_path):
    assert _token_config_with(mask_token_id=CODEBOOK).mask_token_id == CODEBOOK
    config = _token_config()
    config.mask_token_id = CODEBOOK  # (the same id: nothing changes)
    config.save_pretrained(tmp_path)
    import json

    saved = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**saved, "mask_token_id": CODEBOOK}))
    assert HyperSETConfig.from_pretrained(tmp_path).mask_token_id == CODEBOOK
    (tmp_path / "config.json").write_text(json.dumps({**saved, "mask_token_id": 3}))
    with pytest.raises(ValueError, match="`mask_token_id` is one past the last code"):
        HyperSETConfig.from_pretrained(tmp_path)


# ---------------------------------------------------------------------------------------------------------------------
# maskgit_schedule
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "schedule/num_steps",
    [
        ("zero", 0, ("num_steps", "0", "positive integer")),
        ("negative", -1, ("num_steps", "-1", "positive integer")),
        ("fraction", 1.5, ("num_steps", "1.5", "positive integer")),
        ("bool", True, ("num_steps", "True", "positive integer")),
        ("string", "4", ("num_steps", "'4'", "positive integer")),
        ("more-than-tokens", 17, ("num_steps", "17", "must not exceed", "16")),
    ],
    ValueError,
    lambda num_steps: maskgit_schedule(16, num_steps),
)
cases(
    "schedule/schedule",
    [
        ("unknown", "cubic", ("schedule", "'cubic'", "arccos")),
        ("capitalised", "Cosine", ("schedule", "'Cosine'", "cosine")),
        ("none", None, ("schedule", "None", "linear")),
    ],
    ValueError,
    lambda schedule: maskgit_schedule(16, 4, schedule),
)
case("schedule/num_tokens/zero", ValueError, "num_tokens", "0", "positive integer")(lambda: maskgit_schedule(0, 1))


# ---------------------------------------------------------------------------------------------------------------------
# mask_visual_tokens
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "mask_visual_tokens/mask_ratio",
    [
        ("true", True, ("mask_ratio", "True", "[0, 1]")),
        ("above-one", 1.5, ("mask_ratio", "1.5", "[0, 1]")),
        ("negative", -0.1, ("mask_ratio", "-0.1", "[0, 1]")),
        ("nan", math.nan, ("mask_ratio", "nan", "[0, 1]")),
        ("string", "0.4", ("mask_ratio", "'0.4'", "[0, 1]")),
    ],
    ValueError,
    lambda mask_ratio: mask_visual_tokens(_codes(), CODEBOOK, mask_ratio),
)
cases(
    "mask_visual_tokens/mask_token_id",
    [
        ("real-code", 3, ("mask_token_id", "3", "real code", "15")),
        ("largest-code", CODEBOOK - 1, ("mask_token_id", "15", "real code")),
        ("negative", -1, ("mask_token_id", "-1", ">= 0")),
        ("float", 16.0, ("mask_token_id", "16.0", "integer")),
        ("bool", True, ("mask_token_id", "True", "integer")),
        ("string", "16", ("mask_token_id", "'16'", "integer")),
    ],
    ValueError,
    lambda mask_token_id: mask_visual_tokens(_codes(), mask_token_id),
)
cases(
    "mask_visual_tokens/token_ids",
    [
        ("bool", _codes().bool(), ("token_ids", "torch.bool", "integer")),
        ("float", _codes().float(), ("token_ids", "torch.float32", "integer")),
        ("one-dimensional", torch.arange(16), ("token_ids", "(16,)", "(batch_size")),
        ("empty-batch", _codes()[:0], ("token_ids", "(0, 4, 4)", "non-empty")),
        ("negative", _with(_codes(), (0, 2, 2), -5), ("token_ids", "-5", ">= 0")),
        ("list", [[1, 2], [3, 4]], ("token_ids", "list", "tensor")),
    ],
    ValueError,
    lambda token_ids: mask_visual_tokens(token_ids, CODEBOOK),
)
case("mask_visual_tokens/random_ratio/string", ValueError, "random_ratio", "'no'", "True or False")(
    lambda: mask_visual_tokens(_codes(), CODEBOOK, random_ratio="no")
)
case("mask_visual_tokens/generator/seed", ValueError, "generator", "int", "torch.Generator")(
    lambda: mask_visual_tokens(_codes(), CODEBOOK, generator=0)
)


# ---------------------------------------------------------------------------------------------------------------------
# maskgit_decode
# ---------------------------------------------------------------------------------------------------------------------


def _decode(model=None, **kwargs):
    arguments = dict(input_ids=_codes(masked=6), num_steps=3, generator=torch.Generator().manual_seed(0))
    arguments.update(kwargs)
    return maskgit_decode(model or _token_model(), **arguments)


cases(
    "maskgit_decode",
    [
        ("mask-id-real-code", dict(mask_token_id=3), ("mask_token_id", "3", "real code", "16")),
        ("mask-id-beyond", dict(mask_token_id=40), ("mask_token_id", "40", "not an id", "16")),
        ("mask-id-float", dict(mask_token_id=16.0), ("mask_token_id", "16.0", "integer")),
        ("ids-bool", dict(input_ids=_codes().bool()), ("input_ids", "torch.bool", "integer")),
        ("ids-float", dict(input_ids=_codes(masked=3).float()), ("input_ids", "torch.float32", "integer")),
        ("ids-one-dimensional", dict(input_ids=torch.arange(16)), ("input_ids", "(16,)", "(batch_size")),
        ("ids-four-dimensional", dict(input_ids=_codes(masked=3)[:, None]), ("input_ids", "(2, 1, 4, 4)", "shape")),
        ("ids-empty", dict(input_ids=_codes()[:0]), ("input_ids", "(0, 4, 4)", "non-empty")),
        ("ids-list", dict(input_ids=_codes().tolist()), ("input_ids", "list", "tensor")),
        ("ids-negative", dict(input_ids=_with(_codes(masked=3), (0, 3, 3), -2)), ("input_ids", "-2", ">= 0")),
        ("ids-above-mask", dict(input_ids=_with(_codes(masked=3), (1, 3, 3), 99)), ("input_ids", "99", "0-15")),
        ("num-steps-zero", dict(num_steps=0), ("num_steps", "0", "positive integer")),
        ("num-steps-fraction", dict(num_steps=2.5), ("num_steps", "2.5", "positive integer")),
        ("num-steps-too-many", dict(num_steps=17), ("num_steps", "17", "16")),
        ("schedule-unknown", dict(schedule="exponential"), ("schedule", "'exponential'", "arccos")),
        ("temperature-negative", dict(temperature=-1.0), ("temperature", "-1.0", ">= 0")),
        ("temperature-nan", dict(temperature=math.nan), ("temperature", "nan", "finite")),
        ("temperature-inf", dict(temperature=math.inf), ("temperature", "inf", "finite")),
        ("temperature-bool", dict(temperature=True), ("temperature", "True", "number")),
        ("temperature-string", dict(temperature="1"), ("temperature", "'1'", "number")),
        ("temperature-tiny", dict(temperature=1e-300), ("temperature", "1e-300", "step 0", "greedy")),
        ("noise-negative", dict(confidence_noise=-4.5), ("confidence_noise", "-4.5", ">= 0")),
        ("reveal-fraction-true", dict(reveal_fraction=True), ("reveal_fraction", "True", "(0, 1]")),
        ("reveal-fraction-zero", dict(reveal_fraction=0), ("reveal_fraction", "0", "(0, 1]")),
        ("reveal-fraction-nan", dict(reveal_fraction=math.nan), ("reveal_fraction", "nan", "(0, 1]")),
        ("threshold-above-one", dict(confidence_threshold=2), ("confidence_threshold", "2", "(0, 1]")),
        ("threshold-true", dict(confidence_threshold=True), ("confidence_threshold", "True", "(0, 1]")),
        ("generator-int", dict(generator=1234), ("generator", "int", "torch.Generator")),
        ("nan-logits", dict(model=_NanLogits()), ("logits", "nan", "step 0", "sample 0", "finite")),
        ("stop-when-full-string", dict(stop_when_full="no"), ("stop_when_full", "'no'", "True or False")),
        ("warm-start-number", dict(warm_start=2), ("warm_start", "2", "True or False")),
        ("intermediate-none", dict(return_intermediate=None), ("return_intermediate", "None", "True or False")),
        ("id-offset-float", dict(id_offset=1.0), ("id_offset", "1.0", "integer")),
        ("logits-processor-string", dict(logits_processor="rules"), ("logits_processor", "str", "callable")),
    ],
    ValueError,
    lambda kwargs: _decode(**kwargs),
)
if torch.cuda.is_available():
    case("maskgit_decode/generator-on-cuda", ValueError, "generator", "cuda", "cpu")(
        lambda: _decode(generator=torch.Generator(device="cuda"))
    )


# ---------------------------------------------------------------------------------------------------------------------
# Batch helpers: encode_images, decode_images, maskgit_complete
# ---------------------------------------------------------------------------------------------------------------------

for label, value in (("zero", 0), ("negative", -1), ("fraction", 1.5), ("none", None)):
    fragments = ("batch_size", repr(value), "positive integer")
    case(f"maskgit_complete/batch_size/{label}", ValueError, *fragments)(
        lambda value=value: maskgit_complete(_token_model(), _codes(masked=3), batch_size=value, num_steps=2)
    )
    case(f"encode_images/batch_size/{label}", ValueError, *fragments)(
        lambda value=value: encode_images(_tokenizer(), torch.zeros(2, 1, 8, 8), batch_size=value)
    )
    case(f"decode_images/batch_size/{label}", ValueError, *fragments)(
        lambda value=value: decode_images(_tokenizer(), _codes(), batch_size=value)
    )
case("encode_images/empty", ValueError, "pixel_values", "empty")(
    lambda: encode_images(_tokenizer(), torch.zeros(0, 1, 8, 8))
)
case("encode_images/nan", ValueError, "pixel_values", "nan", "finite")(
    lambda: encode_images(_tokenizer(), _with(torch.zeros(2, 1, 8, 8), (1, 0, 2, 3), math.nan))
)
case("decode_images/dtype-string", ValueError, "dtype", "'float'", "torch.float32")(
    lambda: decode_images(_tokenizer(), _codes(), dtype="float")
)
case("decode_images/dtype-integer", ValueError, "dtype", "torch.int64", "floating")(
    lambda: decode_images(_tokenizer(), _codes(), dtype=torch.int64)
)
case("decode_images/float-ids", ValueError, "token_ids", "float32", "integer")(
    lambda: decode_images(_tokenizer(), _codes().float())
)


# ---------------------------------------------------------------------------------------------------------------------
# The image tokenizer (DiffusersVQTokenizer.encode / decode)
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "tokenizer/encode",
    [
        ("nan-pixel", _with(torch.zeros(1, 1, 8, 8), (0, 0, 5, 5), math.nan), ("pixel_values", "nan", "(0, 0, 5, 5)")),
        ("inf-pixel", _with(torch.zeros(1, 1, 8, 8), (0, 0, 1, 1), math.inf), ("pixel_values", "inf", "finite")),
        ("odd-size", torch.zeros(1, 1, 9, 9), ("pixel_values", "9x9", "multiples of 2")),
        ("one-pixel-too-wide", torch.zeros(1, 1, 8, 9), ("pixel_values", "8x9", "multiples of 2")),
        ("integer-tensor", torch.zeros(1, 1, 8, 8, dtype=torch.uint8), ("pixel_values", "float", "uint8")),
        ("empty-batch", torch.zeros(0, 1, 8, 8), ("pixel_values", "empty")),
        ("five-dimensional", torch.zeros(1, 1, 1, 8, 8), ("pixel_values", "(1, 1, 1, 8, 8)", "(batch_size, channels")),
        ("five-channels", torch.zeros(1, 5, 8, 8), ("pixel_values", "5 channels", "takes 1")),
        ("images-of-two-sizes", [np.zeros((8, 8), np.uint8), np.zeros((4, 4), np.uint8)], ("one size", "(4, 4)")),
        ("nan-numpy-image", np.full((8, 8), math.nan), ("pixel_values[0]", "nan", "finite")),
    ],
    ValueError,
    lambda pixel_values: _tokenizer().encode(pixel_values),
)
cases(
    "tokenizer/decode",
    [
        ("mask-id", _codes(masked=1), ("token_ids", "16", "0-15", "maskgit_decode")),
        ("one-dimensional", torch.arange(16), ("token_ids", "(16,)", "(batch_size, h, w)")),
        ("bool", _codes().bool(), ("token_ids", "torch.bool", "integer")),
        ("empty", _codes()[:0], ("token_ids", "(0, 4, 4)", "non-empty")),
        ("negative", _with(_codes(), (0, 1, 2), -3), ("token_ids", "-3", "0-15")),
    ],
    ValueError,
    lambda token_ids: _tokenizer().decode(token_ids),
)


# ---------------------------------------------------------------------------------------------------------------------
# The masked-image-completion pipeline
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "completion/parameters",
    [
        ("seed-fraction", dict(seed=1.7), ("seed", "1.7", "integer")),
        ("seed-negative", dict(seed=-1), ("seed", "-1", "integer in [0")),
        ("seed-bool", dict(seed=True), ("seed", "True", "integer")),
        ("seed-string", dict(seed="0"), ("seed", "'0'", "integer")),
        ("mask-ratio-true", dict(mask_ratio=True), ("mask_ratio", "True", "(0, 1]")),
        ("mask-ratio-zero", dict(mask_ratio=0), ("mask_ratio", "0", "(0, 1]")),
        ("mask-ratio-nan", dict(mask_ratio=math.nan), ("mask_ratio", "nan", "(0, 1]")),
        ("mask-ratio-and-token-mask", dict(mask_ratio=0.5, token_mask=np.eye(4, dtype=bool)),
         ("mask_ratio", "0.5", "token_mask", "not both")),
        ("token-mask-shape", dict(token_mask=np.ones((3, 3), dtype=bool)), ("token_mask", "(3, 3)", "(4, 4)")),
        ("token-mask-values", dict(token_mask=np.full((4, 4), 2)), ("token_mask", "2", "0/1")),
        ("token-mask-nothing-hidden", dict(token_mask=np.zeros((4, 4), dtype=bool)), ("token_mask", "hides no token")),
        ("token-mask-string", dict(token_mask="top"), ("token_mask", "str", "(4, 4)")),
        ("num-steps-zero", dict(num_steps=0), ("num_steps", "0", "positive integer")),
        ("num-steps-too-many", dict(num_steps=40), ("num_steps", "40", "16")),
        ("schedule-unknown", dict(schedule="cubic"), ("schedule", "'cubic'", "arccos")),
        ("temperature-negative", dict(temperature=-0.5), ("temperature", "-0.5", ">= 0")),
        ("temperature-nan", dict(temperature=math.nan), ("temperature", "nan", "finite")),
        ("batch-size-zero", dict(batch_size=0), ("batch_size", "0", "positive integer")),
        ("batch-size-negative", dict(batch_size=-1), ("batch_size", "-1", "positive integer")),
        ("batch-size-fraction", dict(batch_size=1.5), ("batch_size", "1.5", "positive integer")),
    ],
    ValueError,
    lambda kwargs: _completer()(IMAGE, **kwargs),
)
case("completion/parameters/unknown", TypeError, "num_iterations", "num_steps")(
    lambda: _completer()(IMAGE, num_iterations=3)
)
cases(
    "completion/image",
    [
        ("float-above-one", np.full((8, 8), 2.0), ("image", "[0, 1]", "2")),
        ("nan-pixel", _with(torch.zeros(1, 8, 8), (0, 3, 4), math.nan), ("image", "nan", "(0, 3, 4)")),
        ("integer-above-255", np.full((8, 8), 300, dtype=np.int32), ("image", "0-255", "300")),
        ("negative-integers", np.full((8, 8), -1, dtype=np.int64), ("image", "0-255", "-1")),
        ("five-channels", np.zeros((8, 8, 5), np.uint8), ("image", "(8, 8, 5)", "1-4 channels")),
        ("one-dimensional", np.zeros(64, np.uint8), ("image", "(64,)", "(H, W)")),
        ("empty", np.zeros((0, 0), np.uint8), ("image", "empty", "(0, 0)")),
        ("missing-file", "no-such-image.png", ("image", "'no-such-image.png'", "no such file")),
        ("number", 42, ("image", "shape ()", "(H, W)")),
        ("too-large-for-the-grid", np.zeros((16, 16), np.uint8), ("(16, 16)", "(8, 8) token grid", "4x4")),
        ("odd-size", np.zeros((9, 9), np.uint8), ("9x9", "multiples of 2")),
        ("complex", np.zeros((8, 8), np.complex64), ("image", "complex64")),
    ],
    ValueError,
    lambda image: _completer()(image),
)
case("completion/batch_size/at-construction", ValueError, "batch_size", "0", "positive integer")(
    lambda: _completer(batch_size=0)
)
case("completion/model/sudoku-model", ValueError, "masked-image-completion", "HyperSETForSudoku", "visual_tokens")(
    lambda: pipeline("masked-image-completion", model=_sudoku_model(), image_tokenizer=_tokenizer())
)
case("completion/model/image-classifier", ValueError, "HyperSETForImageClassification", "input_type='image'",
     "HyperSETForMaskedTokenModeling")(lambda: pipeline(
         "masked-image-completion", model=HyperSETForImageClassification(tiny_config()), image_tokenizer=_tokenizer()))
case("completion/tokenizer/wrong-codebook", ValueError, "32 codes", "16")(
    lambda: pipeline("masked-image-completion", model=_token_model(),
                     image_tokenizer=DiffusersVQTokenizer(tiny_vq_model(codebook_size=32)))  # fmt: skip
)


@pytest.fixture(scope="module")
def saved_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    _sudoku_model().save_pretrained(root / "sudoku")
    _token_model().save_pretrained(root / "tokens")
    HyperSETForImageClassification(tiny_config()).save_pretrained(root / "classifier")
    return root


@pytest.mark.parametrize(
    "task, folder, fragments",
    [
        ("masked-image-completion", "sudoku", ("masked-image-completion", "HyperSETForSudoku", "input_type='sudoku'",
                                               "visual_tokens")),
        ("masked-image-completion", "classifier", ("HyperSETForImageClassification", "input_type='image'")),
        ("sudoku-solving", "tokens", ("sudoku-solving", "HyperSETForMaskedTokenModeling", "input_type='visual_tokens'",
                                      "'sudoku'")),
        ("sudoku-solving", "classifier", ("sudoku-solving", "HyperSETForImageClassification", "'sudoku'")),
    ],
)
def test_a_checkpoint_of_another_kind_is_refused_in_one_line(saved_folders, task, folder, fragments):
    extra = {"image_tokenizer": _tokenizer()} if task == "masked-image-completion" else {}
    check_case(lambda: pipeline(task, model=str(saved_folders / folder), **extra), ValueError, fragments)
    with pytest.raises(ValueError) as info:
        pipeline(task, model=str(saved_folders / folder), **extra)
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)


def test_a_checkpoint_of_the_right_kind_still_loads(saved_folders):
    solver = pipeline("sudoku-solving", model=str(saved_folders / "sudoku"))
    assert type(solver.model).__name__ == "HyperSETForSudoku"
    completer = pipeline("masked-image-completion", model=str(saved_folders / "tokens"), image_tokenizer=_tokenizer())
    assert type(completer.model).__name__ == "HyperSETForMaskedTokenModeling"


# ---------------------------------------------------------------------------------------------------------------------
# The Sudoku parser and pipeline: bad forms
# ---------------------------------------------------------------------------------------------------------------------

cases(
    "sudoku/parse_grid",
    [
        ("bool-cell", DIGITS[:3] + [True] + DIGITS[4:], ("bool True", "cell 3", "digits 0-9")),
        ("bool-array", np.zeros(81, dtype=bool), ("dtype bool", "integer cells")),
        ("nan-cell", np.array(DIGITS[:-1] + [math.nan]), ("nan", "cell 80", "digits 0-9")),
        ("dict-cell", DIGITS[:5] + [{}] + DIGITS[6:], ("{}", "cell 5", "digits 0-9")),
        ("letter-cell", list(PUZZLE[:7]) + ["x"] + list(PUZZLE[8:]), ("'x'", "cell 7", "'0' or '.' = blank")),
        ("ten-as-string-cell", [str(d) for d in DIGITS[:80]] + ["10"], ("'10'", "cell 80")),
        ("short-row-in-lines", "\n".join(ROWS[:2] + [ROWS[2][:8]] + ROWS[3:]), ("row 3", "8", "9 cells")),
        ("long-row-in-lines", "\n".join(ROWS[:4] + [ROWS[4] + "1"] + ROWS[5:]), ("row 5", "10", "9 cells")),
        ("short-row-in-list", [DIGITS[0:9]] * 8 + [DIGITS[0:8]], ("81 cells", "80", "(9, 9)")),
        ("rows-and-cells", [DIGITS[0:9]] + DIGITS[9:], ("mix of rows and cells",)),
        ("shape-3-by-27", np.zeros((3, 27), dtype=int), ("(3, 27)", "(81,) or (9, 9)")),
        ("tensor-of-ten", torch.full((9, 9), 10), ("got 10", "cell 0", "digits 0-9")),
        ("string-array-letter", np.array(list(PUZZLE[:-1]) + ["?"]), ("'?'", "cell 80")),
        ("dashes-counted", PUZZLE[:40] + "-" + PUZZLE[40:], ("81 cells", "82")),
        ("scalar", 7, ("scalar 7", "81 cells")),
        ("set", set(range(81)), ("set", "81 cells", "in order")),
        ("dict", {"row 1": ROWS[0]}, ("dict", "81 cells")),
    ],
    ValueError,
    parse_grid,
)
cases(
    "sudoku/parse_grids",
    [
        ("single-string", PUZZLE, ("single string", "list of grids")),
        ("bool-in-batch", [DIGITS, DIGITS[:3] + [False] + DIGITS[4:]], ("puzzles[1]", "bool False", "cell 3")),
        ("not-a-batch", 12, ("list of grids", "int")),
    ],
    ValueError,
    lambda grids: parse_grids(grids, "puzzles"),
)
cases(
    "sudoku/count_solutions/limit",
    [
        ("zero", 0, ("limit", "0", "positive integer")),
        ("fraction", 1.5, ("limit", "1.5", "positive integer")),
        ("bool", True, ("limit", "True", "positive integer")),
    ],
    ValueError,
    lambda limit: count_solutions(PUZZLE, limit),
)
cases(
    "sudoku/pipeline",
    [
        ("batch-size-zero", dict(batch_size=0), ("batch_size", "0", "positive integer")),
        ("batch-size-negative", dict(batch_size=-1), ("batch_size", "-1", "positive integer")),
        ("batch-size-fraction", dict(batch_size=1.5), ("batch_size", "1.5", "positive integer")),
        ("batch-size-string", dict(batch_size="2"), ("batch_size", "'2'", "positive integer")),
        ("printed-row-missing", dict(inputs="\n".join(ROWS[:8])), ("81 cells", "72")),
        ("row-strings-with-letter", dict(inputs=ROWS[:8] + ["1x3......"]), ("'x'", "cell 73", "digits 0-9")),
        ("question-mark-blank", dict(inputs=PUZZLE.replace(".", "?")), ("invalid character", "'?'", "position 0")),
        ("batch-tensor-with-ten", dict(inputs=torch.full((2, 81), 10)), ("puzzle 0", "10", "digits 0-9")),
    ],
    ValueError,
    lambda kwargs: _solver()(**{"inputs": [PUZZLE, PUZZLE], **kwargs}),
)
cases(
    "sudoku/format_grid/blank",
    [
        ("letter", "x", ("blank", "'x'", "'.'")),
        ("two-characters", "..", ("blank", "'..'", "'-'")),
        ("space", " ", ("blank", "' '", "'_'")),
        ("number", 0, ("blank", "0", "'*'")),
    ],
    ValueError,
    lambda blank: format_grid(PUZZLE, blank=blank),
)
cases(
    "sudoku/pipeline/decoding-flags",
    [
        ("rule-mask-string", dict(rule_mask="yes"), ("rule_mask", "'yes'", "True or False")),
        ("warm-start-number", dict(warm_start=1), ("warm_start", "1", "True or False")),
    ],
    ValueError,
    lambda kwargs: _solver()(PUZZLE, **kwargs),
)
case("sudoku/pipeline/check-givens-string", TypeError, "check_givens", "'no'", "True or False")(
    lambda: _solver()(PUZZLE, check_givens="no")
)
case("sudoku/pipeline/batch-size-at-construction", ValueError, "batch_size", "0", "positive integer")(
    lambda: _solver(batch_size=0)
)
case("sudoku/pipeline/token-model", ValueError, "sudoku-solving", "HyperSETForMaskedTokenModeling", "'sudoku'")(
    lambda: pipeline("sudoku-solving", model=_token_model())
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name):
    check_case(*CASES[name])


def test_the_table_is_large():
    assert len(CASES) >= 60


# ---------------------------------------------------------------------------------------------------------------------
# Accepted forms: Sudoku grids
# ---------------------------------------------------------------------------------------------------------------------

BOXED = "\n".join(
    line
    for row in range(9)
    for line in (["+-------+-------+-------+"] if row % 3 == 0 else [])
    + ["| " + " | ".join(" ".join(ROWS[row][stack : stack + 3]) for stack in (0, 3, 6)) + " |"]
) + "\n+-------+-------+-------+"
UNICODE = "\n".join(
    line
    for row in range(9)
    for line in (["──────┼───────┼──────"] if row in (3, 6) else [])
    + [" │ ".join(" ".join(ROWS[row][stack : stack + 3]) for stack in (0, 3, 6))]
)
GRID_FORMS = {
    "nine-row-strings": ROWS,
    "nine-row-strings-tuple": tuple(ROWS),
    "one-string-with-newlines": "\n".join(ROWS),
    "windows-newlines-and-margin": "\r\n".join(ROWS) + "\r\n\r\n",
    "9x9-digit-strings": [list(row) for row in ROWS],
    "9x9-digit-strings-zero-blanks": [[c.replace(".", "0") for c in row] for row in ROWS],
    "dash-blanks": PUZZLE.replace(".", "-"),
    "underscore-blanks": PUZZLE.replace(".", "_"),
    "zero-blanks": PUZZLE.replace(".", "0"),
    "star-blanks": PUZZLE.replace(".", "*"),
    "space-blanks-81-characters": PUZZLE.replace(".", " "),
    "space-blanks-in-rows": "\n".join(row.replace(".", " ") for row in ROWS),
    "space-blanks-rows-trailing-stripped": "\n".join(row.replace(".", " ").rstrip() for row in ROWS),
    "dash-blanks-in-rows": "\n".join(row.replace(".", "-") for row in ROWS),
    "format-grid": format_grid(PUZZLE),
    "format-grid-dash-blanks": format_grid(PUZZLE, blank="-"),
    "format-grid-zero-blanks": format_grid(PUZZLE, blank="0"),
    "boxed-grid": BOXED,
    "unicode-box-drawing": UNICODE,
    "spaced-digits": " ".join(PUZZLE.replace(".", "0")),
    "comma-separated": ",".join(PUZZLE.replace(".", "0")),
    "comma-separated-empty-blanks": ",".join("" if c == "." else c for c in PUZZLE),
    "csv-rows-empty-blanks": "\n".join(",".join("" if c == "." else c for c in row) for row in ROWS),
    "printed-python-list": str([DIGITS[row * 9 : row * 9 + 9] for row in range(9)]),
    "printed-numpy-array": str(np.array(DIGITS).reshape(9, 9)),
    "printed-flat-list": str(DIGITS),
    "bytes": PUZZLE.encode(),
    "flat-integers": DIGITS,
    "flat-tuple": tuple(DIGITS),
    "nested-tuples": tuple(tuple(DIGITS[row * 9 : row * 9 + 9]) for row in range(9)),
    "nested-lists": [DIGITS[row * 9 : row * 9 + 9] for row in range(9)],
    "none-blanks": [None if d == 0 else d for d in DIGITS],
    "one-character-strings": list(PUZZLE),
    "empty-string-blanks": ["" if c == "." else c for c in PUZZLE],
    "numpy-81": np.array(DIGITS),
    "numpy-9x9": np.array(DIGITS).reshape(9, 9),
    "numpy-int8": np.array(DIGITS, dtype=np.int8),
    "numpy-integral-floats": np.array(DIGITS, dtype=float).reshape(9, 9),
    "numpy-scalars-in-a-list": [np.int64(d) for d in DIGITS],
    "numpy-rows": [np.array(DIGITS[row * 9 : row * 9 + 9]) for row in range(9)],
    "numpy-strings": np.array(list(PUZZLE)),
    "numpy-strings-9x9": np.array(list(PUZZLE)).reshape(9, 9),
    "torch-81": torch.tensor(DIGITS),
    "torch-9x9": torch.tensor(DIGITS).reshape(9, 9),
    "torch-1x81": torch.tensor(DIGITS)[None],
    "torch-uint8": torch.tensor(DIGITS, dtype=torch.uint8),
    "torch-rows": [torch.tensor(DIGITS[row * 9 : row * 9 + 9]) for row in range(9)],
    "zero-d-tensors": [torch.tensor(d) for d in DIGITS],
}


@pytest.mark.parametrize("form", sorted(GRID_FORMS))
def test_every_sensible_grid_form_parses_to_the_grid(form):
    grid = GRID_FORMS[form]
    assert parse_grid(grid).tolist() == DIGITS
    assert parse_puzzle(grid).tolist() == DIGITS


def test_blank_rows_written_as_dashes_are_rows_not_rules():
    rows = ["---------" if row in (0, 8) else ROWS[row].replace(".", "-") for row in range(9)]
    expected = [0] * 9 + DIGITS[9:72] + [0] * 9
    assert parse_grid("\n".join(rows)).tolist() == expected
    drawn = rows[:3] + ["------+-------+------"] + rows[3:6] + ["------+-------+------"] + rows[6:]
    assert parse_grid("\n".join(drawn)).tolist() == expected


def test_complete_grids_accept_the_forms_too():
    solution = "214758639695432187387916452729645318536821794841379526163284975958167243472593861"
    assert "".join(map(str, parse_grid(format_grid(solution), allow_blank=False))) == solution
    with pytest.raises(ValueError, match=r"expected digits 1-9, got '-' at cell 0"):
        parse_grid("-" + solution[1:], allow_blank=False)


def test_batches_of_grids_in_any_form():
    expected = np.array([DIGITS, DIGITS], dtype=np.int8)
    for grids in ([ROWS, "\n".join(ROWS)], [format_grid(PUZZLE), PUZZLE.replace(".", "-")], torch.tensor([DIGITS] * 2),
                  torch.tensor([DIGITS] * 2).reshape(2, 9, 9), np.array([PUZZLE, PUZZLE])):  # fmt: skip
        assert (parse_grids(grids, "puzzles") == expected).all()


@pytest.mark.parametrize(
    "form",
    ["nine-row-strings", "9x9-digit-strings", "dash-blanks", "space-blanks-in-rows", "format-grid-dash-blanks",
     "boxed-grid", "numpy-9x9", "torch-81", "nested-tuples", "none-blanks", "numpy-strings"],
)  # fmt: skip
def test_the_sudoku_pipeline_accepts_the_forms(form):
    result = _solver()(GRID_FORMS[form], num_recurrences=2)
    assert isinstance(result, dict) and result["puzzle"] == PUZZLE.replace(".", "0")


def test_the_sudoku_pipeline_batches_arrays_of_grids():
    for batch in (torch.tensor([DIGITS] * 3).reshape(3, 9, 9), np.array([PUZZLE] * 3), [ROWS, ROWS, ROWS]):
        results = _solver()(batch, num_recurrences=2)
        assert len(results) == 3 and all(result["puzzle"] == PUZZLE.replace(".", "0") for result in results)
    results = _solver()([PUZZLE, PUZZLE], num_recurrences=2, batch_size=2)
    assert len(results) == 2 and results[0]["solution"] == results[1]["solution"]


# ---------------------------------------------------------------------------------------------------------------------
# Accepted forms: token ids and numbers
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.uint8])
def test_token_ids_of_any_integer_dtype_give_the_same_logits_and_decoding(dtype):
    codes = _codes(masked=5)
    expected = _token_model()(input_ids=codes).logits
    assert torch.equal(_token_model()(input_ids=codes.to(dtype)).logits, expected)
    decoded = maskgit_decode(_token_model(), codes.to(dtype), num_steps=3, generator=torch.Generator().manual_seed(1))
    reference = maskgit_decode(_token_model(), codes, num_steps=3, generator=torch.Generator().manual_seed(1))
    assert decoded.sequences.dtype == torch.long and torch.equal(decoded.sequences, reference.sequences)
    masked, labels = mask_visual_tokens(_codes().to(dtype), CODEBOOK, 0.5, generator=torch.Generator().manual_seed(2))
    masked_64, labels_64 = mask_visual_tokens(_codes(), CODEBOOK, 0.5, generator=torch.Generator().manual_seed(2))
    assert torch.equal(masked, masked_64) and torch.equal(labels, labels_64)


def test_the_tokenizer_decodes_integer_ids_of_any_dtype():
    expected = _tokenizer().decode(_codes())
    for dtype in (torch.int8, torch.int32, torch.uint8):
        assert torch.equal(_tokenizer().decode(_codes().to(dtype)), expected)
    assert torch.equal(decode_images(_tokenizer(), _codes().to(torch.int16), batch_size=np.int64(2)),
                       ((expected + 1) / 2).clamp(0, 1))  # fmt: skip


def test_numbers_of_numpy_and_torch_are_accepted():
    codes = _codes(masked=5)
    reference = maskgit_decode(_token_model(), codes, num_steps=3, temperature=0.5, reveal_fraction=None,
                               generator=torch.Generator().manual_seed(1))  # fmt: skip
    found = maskgit_decode(_token_model(), codes, num_steps=np.int64(3), temperature=np.float32(0.5),
                           mask_token_id=np.int64(CODEBOOK), generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert torch.equal(found.sequences, reference.sequences)
    found = maskgit_decode(_token_model(), codes, num_steps=torch.tensor(3), temperature=torch.tensor(0.5),
                           generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert torch.equal(found.sequences, reference.sequences)
    masked, _ = mask_visual_tokens(_codes(), CODEBOOK, np.float32(1.0), random_ratio=False)
    assert bool((masked == CODEBOOK).all())
    adaptive = maskgit_decode(_token_model(), codes, reveal_fraction=np.float64(0.5), temperature=0)
    assert not bool((adaptive.sequences == CODEBOOK).any())


# ---------------------------------------------------------------------------------------------------------------------
# Accepted forms: images for the tokenizer and the completion pipeline
# ---------------------------------------------------------------------------------------------------------------------


def _grey_of(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> the float grey image in [0, 1] by the ITU-R 601-2 luma."""
    return (rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255.0


RGB = (np.random.default_rng(3).random((8, 8, 3)) * 255).astype(np.uint8)


def test_image_forms_convert_to_the_same_pixel_values():
    grey = torch.from_numpy(IMAGE.astype(np.float32) / 255) * 2 - 1
    for form in (IMAGE, IMAGE[:, :, None], IMAGE[None], torch.from_numpy(IMAGE), torch.from_numpy(IMAGE)[None],
                 IMAGE.astype(np.float64) / 255, torch.from_numpy(IMAGE).float()[None] / 255,
                 IMAGE.astype(np.int64), IMAGE.astype(np.uint16) * 257):  # fmt: skip
        assert torch.allclose(image_to_pixel_values(form, 1)[0], grey, atol=1e-6), type(form)
    converted = image_to_pixel_values(RGB, 1)[0]
    assert torch.allclose(converted, torch.from_numpy(_grey_of(RGB)).float() * 2 - 1, atol=1e-5)
    rgba = np.concatenate((RGB, np.full((8, 8, 1), 128, np.uint8)), -1)
    assert torch.equal(image_to_pixel_values(rgba, 3), image_to_pixel_values(RGB, 3))  # alpha dropped
    assert torch.equal(image_to_pixel_values(IMAGE, 3), image_to_pixel_values(IMAGE, 1).repeat(3, 1, 1))
    assert torch.equal(image_to_pixel_values(np.ones((8, 8), bool), 1), torch.ones(1, 8, 8))


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I;16", "I", "F"])
def test_pil_images_of_every_mode_are_accepted(mode):
    from PIL import Image

    rgb = Image.fromarray(RGB)
    if mode == "I;16":
        image = Image.fromarray(IMAGE.astype(np.uint16) * 257)
        expected = IMAGE.astype(np.float32) / 255
    elif mode == "I":
        image = Image.fromarray(IMAGE.astype(np.int32))
        expected = IMAGE.astype(np.float32) / 255
    elif mode == "F":
        image = Image.fromarray(IMAGE.astype(np.float32) / 255)
        expected = IMAGE.astype(np.float32) / 255
    else:
        image = rgb.convert(mode)
        expected = np.asarray(image.convert("L")).astype(np.float32) / 255
    pixels = image_to_pixel_values(image, 1)
    assert pixels.shape == (1, 8, 8)
    if mode not in ("RGB", "RGBA", "CMYK", "YCbCr", "P"):  # PIL's own "L" rounds the luma; ours is exact
        assert torch.allclose(pixels[0], torch.from_numpy(expected) * 2 - 1, atol=1e-6), mode
    else:
        tolerance = (8 if mode == "YCbCr" else 2.5) / 255  # (YCbCr: a lossy round trip through RGB)
        assert torch.allclose(pixels[0], torch.from_numpy(expected) * 2 - 1, atol=tolerance), mode
    codes = _tokenizer().encode(image)
    assert codes.shape == (1, GRID, GRID)
    assert torch.equal(codes, _tokenizer().encode(pixels))


def test_the_completion_pipeline_accepts_colour_numpy_and_pil_images():
    from PIL import Image

    completer = _completer()
    reference = completer(RGB, seed=4, num_steps=3)  # (a grey tokenizer: the RGB image is converted by its luma)
    opaque = np.concatenate((RGB, np.full((8, 8, 1), 255, np.uint8)), -1)
    colour_tensor = torch.from_numpy(RGB).permute(2, 0, 1).float() / 255
    for form in (Image.fromarray(RGB), opaque, Image.fromarray(RGB).convert("RGBA"), colour_tensor):
        result = completer(form, seed=4, num_steps=3)
        assert np.array_equal(result["codes"], reference["codes"])
        assert np.array_equal(result["completed_codes"], reference["completed_codes"])
    colour = pipeline("masked-image-completion", model=_token_model(), image_tokenizer=_tokenizer(3))
    assert colour(IMAGE, seed=1, num_steps=2)["completed"].mode == "RGB"  # a grey image for an RGB tokenizer


def test_the_completion_pipeline_accepts_masks_and_seeds_of_any_sensible_type():
    completer = _completer()
    mask = np.zeros((GRID, GRID), dtype=bool)
    mask[1] = True
    reference = completer(IMAGE, token_mask=mask, temperature=0)
    for form in (mask.astype(int), mask.tolist(), torch.from_numpy(mask), mask.reshape(-1), mask.astype(np.float32)):
        result = completer(IMAGE, token_mask=form, temperature=0)
        assert np.array_equal(result["token_mask"], mask)
        assert np.array_equal(result["completed_codes"], reference["completed_codes"])
    seeded = completer(IMAGE, seed=7, mask_ratio=0.5)
    for seed in (np.int64(7), torch.tensor(7)):
        again = completer(IMAGE, seed=seed, mask_ratio=np.float32(0.5))
        assert np.array_equal(again["token_mask"], seeded["token_mask"])
    assert completer([]) == []
    results = completer([IMAGE, IMAGE], seed=7, mask_ratio=0.5, batch_size=2)
    assert len(results) == 2 and np.array_equal(results[1]["token_mask"], seeded["token_mask"])


def test_the_tokenizer_refuses_a_29_pixel_image_of_a_28_pixel_tokenizer():
    pytest.importorskip("diffusers")
    tokenizer = DiffusersVQTokenizer(tiny_vq_model(num_downsamplings=2, codebook_size=CODEBOOK))  # 28 px -> 7x7
    assert tokenizer.encode(torch.zeros(1, 1, 28, 28)).shape == (1, 7, 7)
    with pytest.raises(ValueError, match=r"29x29 px .* multiples of 4 px"):
        tokenizer.encode(torch.zeros(1, 1, 29, 29))
