"""The demo Space (spaces/hyperset-demo/app.py): its functions directly, and the app launched on 127.0.0.1 and called
through gradio_client. Tiny models are built in tmp folders."""

import importlib.util
import os
import re
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


gradio = pytest.importorskip("gradio", reason="the Space tests need gradio (pip install -e '.[dev]')")
pytest.importorskip("matplotlib", reason="the Space tests need matplotlib (pip install -e '.[dev]')")

from transformers import ViTImageProcessor  # noqa: E402

from hyperset_hf import (  # noqa: E402
    HyperSETConfig,
    HyperSETForMaskedImageModeling,
    HyperSETForMaskedTokenModeling,
    HyperSETForSudoku,
)
from hyperset_hf.pipeline_sudoku import SudokuSolvingPipeline  # noqa: E402

from conftest import tiny_vq_model  # noqa: E402


SPACE = Path(__file__).resolve().parents[1] / "spaces" / "hyperset-demo"
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
HAVE_DIFFUSERS = importlib.util.find_spec("diffusers") is not None
needs_diffusers = pytest.mark.skipif(not HAVE_DIFFUSERS, reason="the masked-token tab's image tokenizer is a "
                                                               "diffusers VQModel (pip install diffusers)")
CODEBOOK, GRID, IMAGE_SIZE = 16, 4, 8  # the tiny tokenizer: 8x8 grey images, one downsampling -> 4x4 tokens


