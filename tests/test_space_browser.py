"""End to end in a real browser: headless Chromium (Debian's chromium + chromium-driver, driven by selenium) opens the
demo served on 127.0.0.1, types a puzzle, solves it and reads the solved grid from the page."""

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


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_solve_a_puzzle_in_headless_chromium(tmp_path):
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    screenshots = _load("hyperset_demo_screenshots", SPACE / "take_screenshots.py")
    if screenshots.find_chromium() is None:
        if os.environ.get("HYPERSET_REQUIRE_BROWSER") == "1":  # set by .ci/run once chromium is installed
            pytest.fail("HYPERSET_REQUIRE_BROWSER=1 but no Chromium + chromedriver found")
        pytest.skip("no Chromium + chromedriver found (apt-get install chromium chromium-driver); CI installs them")
    app = _load("hyperset_demo_app", SPACE / "app.py")
    from test_space_demo import save_tiny_sudoku

    model = save_tiny_sudoku(tmp_path / "sudoku")
    demo = app.build_demo(model, mim_unavailable="no masked-image model in this test", examples_dir=tmp_path / "ex")
    driver = None
    try:
        url = screenshots.serve(demo, app)
        driver = screenshots.start_browser(1280, 1600)
        driver.get(url)
        screenshots.type_puzzle(driver, PUZZLE)
        screenshots.wait_for(driver, "#solve-button").click()
        shown = screenshots.read_solved_grid(driver)
        expected = SudokuSolvingPipeline(model=model)(PUZZLE, num_recurrences=model.config.num_recurrences)
        assert shown == expected["solution"]
        assert all(shown[i] == PUZZLE[i] for i in range(81) if PUZZLE[i] != ".")  # the givens are on the page
        status = screenshots.wait_for(driver, "#sudoku-status").text
        assert expected["solution"] in status
        screenshots.click_tab(driver, "Masked image")
        explanation = screenshots.wait_for(driver, "#mim-unavailable", condition=lambda element: element.is_displayed())
        assert "No masked-image model available" in explanation.text
        assert not screenshots.wait_for(driver, "#reconstruct-button").is_enabled()
    finally:
        if driver is not None:
            driver.quit()
        demo.close()
