"""`pipeline("masked-image-completion")`: image -> tokens -> hidden tokens -> MaskGIT decoding -> image; the visible
tokens are kept, the hidden ones filled, a seed reproduces the result, and bad inputs are refused clearly."""

import numpy as np
import pytest
import torch
from transformers import pipeline

from hyperset_hf import HyperSETConfig, HyperSETForMaskedTokenModeling
from hyperset_hf.maskgit import DiffusersVQTokenizer

from conftest import tiny_vq_model


pytest.importorskip("diffusers", reason="the image tokenizer is a diffusers VQModel")
CODEBOOK, GRID = 16, 4  # 8x8 images, one downsampling -> 4x4 tokens


@pytest.fixture(scope="module")
def completer():
    torch.manual_seed(0)
    vq_model = tiny_vq_model(codebook_size=CODEBOOK)
    config = HyperSETConfig.from_preset("mim", hidden_size=32, num_attention_heads=4, intermediate_size=32,
                                        time_embedding_size=32, codebook_size=CODEBOOK,
                                        token_grid_size=GRID)  # fmt: skip
    model = HyperSETForMaskedTokenModeling(config)
    return pipeline("masked-image-completion", model=model, image_tokenizer=DiffusersVQTokenizer(vq_model))


def test_completion_keeps_the_visible_tokens_and_fills_the_hidden_ones(completer):
    image = (np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8)
    result = completer(image, mask_ratio=0.5, num_steps=4, seed=3)
    hidden = result["token_mask"]
    assert hidden.shape == (GRID, GRID) and hidden.sum() == 8  # half of the 16 tokens
    assert (result["completed_codes"][~hidden] == result["codes"][~hidden]).all()
    assert ((0 <= result["completed_codes"]) & (result["completed_codes"] < CODEBOOK)).all()  # no mask id left
    assert result["completed"].size == (8, 8) and result["masked"].mode == "L"
    again = completer(image, mask_ratio=0.5, num_steps=4, seed=3)
    assert (again["completed_codes"] == result["completed_codes"]).all() and (again["token_mask"] == hidden).all()
    chosen = np.zeros((GRID, GRID), dtype=bool)
    chosen[0] = True
    given = completer(torch.rand(1, 8, 8), token_mask=chosen, temperature=0)
    assert (given["token_mask"] == chosen).all()
    assert (given["completed_codes"][1:] == given["codes"][1:]).all()


@pytest.mark.parametrize(
    "image, parameters, message",
    [
        (np.zeros((16, 16), dtype=np.uint8), {}, r"gives a \(8, 8\) token grid; the model was trained on 4x4"),
        (np.full((8, 8), 3.0, dtype=np.float32), {}, r"values in \[0, 1\], got shape \(8, 8\) and values in \[3, 3\]"),
        (torch.full((1, 8, 8), 2.0), {}, r"values in \[0, 1\], got shape \(1, 8, 8\) and values in \[2, 2\]"),
        (np.zeros((8, 8), dtype=np.uint8), {"mask_ratio": 1.5}, r"`mask_ratio` must be a number in \(0, 1\], got 1.5"),
        (np.zeros((8, 8), dtype=np.uint8), {"token_mask": np.zeros((3, 3), dtype=bool)}, r"boolean \(4, 4\) array"),
        (np.zeros((8, 8), dtype=np.uint8), {"schedule": "cubic"}, "`schedule` must be one of .* got 'cubic'"),
    ],
)
def test_bad_inputs_are_refused_clearly(completer, image, parameters, message):
    with pytest.raises(ValueError, match=message):
        completer(image, **parameters)


def test_the_pipeline_needs_a_token_model_and_a_matching_tokenizer():
    from hyperset_hf import HyperSETForSudoku

    sudoku = HyperSETForSudoku(HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2,
                                                          intermediate_size=16, time_embedding_size=16))  # fmt: skip
    with pytest.raises(ValueError, match="needs a masked-token model .* got HyperSETForSudoku"):
        pipeline("masked-image-completion", model=sudoku, image_tokenizer=None)
    config = HyperSETConfig.from_preset("mim", hidden_size=32, num_attention_heads=4, intermediate_size=32,
                                        time_embedding_size=32, codebook_size=CODEBOOK,
                                        token_grid_size=GRID)  # fmt: skip
    with pytest.raises(ValueError, match="needs `image_tokenizer=`"):
        pipeline("masked-image-completion", model=HyperSETForMaskedTokenModeling(config))


def test_the_tokenizer_in_the_model_folder_is_loaded_when_none_is_given(completer, tmp_path):
    from hyperset_hf.maskgit import IMAGE_TOKENIZER_SUBFOLDER

    completer.model.save_pretrained(tmp_path)
    completer.image_tokenizer.save_pretrained(tmp_path / IMAGE_TOKENIZER_SUBFOLDER)
    loaded = pipeline("masked-image-completion", model=str(tmp_path))
    image = (np.random.default_rng(1).random((8, 8)) * 255).astype(np.uint8)
    expected, found = completer(image, seed=5, num_steps=3), loaded(image, seed=5, num_steps=3)
    assert (found["codes"] == expected["codes"]).all()
    assert (found["completed_codes"] == expected["completed_codes"]).all()
    assert np.array_equal(np.asarray(found["completed"]), np.asarray(expected["completed"]))
    (tmp_path / IMAGE_TOKENIZER_SUBFOLDER / "config.json").write_text("not json")
    with pytest.raises((OSError, ValueError)):  # a tokenizer folder that does not load is not skipped silently
        pipeline("masked-image-completion", model=str(tmp_path))