def load_app():
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    spec = importlib.util.spec_from_file_location("hyperset_demo_app", SPACE / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["hyperset_demo_app"] = module
    spec.loader.exec_module(module)
    return module


def _activate(model, std, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.hyperset.encoder.step_size_network.named_parameters():
            if "norm" not in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return model


def save_tiny_sudoku(folder):
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                        num_recurrences=3, time_embedding_size=8)
    model = _activate(HyperSETForSudoku(config), std=0.3).eval()
    model.save_pretrained(folder)
    return model


def save_tiny_mim(folder, with_processor=True):
    torch.manual_seed(0)
    config = HyperSETConfig(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_recurrences=3,
                            time_embedding_size=8, image_size=28, patch_size=7, num_channels=1, share_qkv_norm=True)
    model = _activate(HyperSETForMaskedImageModeling(config), std=0.05).eval()
    model.save_pretrained(folder)
    if with_processor:
        ViTImageProcessor(size={"height": 28, "width": 28}, image_mean=[0.3], image_std=[0.4]).save_pretrained(folder)
    return model


def tiny_token_model_config():
    return HyperSETConfig.from_preset("mim", hidden_size=32, num_attention_heads=4, intermediate_size=32,
                                      time_embedding_size=32, num_recurrences=3, codebook_size=CODEBOOK,
                                      token_grid_size=GRID)


def save_tiny_maskgit(folder):
    """A tiny masked-token model with its diffusers VQ tokenizer (8x8 grey images -> 4x4 tokens of 16 codes), saved
    as the app loads them: the model in `folder`, the tokenizer in `folder/image_tokenizer`."""
    from hyperset_hf.maskgit import IMAGE_TOKENIZER_SUBFOLDER, DiffusersVQTokenizer

    torch.manual_seed(0)
    vq_model = tiny_vq_model(codebook_size=CODEBOOK)
    HyperSETForMaskedTokenModeling(tiny_token_model_config()).save_pretrained(folder)
    DiffusersVQTokenizer(vq_model).save_pretrained(folder / IMAGE_TOKENIZER_SUBFOLDER)


@pytest.fixture(scope="module")
def app():
    return load_app()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("space-models")
    if HAVE_DIFFUSERS:
        save_tiny_maskgit(root / "maskgit")
    return {
        "sudoku_dir": root / "sudoku", "sudoku": save_tiny_sudoku(root / "sudoku"),
        "mim_dir": root / "mim", "mim": save_tiny_mim(root / "mim"),
        "maskgit_dir": root / "maskgit" if HAVE_DIFFUSERS else None,
    }


@pytest.fixture(scope="module")
def completer(app, models):
    if models["maskgit_dir"] is None:
        pytest.skip("the masked-token tab's image tokenizer is a diffusers VQModel (pip install diffusers)")
    completer, why = app.load_maskgit_model(str(models["maskgit_dir"]))
    assert why == "", why
    return completer


# --- the functions behind the tabs -----------------------------------------------------------------------------------


REFERENCE = "214758639695432187387916452729645318536821794841379526163284975958167243472593861"


@pytest.mark.parametrize("decoding", [None, "iterative", "one_pass"])
def test_solve_calls_the_models_solve_and_shows_the_rounds(app, models, monkeypatch, decoding):
    model = models["sudoku"]
    calls = []
    solve = model.solve

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return solve(*args, **kwargs)

    monkeypatch.setattr(model, "solve", spy)
    result = app.solve_puzzle(model, PUZZLE, 5, decoding)
    used = decoding or "iterative"  # the tiny model recommends nothing: solve()'s default
    assert [call["decoding"] for call in calls] == [used] and calls[0]["rule_mask"] is False  # the model's solve()
    monkeypatch.undo()
    expected = SudokuSolvingPipeline(model=model)(PUZZLE, num_recurrences=5, decoding=used)
    assert result["decoding"] == used and result["num_recurrences"] == 5
    for key in ("solution", "is_valid", "problem", "num_rounds", "iterations_used", "committed_round"):
        assert result[key] == expected[key], key
    assert result["energies"] == [pytest.approx(expected["energies"], abs=0)]  # the last round's, one layer
    assert result["reference"] == REFERENCE
    blanks = [i for i in range(81) if PUZZLE[i] == "."]
    assert all(result["committed_round"][i] == -1 for i in range(81) if i not in blanks)
    if used == "one_pass":
        assert result["num_rounds"] == 1 and {result["committed_round"][i] for i in blanks} == {0}
    else:
        assert result["num_rounds"] > 1 and result["iterations_used"] == 5 * result["num_rounds"]
    # the grid after every round: the givens and the blanks committed so far
    assert len(result["rounds"]) == result["num_rounds"] and result["rounds"][-1] == result["solution"]
    for step, grid in enumerate(result["rounds"]):
        for i in range(81):
            committed = result["committed_round"][i] <= step
            assert grid[i] == (result["solution"][i] if committed else "0")

    grid_html, status, rounds_html, table, figure = app.sudoku_views(result)
    assert f'data-solution="{result["solution"]}"' in grid_html and grid_html.count("<td") == 81
    assert f"`{result['solution']}`" in status and f"of {len(blanks)} blank cells match" in status
    if used == "one_pass":
        assert "by one pass (the paper's protocol), 5 iterations" in status
        assert "every blank was committed in the single forward pass" in rounds_html
    else:
        assert (f"by iterative decoding: {result['num_rounds']} rounds of 5 iterations "
                f"({result['iterations_used']} iterations in all)") in status
        assert f"Round in which each blank was committed, 1 to {result['num_rounds']}" in rounds_html
    # the round of every blank: a 9x9 table, the givens' digits, each blank's round counted from 1
    assert rounds_html.count("<td") == 81
    assert f'data-committed-round="{",".join(map(str, result["committed_round"]))}"' in rounds_html
    cells = re.findall(r'data-cell="(\d+)" data-round="(-?\d+)" style="[^"]*">([^<]*)</td>', rounds_html)
    assert [int(cell) for cell, _, _ in cells] == list(range(81))
    for (cell, step, text), character in zip(cells, PUZZLE):
        assert text == (character if character != "." else str(int(step) + 1))
    # one row per round: cells committed, of them right, blank cells left
    assert [row[0] for row in table] == list(range(1, result["num_rounds"] + 1))
    counts = [sum(result["committed_round"][i] == step for i in blanks) for step in range(result["num_rounds"])]
    assert [row[1] for row in table] == counts and table[-1][3] == 0
    assert [row[2] for row in table] == [
        sum(result["solution"][i] == REFERENCE[i] for i in blanks if result["committed_round"][i] == step)
        for step in range(result["num_rounds"])
    ]
    line = figure.axes[0].lines[0]
    assert list(line.get_xdata()) == list(range(6))
    assert list(line.get_ydata()) == pytest.approx(result["energies"][0])


@pytest.mark.parametrize("selection", ["confidence", "energy", "vote"])
@pytest.mark.parametrize("decoding", ["iterative", "one_pass"])
def test_copies_keep_the_grid_the_models_solve_keeps(app, models, decoding, selection):
    """Test-time selection in the Space is `solve(num_copies=K, selection=...)`: the same grid, the copy kept, every
    copy's confidence and all copies' iterations, described in the status and the rounds' caption."""
    model = models["sudoku"]
    result = app.solve_puzzle(model, PUZZLE, 3, decoding, 4, selection)
    input_ids = torch.as_tensor(app.parse_puzzle(PUZZLE), dtype=torch.long).unsqueeze(0)
    with torch.no_grad():
        expected = model.solve(input_ids, 3, decoding=decoding, num_copies=4, selection=selection, return_dict=True)
    assert result["solution"] == app.grid_to_string(expected.grids[0].numpy())
    assert result["num_copies"] == 4 and result["selection"] == selection
    assert result["selected_copy"] == int(expected.selected_copy[0])
    assert result["selected_copy"] == (-1 if selection == "vote" else result["selected_copy"]) >= -1
    assert result["copy_confidences"] == pytest.approx(expected.copy_confidences[0].tolist(), abs=0)
    assert result["iterations_used"] == int(expected.iterations_used[0]) >= 4 * 3
    assert result["committed_round"] == expected.committed_round[0].tolist()
    if selection != "vote":  # the kept copy is the most confident / the lowest energy of the four
        scores = expected.copy_confidences[0] if selection == "confidence" else -expected.copy_energies[0]
        assert result["selected_copy"] == int(scores.argmax())
    status = app.sudoku_views(result)[1]
    rule = {"confidence": "the most confident of", "energy": "the lowest-energy of", "vote": "a vote per cell over"}
    assert f"{rule[selection]} 4 copies under random Sudoku symmetries" in status
    assert f"{result['iterations_used']} iterations over all copies" in status
    assert (f"copy {result['selected_copy']} kept" in status) == (selection != "vote")
    caption = ("digits are the vote of all copies" if selection == "vote"
               else f"rounds of copy {result['selected_copy']}")
    assert caption in app.rounds_html(result)
    # one copy: the plain solve(), described as before
    single = app.solve_puzzle(model, PUZZLE, 3, decoding, 1, selection)
    assert single["num_copies"] == 1 and single["selected_copy"] == 0 and len(single["copy_confidences"]) == 1
    assert "copies" not in app.describe_decoding(single)


@pytest.mark.parametrize("num_copies", [0, 9, 2.5, "4", True])
def test_bad_copies_are_refused_by_name(app, models, num_copies):
    message = f"num_copies must be a whole number from 1 to 8, got {num_copies!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        app.solve_puzzle(models["sudoku"], PUZZLE, 2, "iterative", num_copies, "confidence")
    with pytest.raises(ValueError, match="selection must be one of confidence, energy, vote, got 'best'"):
        app.solve_puzzle(models["sudoku"], PUZZLE, 2, "iterative", 2, "best")


def test_the_transformer_baseline_offers_no_energy_selection(app, tmp_path):
    config = HyperSETConfig.from_preset("sudoku-transformer", hidden_size=16, num_attention_heads=2,
                                        intermediate_size=32, num_recurrences=2)
    model = HyperSETForSudoku(config).eval()
    assert [value for _, value in app.selection_choices(model)] == ["confidence", "vote"]
    demo = app.build_demo(model, mim_unavailable="none", maskgit_unavailable="none", examples_dir=tmp_path / "ex")
    assert [value for _, value in _component(demo, "sudoku-selection").choices] == ["confidence", "vote"]
    assert app.solve_puzzle(model, PUZZLE, 2, "iterative", 3, "vote")["num_copies"] == 3
    with pytest.raises(ValueError, match="energy"):
        app.solve_puzzle(model, PUZZLE, 2, "iterative", 3, "energy")


def test_generated_puzzles_and_bad_input(app, models):
    puzzle = app.new_puzzle(30, seed=3)
    assert len(puzzle) == 81 and sum(c != "." for c in puzzle) == 30 and puzzle == app.new_puzzle(30, seed=3)
    assert app.solve_puzzle(models["sudoku"], puzzle, 2)["reference"] is not None
    with pytest.raises(ValueError, match="invalid character 'x' at position 3"):
        app.solve_puzzle(models["sudoku"], "53.x" + PUZZLE[4:], 2)
    with pytest.raises(ValueError, match="expected 81 cells, got a string of 80 characters"):
        app.solve_puzzle(models["sudoku"], PUZZLE[:-1], 2)
    with pytest.raises(ValueError, match="num_recurrences"):
        app.solve_puzzle(models["sudoku"], PUZZLE, 0)
    with pytest.raises(ValueError, match="decoding must be one of iterative, one_pass, got 'two_pass'"):
        app.solve_puzzle(models["sudoku"], PUZZLE, 2, "two_pass")


def test_the_recommended_decoding_is_the_default(app, models, tmp_path):
    model = save_tiny_sudoku(tmp_path / "one-pass-model")
    assert app.recommended_decoding(model) == "iterative"
    model.config.sudoku_decoding = {"decoding": "one_pass"}
    assert app.recommended_decoding(model) == "one_pass"
    assert app.solve_puzzle(model, PUZZLE, 2)["decoding"] == "one_pass"
    model.config.sudoku_decoding = {"decoding": "one_pass", "num_copies": 3, "selection": "vote"}
    result = app.solve_puzzle(model, PUZZLE, 2)
    assert (result["num_copies"], result["selection"], result["selected_copy"]) == (3, "vote", -1)
    demo = app.build_demo(model, mim_unavailable="none", maskgit_unavailable="none", examples_dir=tmp_path / "ex")
    assert _component(demo, "sudoku-decoding").value == "one_pass"
    assert (_component(demo, "sudoku-copies").value, _component(demo, "sudoku-selection").value) == (3, "vote")


@pytest.mark.parametrize("with_processor", [True, False])
def test_reconstruction_masks_the_asked_share_and_equals_the_model(app, models, tmp_path, with_processor):
    from PIL import Image

    folder = models["mim_dir"] if with_processor else tmp_path / "mim-no-processor"
    if not with_processor:
        save_tiny_mim(folder, with_processor=False)
    bundle, why = app.load_mim_model(str(folder))
    assert why == "" and (bundle.processor is not None) == with_processor
    image = Image.fromarray((torch.arange(56 * 56).reshape(56, 56) % 251).numpy().astype("uint8"))
    result = app.reconstruct_image(bundle, image, mask_ratio=0.25, num_recurrences=4, seed=1)
    assert result["mask"].shape == (1, 16) and int(result["mask"].sum()) == 4  # 16 patches of 7x7 px
    assert torch.equal(result["mask"], app.reconstruct_image(bundle, image, 0.25, 4, seed=1)["mask"])
    with torch.no_grad():
        direct = bundle.model(result["pixel_values"], bool_masked_pos=result["mask"], num_recurrences=4,
                              output_energies=True)
    assert torch.equal(result["reconstruction"], direct.reconstruction)
    assert result["energies"][0] == direct.energies[0][0].tolist() and len(result["energies"][0]) == 5
    mean, std = (0.3, 0.4) if with_processor else (0.5, 0.5)
    expected_input = torch.from_numpy(
        (__import__("numpy").asarray(image.resize((28, 28), Image.BILINEAR), dtype="float32") / 255 - mean) / std
    )
    assert torch.allclose(result["pixel_values"][0, 0], expected_input, atol=2e-2)
    masked = __import__("numpy").asarray(result["masked_image"].resize((28, 28), Image.NEAREST))
    patch = int(result["mask"][0].nonzero()[0])
    row, column = divmod(patch, 4)
    assert (masked[7 * row : 7 * row + 7, 7 * column : 7 * column + 7] == 128).all()  # grey masked patch
    assert result["masked_image"].size == (224, 224) and result["reconstruction_image"].size == (224, 224)
    with pytest.raises(ValueError, match="mask_ratio must be strictly between 0 and 1, got 1.5"):
        app.reconstruct_image(bundle, image, 1.5, 4)


def test_missing_mim_model_is_explained(app, tmp_path):
    bundle, why = app.load_mim_model(str(tmp_path / "nothing-here"))
    assert bundle is None and "HYPERSET_MIM_MODEL" in why and "`nothing-here`" in why
    assert str(tmp_path) not in why  # the folder's name, not its path
    assert len(app.example_images(tmp_path / "examples", count=3)) == 3


@needs_diffusers
@pytest.mark.parametrize("mask_ratio", [0.3, 0.7])
def test_token_completion_keeps_the_visible_tokens_and_hides_the_asked_share(app, completer, mask_ratio):
    from PIL import Image

    from hyperset_hf.maskgit import maskgit_decode

    assert app.completion_image_format(completer) == (1, IMAGE_SIZE)  # 4x4 tokens x a downsampling of 2
    # a colour image of another size: made grey and resized to 8x8 before the pipeline sees it
    image = Image.fromarray((np.random.default_rng(0).random((24, 40, 3)) * 255).astype("uint8"))
    result = app.complete_tokens(completer, image, mask_ratio, num_steps=4, temperature=1.0, seed=2)
    expected_input = np.asarray(image.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)) / 255
    assert result["original"].shape == (1, IMAGE_SIZE, IMAGE_SIZE)
    assert np.allclose(result["original"][0], expected_input, atol=1e-6)
    hidden = result["token_mask"]
    assert hidden.shape == (GRID, GRID) and int(hidden.sum()) == round(mask_ratio * GRID * GRID)  # 5 and 11 of 16
    assert (result["completed_codes"][~hidden] == result["codes"][~hidden]).all()  # visible tokens unchanged
    assert ((result["completed_codes"] >= 0) & (result["completed_codes"] < CODEBOOK)).all()  # no mask id left
    codes = completer.image_tokenizer.encode(torch.from_numpy(result["original"]).unsqueeze(0).float() * 2 - 1)
    assert (result["codes"] == codes[0].numpy()).all()  # the codes are the tokenizer's of the prepared image

    # the displayed images: enlarged; the masked input is the input with the hidden tokens' 2x2 pixels grey
    for key in ("masked_image", "completed_image", "reconstruction_image"):
        assert result[key].size == (224, 224)
    masked = np.asarray(result["masked_image"].resize((IMAGE_SIZE, IMAGE_SIZE), Image.NEAREST)).astype(int)
    hidden_pixels = hidden.repeat(2, 0).repeat(2, 1)
    assert (masked[hidden_pixels] == 128).all()
    assert (masked[~hidden_pixels] == np.round(expected_input[~hidden_pixels] * 255)).all()
    # the PSNRs, recomputed here from the shown completion and the input
    completed = np.asarray(result["completed_image"].resize((IMAGE_SIZE, IMAGE_SIZE), Image.NEAREST)) / 255
    squared_error = (completed - result["original"][0]) ** 2
    assert result["psnr_hidden"] == pytest.approx(10 * np.log10(1 / squared_error[hidden_pixels].mean()), rel=1e-5)
    assert result["psnr_whole"] == pytest.approx(10 * np.log10(1 / squared_error.mean()), rel=1e-5)
    # the steps that ran are those of MaskGIT decoding of these hidden tokens
    mask_token_id = completer.model.config.mask_token_id
    input_ids = torch.from_numpy(result["codes"]).masked_fill(torch.from_numpy(hidden), mask_token_id)
    decoded = maskgit_decode(completer.model, input_ids.unsqueeze(0), num_steps=4)
    assert result["steps_run"] == decoded.num_masked.shape[0] - 1
    assert f"{int(hidden.sum())} of 16 tokens hidden" in result["status"]
    assert f"{result['steps_run']} of 4 decoding steps ran" in result["status"]
    assert f"{result['psnr_hidden']:.2f} dB" in result["status"]

    again = app.complete_tokens(completer, image, mask_ratio, num_steps=4, temperature=1.0, seed=2)
    assert (again["token_mask"] == hidden).all() and (again["completed_codes"] == result["completed_codes"]).all()
    for key in ("masked_image", "completed_image", "reconstruction_image"):  # the same seed gives the same images
        assert np.array_equal(np.asarray(again[key]), np.asarray(result[key]))
    assert again["status"] == result["status"]
    other = app.complete_tokens(completer, image, mask_ratio, num_steps=4, temperature=1.0, seed=3)
    assert not (other["token_mask"] == hidden).all()  # another seed hides other tokens


