"""End to end in a real browser: headless Chromium (Debian's chromium + chromium-driver, driven by selenium) opens the
demo served on 127.0.0.1, reads the example puzzle solved on load, types a puzzle, solves it (iterative decoding, then
one pass) and reads the solved grid from the page, then completes the hidden VQ tokens of an example image in the
masked-token tab. Tiny models are built in tmp folders (nothing from the Hub)."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest


pytest.importorskip("gradio", reason="the Space tests need gradio (pip install -e '.[dev]')")
pytest.importorskip("selenium", reason="the browser test needs selenium (pip install -e '.[dev]')")

from hyperset_hf.pipeline_sudoku import SudokuSolvingPipeline  # noqa: E402


SPACE = Path(__file__).resolve().parents[1] / "spaces" / "hyperset-demo"
PUZZLE = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."
# the masked-token tab's defaults: mask ratio, decoding steps, temperature, seed
COMPLETION_DEFAULTS = (0.4, 12, 1.0, 0)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def screenshots():
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    module = _load("hyperset_demo_screenshots", SPACE / "take_screenshots.py")
    if module.find_chromium() is None:
        if os.environ.get("HYPERSET_REQUIRE_BROWSER") == "1":  # set by .ci/run once chromium is installed
            pytest.fail("HYPERSET_REQUIRE_BROWSER=1 but no Chromium + chromedriver found")
        pytest.skip("no Chromium + chromedriver found (apt-get install chromium chromium-driver); CI installs them")
    return module


@pytest.fixture(scope="module")
def session(screenshots, tmp_path_factory):
    """The demo (tiny Sudoku model, no masked-image model, a tiny masked-token model when diffusers is installed)
    served on 127.0.0.1 and a headless Chromium: a dict with `app`, `url`, `driver`, `sudoku`, `maskgit` (the
    completion pipeline, or `None`) and `examples` (the example image paths)."""
    from test_space_demo import HAVE_DIFFUSERS, save_tiny_maskgit, save_tiny_sudoku

    app = _load("hyperset_demo_app", SPACE / "app.py")
    root = tmp_path_factory.mktemp("space-browser")
    sudoku = save_tiny_sudoku(root / "sudoku")
    maskgit = None
    if HAVE_DIFFUSERS:
        save_tiny_maskgit(root / "maskgit")
        maskgit, why = app.load_maskgit_model(str(root / "maskgit"))
        assert why == "", why
        maskgit_arguments = {"maskgit": maskgit}
    else:
        maskgit_arguments = {"maskgit_unavailable": "no diffusers in this test"}
    demo = app.build_demo(sudoku, mim_unavailable="no masked-image model in this test", examples_dir=root / "ex",
                          **maskgit_arguments)
    driver = None
    try:
        url = screenshots.serve(demo, app)
        driver = screenshots.start_browser(1280, 1600)
        yield {"app": app, "url": url, "driver": driver, "sudoku": sudoku, "maskgit": maskgit,
               "examples": app.example_images(root / "ex")}
    finally:
        if driver is not None:
            driver.quit()
        demo.close()


def test_solve_a_puzzle_in_headless_chromium(screenshots, session):
    driver, model, app = session["driver"], session["sudoku"], session["app"]
    iterations = model.config.num_recurrences
    driver.get(session["url"])
    # the page opens with the example puzzle solved by iterative decoding, and the round of every blank
    opened = screenshots.read_solved_grid(driver)
    on_load = app.solve_puzzle(model, app.EXAMPLE_PUZZLE, iterations)
    assert on_load["decoding"] == "iterative" and opened == on_load["solution"]
    assert "by iterative decoding" in screenshots.wait_for(driver, "#sudoku-status").text
    rounds = screenshots.wait_for(driver, "#sudoku-rounds table.sudoku-rounds")
    assert rounds.get_attribute("data-committed-round") == ",".join(map(str, on_load["committed_round"]))

    screenshots.type_puzzle(driver, PUZZLE)
    screenshots.wait_for(driver, "#solve-button").click()
    shown = screenshots.read_solved_grid(driver, previous=opened)
    expected = SudokuSolvingPipeline(model=model)(PUZZLE, num_recurrences=iterations)  # iterative, as the page
    assert shown == expected["solution"]
    assert all(shown[i] == PUZZLE[i] for i in range(81) if PUZZLE[i] != ".")  # the givens are on the page
    status = screenshots.wait_for(driver, "#sudoku-status").text
    assert expected["solution"] in status and f"{expected['num_rounds']} rounds" in status

    # one pass, the paper's protocol
    screenshots.wait_for(driver, "#sudoku-decoding label",
                         condition=lambda element: element.text.strip() == "one pass (the paper's protocol)").click()
    screenshots.wait_for(driver, "#solve-button").click()
    status = screenshots.wait_for(driver, "#sudoku-status", condition=lambda element: "one pass" in element.text).text
    expected = SudokuSolvingPipeline(model=model)(PUZZLE, num_recurrences=iterations, decoding="one_pass")
    assert expected["solution"] in status
    assert screenshots.read_solved_grid(driver) == expected["solution"]
    assert not screenshots.run_image_tab(driver, "Masked image", "mim-image", "reconstruct-button",
                                         session["examples"][0], ("#reconstruction img",))
    explanation = screenshots.wait_for(driver, "#mim-unavailable", condition=lambda element: element.is_displayed())
    assert "No masked-image model available" in explanation.text
    assert not screenshots.wait_for(driver, "#reconstruct-button").is_enabled()


def test_complete_hidden_tokens_in_headless_chromium(screenshots, session):
    if session["maskgit"] is None:
        pytest.skip("the masked-token tab's image tokenizer is a diffusers VQModel (pip install diffusers)")
    from PIL import Image

    driver, app, example = session["driver"], session["app"], session["examples"][0]
    driver.get(session["url"])
    assert screenshots.run_image_tab(driver, "Masked tokens (MaskGIT)", "maskgit-image", "complete-button", example,
                                     ("#maskgit-masked-input img", "#maskgit-completion img",
                                      "#maskgit-reconstruction img"))
    status = screenshots.wait_for(driver, "#maskgit-status", condition=lambda element: "hidden" in element.text).text
    expected = app.complete_tokens(session["maskgit"], Image.open(example), *COMPLETION_DEFAULTS)
    hidden = int(expected["token_mask"].sum())
    assert hidden == round(COMPLETION_DEFAULTS[0] * 16)  # 40 % of the tiny model's 4x4 tokens
    assert f"{hidden} of 16 tokens hidden" in status
    assert status == expected["status"].replace("**", "")  # the same hidden tokens, decoding and PSNRs as the app's
