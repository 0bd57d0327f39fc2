"""The demo Space (spaces/hyperset-demo/app.py): its functions directly, and the app launched on 127.0.0.1 and called
through gradio_client. Tiny models are built in tmp folders."""

import importlib.util
import os
import socket
import sys
from pathlib import Path

import pytest
import torch


gradio = pytest.importorskip("gradio", reason="the Space tests need gradio (pip install -e '.[dev]')")
pytest.importorskip("matplotlib", reason="the Space tests need matplotlib (pip install -e '.[dev]')")

from transformers import ViTImageProcessor  # noqa: E402

from hyperset_hf import HyperSETConfig, HyperSETForMaskedImageModeling, HyperSETForSudoku  # noqa: E402
from hyperset_hf.pipeline_sudoku import SudokuSolvingPipeline  # noqa: E402


SPACE = Path(__file__).resolve().parents[1] / "spaces" / "hyperset-demo"
PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"


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


@pytest.fixture(scope="module")
def app():
    return load_app()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("space-models")
    return {
        "sudoku_dir": root / "sudoku", "sudoku": save_tiny_sudoku(root / "sudoku"),
        "mim_dir": root / "mim", "mim": save_tiny_mim(root / "mim"),
    }


# --- the functions behind the tabs -----------------------------------------------------------------------------------


def test_solve_matches_the_pipeline_and_tracks_every_iteration(app, models):
    model = models["sudoku"]
    result = app.solve_puzzle(model, PUZZLE, 5)
    expected = SudokuSolvingPipeline(model=model)(PUZZLE, num_recurrences=5)
    assert result["solution"] == expected["solution"]
    assert result["is_valid"] == expected["is_valid"]
    assert result["energies"][0] == pytest.approx(expected["energies"], abs=0)
    assert len(result["iterations"]) == 6 and result["iterations"][-1] == result["solution"]
    assert all(grid[i] == PUZZLE[i] for grid in result["iterations"] for i in range(81) if PUZZLE[i] != ".")
    assert len({grid for grid in result["iterations"]}) > 1  # the cells do change across iterations
    assert result["reference"] == "214758639695432187387916452729645318536821794841379526163284975958167243472593861"

    grid_html, status, snapshots, table, figure = app.sudoku_views(result)
    assert f'data-solution="{result["solution"]}"' in grid_html and grid_html.count("<td") == 81
    assert f"`{result['solution']}`" in status and f"of {PUZZLE.count('.')} blank cells match" in status
    assert [row[0] for row in table] == list(range(6))
    assert [row[1] for row in table][1:] == [
        sum(a != b for a, b in zip(result["iterations"][i], result["iterations"][i - 1])) for i in range(1, 6)
    ]
    line = figure.axes[0].lines[0]
    assert list(line.get_xdata()) == list(range(6))
    assert list(line.get_ydata()) == pytest.approx(result["energies"][0])
    assert snapshots.count('data-iteration="') == 6


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
    assert bundle is None and "HYPERSET_MIM_MODEL" in why and "nothing-here" in why
    assert len(app.example_images(tmp_path / "examples", count=3)) == 3


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
    demo = app.build_demo(models["sudoku"], bundle, examples_dir=tmp_path_factory.mktemp("examples"))
    _, local_url, _ = app.launch_demo(demo, server_name="127.0.0.1", server_port=free_port(), share=False,
                                      prevent_thread_lock=True, quiet=True)
    yield local_url
    demo.close()


def test_app_answers_through_gradio_client(served, models):
    from gradio_client import Client, handle_file

    client = Client(served, verbose=False)
    puzzle = client.predict(30, 7, api_name="/generate_puzzle")
    assert len(puzzle) == 81 and sum(c != "." for c in puzzle) == 30
    grid_html, status, _, table, plot = client.predict(PUZZLE, 4, api_name="/solve_sudoku")
    expected = SudokuSolvingPipeline(model=models["sudoku"])(PUZZLE, num_recurrences=4)
    assert f'data-solution="{expected["solution"]}"' in grid_html
    assert [row[0] for row in table["data"]] == [0, 1, 2, 3, 4]
    assert plot is not None

    from PIL import Image

    path = models["mim_dir"] / "example.png"
    Image.new("L", (28, 28), 200).save(path)
    masked, reconstruction, _, mim_status = client.predict(handle_file(str(path)), 0.5, 2, 0,
                                                           api_name="/reconstruct")
    assert Path(masked).is_file() and Path(reconstruction).is_file()
    assert "8 of 16 patches masked" in mim_status
    with pytest.raises(Exception, match="invalid character"):
        client.predict("x" * 81, 4, api_name="/solve_sudoku")