@needs_diffusers
@pytest.mark.parametrize(
    "image, parameters, message",
    [
        (np.zeros((8, 8), dtype="uint8"), {}, "expected an image .* got ndarray"),
        ("no-such-image.png", {}, "cannot read an image from 'no-such-image.png'"),
        (None, {"mask_ratio": 1.5}, r"`mask_ratio` must be a number in \(0, 1\], got 1.5"),
        (None, {"num_steps": 24}, r"`num_steps` \(24\) must not exceed the number of tokens \(16\)"),
        (None, {"temperature": -1.0}, "`temperature` must be a finite number >= 0"),
    ],
)
def test_token_completion_refuses_bad_input_clearly(app, completer, image, parameters, message):
    from PIL import Image

    image = Image.new("L", (8, 8), 100) if image is None else image
    arguments = {"mask_ratio": 0.4, "num_steps": 4, "temperature": 1.0, "seed": 0, **parameters}
    with pytest.raises(ValueError, match=message):
        app.complete_tokens(completer, image, **arguments)


def test_missing_maskgit_model_is_explained(app, monkeypatch, tmp_path):
    completer, why = app.load_maskgit_model(str(tmp_path / "nothing-here"))
    assert completer is None and "HYPERSET_MASKGIT_MODEL" in why and "`nothing-here`" in why
    assert str(tmp_path) not in why  # the folder's name, not its path
    # a token model without its image tokenizer: the reason says what is missing
    HyperSETForMaskedTokenModeling(tiny_token_model_config()).save_pretrained(tmp_path / "no-tokenizer")
    completer, why = app.load_maskgit_model(str(tmp_path / "no-tokenizer"))
    assert completer is None and "needs `image_tokenizer=`" in why and "`image_tokenizer/` subfolder" in why
    assert str(tmp_path) not in why
    # the default comes from the environment variable, else the shipped checkpoint or the Hub id
    mine = tmp_path / "mine"
    monkeypatch.setenv("HYPERSET_MASKGIT_MODEL", str(mine))
    completer, why = app.load_maskgit_model()
    assert completer is None and why.startswith("No masked-token (MaskGIT) model could be loaded from `mine`")
    assert str(tmp_path) not in why
    monkeypatch.delenv("HYPERSET_MASKGIT_MODEL")
    shipped = Path(app.hyperset_hf.__file__).resolve().parent / "checkpoints" / "hyperset-maskgit"
    expected = str(shipped) if (shipped / "config.json").is_file() else "hyperset-hf/hyperset-maskgit"
    assert app.default_model_name(app.MASKGIT_ENV, "hyperset-maskgit", app.MASKGIT_HUB_ID) == expected


def _component(demo, elem_id):
    return next((block for block in demo.blocks.values() if getattr(block, "elem_id", None) == elem_id), None)


def _shown_text(demo) -> str:
    """Every text the page shows before any event: Markdown and HTML values, labels, choices."""
    texts = []
    for block in demo.blocks.values():
        for attribute in ("value", "label", "choices", "info"):
            value = getattr(block, attribute, None)
            if isinstance(value, (str, list, tuple)):
                texts.append(str(value))
    return "\n".join(texts)


def _load_event(demo):
    functions = [function for function in demo.fns.values() if any(event == "load" for _, event in function.targets)]
    assert len(functions) == 1
    return functions[0]


@pytest.mark.parametrize("decoding", ["iterative", "one_pass"])
def test_the_page_opens_with_the_example_puzzle_solved(app, models, tmp_path, decoding):
    model = models["sudoku"]
    demo = app.build_demo(model, mim_unavailable="none", maskgit_unavailable="none", examples_dir=tmp_path / "ex")
    radio = _component(demo, "sudoku-decoding")
    assert radio.value == "iterative" and [value for _, value in radio.choices] == ["iterative", "one_pass"]
    assert "iterative (MaskGIT-style rounds)" in str(radio.choices) and "one pass (the paper's protocol)" in str(
        radio.choices)
    # the page load runs the Solve button's function on the example puzzle with the controls' values
    load, solve = _load_event(demo), next(f for f in demo.fns.values() if f.api_name == "solve_sudoku")
    assert load.fn is solve.fn
    assert [block.elem_id for block in load.inputs] == ["puzzle-input", "sudoku-iterations", "sudoku-decoding",
                                                        "sudoku-copies", "sudoku-selection"]
    assert [block.elem_id for block in load.outputs] == [block.elem_id for block in solve.outputs]
    values = [block.value for block in load.inputs]
    assert values[:2] == [app.EXAMPLE_PUZZLE, model.config.num_recurrences] and values[3:] == [1, "confidence"]
    grid_html, status, rounds_html, table, _ = load.fn(values[0], values[1], decoding)
    expected = app.solve_puzzle(model, app.EXAMPLE_PUZZLE, model.config.num_recurrences, decoding)
    assert f'data-solution="{expected["solution"]}"' in grid_html and "data-committed-round" in rounds_html
    assert app.describe_decoding(expected) in status and len(table) == expected["num_rounds"]
    with pytest.raises(gradio.Error, match="decoding must be one of"):
        load.fn(values[0], values[1], "two_pass")


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1] / "src" / "hyperset_hf" / "checkpoints" /
                         "hyperset-sudoku" / "config.json").is_file(), reason="no shipped Sudoku checkpoint")
def test_the_shipped_model_solves_the_example_puzzle_on_first_load(app):
    """What the Space shows when it opens: the example puzzle, solved by iterative decoding (the shipped checkpoint
    solves it; it used to open on "Not a valid Sudoku")."""
    model = app.load_sudoku_model(str(Path(app.hyperset_hf.__file__).resolve().parent / "checkpoints" /
                                      "hyperset-sudoku"))
    result = app.solve_puzzle(model, app.EXAMPLE_PUZZLE, model.config.num_recurrences)
    assert result["decoding"] == "iterative" and result["is_valid"], result["problem"]
    assert result["solution"] == result["reference"] and result["num_rounds"] > 1
    assert app.sudoku_views(result)[1].startswith("**Valid Sudoku** by iterative decoding")


def test_model_names_hide_local_folders(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "local" / "hyperset-mim").mkdir(parents=True)
    assert app.display_name("hyperset-hf/hyperset-mim") == "hyperset-hf/hyperset-mim"  # a Hub id, as it is
    assert app.display_name(str(tmp_path / "models" / "hyperset-mim")) == "hyperset-mim"
    assert app.display_name(str(tmp_path / "models" / "hyperset-mim") + "/") == "hyperset-mim"
    assert app.display_name("local/hyperset-mim") == "hyperset-mim"  # an existing folder, not a Hub id
    assert app.display_name("./hyperset-mim") == "hyperset-mim" and app.display_name("~/x/y") == "y"
    assert app.display_name(None) == ""


def test_build_demo_without_a_masked_token_model(app, models, tmp_path):
    demo = app.build_demo(models["sudoku"], mim_unavailable="no masked-image model in this test",
                          examples_dir=tmp_path / "examples", maskgit=str(tmp_path / "nothing-here"))
    explanation = _component(demo, "maskgit-unavailable")
    assert explanation is not None and "HYPERSET_MASKGIT_MODEL" in explanation.value
    assert "`nothing-here`" in explanation.value and str(tmp_path) not in _shown_text(demo)
    assert _component(demo, "complete-button").interactive is False
    demo = app.build_demo(models["sudoku"], mim_unavailable="none", examples_dir=tmp_path / "examples",
                          maskgit_unavailable="no masked-token model in this test")
    assert "no masked-token model in this test" in _component(demo, "maskgit-unavailable").value


@needs_diffusers
def test_build_demo_with_a_masked_token_model(app, models, completer, tmp_path):
    for maskgit in (completer, str(models["maskgit_dir"])):  # a pipeline, or the folder to load it from
        demo = app.build_demo(models["sudoku"], mim_unavailable="none", examples_dir=tmp_path / "examples",
                              maskgit=maskgit)
        assert _component(demo, "maskgit-unavailable") is None
        assert "(made grey and 8x8 px)" in _component(demo, "maskgit-description").value
        assert "its 4x4 VQ tokens" in _component(demo, "maskgit-description").value
        assert _component(demo, "complete-button").interactive is not False
        assert any(function.api_name == "complete_tokens" for function in demo.fns.values())
        # the model is named by its folder's name: no tab shows a local path
        assert "the model `maskgit`" in _component(demo, "maskgit-description").value
        assert str(models["maskgit_dir"]) not in _shown_text(demo)


def test_the_masked_image_tab_names_its_model_without_its_path(app, models, tmp_path):
    bundle, why = app.load_mim_model(str(models["mim_dir"]))
    assert why == "" and bundle.name == str(models["mim_dir"])
    demo = app.build_demo(models["sudoku"], bundle, examples_dir=tmp_path / "examples",
                          maskgit_unavailable="none")
    assert "the model `mim` was trained with 3" in _component(demo, "mim-description").value
    assert str(models["mim_dir"].parent) not in _shown_text(demo)


def test_model_names_come_from_the_environment(app, monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERSET_MIM_MODEL", str(tmp_path / "mine"))
    assert app.default_model_name("HYPERSET_MIM_MODEL", "hyperset-mim", "org/x") == str(tmp_path / "mine")
    monkeypatch.delenv("HYPERSET_SUDOKU_MODEL", raising=False)
    assert app.default_model_name("HYPERSET_SUDOKU_MODEL", "hyperset-sudoku", "org/x").endswith(
        os.path.join("checkpoints", "hyperset-sudoku")
    )
    assert app.default_model_name("HYPERSET_SUDOKU_MODEL", "no-such-checkpoint", "org/x") == "org/x"


# --- the app served on 127.0.0.1, called through gradio_client -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(app, models, tmp_path_factory):
    bundle, _ = app.load_mim_model(str(models["mim_dir"]))
    maskgit = {"maskgit": str(models["maskgit_dir"])} if models["maskgit_dir"] else {
        "maskgit_unavailable": "no diffusers in this test"}
    demo = app.build_demo(models["sudoku"], bundle, examples_dir=tmp_path_factory.mktemp("examples"), **maskgit)
    _, local_url, _ = app.launch_demo(demo, server_name="127.0.0.1", server_port=free_port(), share=False,
                                      prevent_thread_lock=True, quiet=True)
    yield local_url
    demo.close()


def test_app_answers_through_gradio_client(served, models):
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False)
    puzzle = client.predict(30, 7, api_name="/generate_puzzle")
    assert len(puzzle) == 81 and sum(c != "." for c in puzzle) == 30
    for decoding in ("iterative", "one_pass"):
        grid_html, status, rounds_html, table, plot = client.predict(PUZZLE, 4, decoding, api_name="/solve_sudoku")
        expected = SudokuSolvingPipeline(model=models["sudoku"])(PUZZLE, num_recurrences=4, decoding=decoding)
        assert f'data-solution="{expected["solution"]}"' in grid_html
        assert f'data-committed-round="{",".join(map(str, expected["committed_round"]))}"' in rounds_html
        assert [row[0] for row in table["data"]] == list(range(1, expected["num_rounds"] + 1))
        assert ("one pass" if decoding == "one_pass" else f"{expected['num_rounds']} rounds of 4 iterations") in status
        assert plot is not None
    _, status, _, _, _ = client.predict(PUZZLE, 4, "iterative", 3, "vote", api_name="/solve_sudoku")
    assert "a vote per cell over 3 copies" in status

    from PIL import Image

    path = models["mim_dir"] / "example.png"
    Image.new("L", (28, 28), 200).save(path)
    masked, reconstruction, _, mim_status = client.predict(handle_file(str(path)), 0.5, 2, 0,
                                                           api_name="/reconstruct")
    assert Path(masked).is_file() and Path(reconstruction).is_file()
    assert "8 of 16 patches masked" in mim_status
    with pytest.raises(Exception, match="invalid character"):
        client.predict("x" * 81, 4, "iterative", api_name="/solve_sudoku")


@needs_diffusers
def test_maskgit_tab_answers_through_gradio_client(app, served, models, completer):
    from gradio_client import Client, handle_file
    from PIL import Image

    path = models["maskgit_dir"] / "example.png"
    Image.fromarray((np.random.default_rng(4).random((16, 16)) * 255).astype("uint8")).save(path)
    client = Client(served, verbose=False)
    masked, completed, reconstruction, status = client.predict(handle_file(str(path)), 0.5, 4, 0.5, 7,
                                                               api_name="/complete_tokens")
    assert all(Path(file).is_file() for file in (masked, completed, reconstruction))
    expected = app.complete_tokens(completer, Image.open(path), 0.5, 4, 0.5, 7)
    assert status == expected["status"] and "8 of 16 tokens hidden" in status  # the same hidden tokens and PSNRs
    assert Image.open(completed).size == (224, 224)
    with pytest.raises(Exception, match="must not exceed the number of tokens"):
        client.predict(handle_file(str(path)), 0.5, 24, 1.0, 0, api_name="/complete_tokens")
