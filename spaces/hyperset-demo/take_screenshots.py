#!/usr/bin/env python
# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Launch the demo on 127.0.0.1 and save one PNG per tab, taken with headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium):

    HF_HUB_OFFLINE=1 python spaces/hyperset-demo/take_screenshots.py [--output-dir spaces/hyperset-demo]

The models are the app's defaults ($HYPERSET_SUDOKU_MODEL / $HYPERSET_MIM_MODEL / $HYPERSET_MASKGIT_MODEL, else the
package's shipped checkpoints). Writes `screenshot-sudoku.png` (a generated puzzle, solved by iterative decoding,
with the round of every blank), `screenshot-masked-image.png` (the first example image reconstructed, or the "no
model" explanation when there is no masked-image checkpoint) and `screenshot-masked-tokens.png` (the hidden VQ
tokens of the first example image completed, or the "no model" explanation when there is no masked-token checkpoint).

The browser helpers (`find_chromium`, `start_browser`, `serve`, `run_image_tab`, ...) are also used by
`tests/test_space_browser.py`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
CHROMIUM_BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMEDRIVER_BINARIES = ("chromedriver",)


def find_chromium() -> tuple[str, str] | None:
    """`(browser, driver)` paths from $CHROMIUM_BINARY / $CHROMEDRIVER or the PATH; `None` when either is missing."""
    browser = os.environ.get("CHROMIUM_BINARY") or next(filter(None, map(shutil.which, CHROMIUM_BINARIES)), None)
    driver = os.environ.get("CHROMEDRIVER") or next(filter(None, map(shutil.which, CHROMEDRIVER_BINARIES)), None)
    return (browser, driver) if browser and driver else None


def start_browser(width: int = 1280, height: int = 2000):
    """A headless Chromium selenium driver (no sandbox, no GPU, no downloads by selenium-manager)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("Chromium and chromedriver not found: apt-get install chromium chromium-driver")
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_app():
    sys.path.insert(0, str(HERE))
    try:
        import app
    finally:
        sys.path.remove(str(HERE))
    return app


def serve(demo, app=None) -> str:
    """Launches `demo` on 127.0.0.1 (a free port, no share link, not blocking) and returns its URL."""
    app = app or load_app()
    _, url, _ = app.launch_demo(demo, server_name="127.0.0.1", server_port=free_port(), share=False,
                                prevent_thread_lock=True, quiet=True)
    return url


def wait_for(driver, css: str, timeout: float = 60.0, condition=None):
    """The first element matching `css` (and `condition(element)`), waiting up to `timeout` seconds."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        for element in driver.find_elements(By.CSS_SELECTOR, css):
            try:
                if condition is None or condition(element):
                    return element
            except Exception:  # noqa: BLE001 - stale element while the page re-renders
                pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no element {css!r} within {timeout} s")
        time.sleep(0.2)


def click_tab(driver, label: str, timeout: float = 60.0) -> None:
    """Clicks the tab labelled `label` (waiting up to `timeout` seconds for the page to render it)."""
    try:
        tab = wait_for(driver, "button[role='tab']", timeout, lambda button: button.text.strip() == label)
    except TimeoutError:
        raise LookupError(f"no tab {label!r} within {timeout} s") from None
    tab.click()


def type_puzzle(driver, puzzle: str) -> None:
    """Enters `puzzle` in the puzzle box as a user's paste would (value set + an `input` event: key-by-key typing
    can lose characters while the page re-renders)."""
    box = wait_for(driver, "#puzzle-input textarea")
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        box, puzzle,
    )
    wait_for(driver, "#puzzle-input textarea", 10, lambda element: element.get_attribute("value") == puzzle)


def read_solved_grid(driver, previous: str | None = None, timeout: float = 60.0) -> str:
    """The 81 digits shown in the solved-grid table (waits until it appears and differs from `previous`)."""
    from selenium.webdriver.common.by import By

    table = wait_for(driver, "#solved-grid table.sudoku-grid", timeout,
                     lambda element: element.get_attribute("data-solution") != previous)
    cells = table.find_elements(By.CSS_SELECTOR, "td")
    return "".join(cell.text.strip() for cell in cells)


def run_image_tab(driver, tab: str, image_id: str, button_id: str, example_image: str | None,
                  outputs: tuple[str, ...], timeout: float = 60.0) -> bool:
    """Opens the tab labelled `tab`; when its `#button_id` is enabled (the tab has a model) and there is an
    `example_image`, uploads it into the `#image_id` image input, clicks the button and waits for every CSS selector
    in `outputs`. Returns whether it ran."""
    click_tab(driver, tab)
    time.sleep(1.0)
    button = wait_for(driver, f"#{button_id}")
    if not (button.is_enabled() and example_image):
        return False
    wait_for(driver, f"#{image_id} input[type='file']").send_keys(example_image)
    wait_for(driver, f"#{image_id} img")
    time.sleep(1.0)
    button.click()
    for css in outputs:
        wait_for(driver, css, timeout)
    time.sleep(1.0)
    return True


def take_screenshots(url: str, output_dir: Path, example_image: str | None) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    driver = start_browser()
    written = []

    def save(name: str) -> None:
        written.append(output_dir / name)
        driver.save_screenshot(str(written[-1]))

    try:
        driver.get(url)
        opened = read_solved_grid(driver)  # the example puzzle, solved when the page opens
        wait_for(driver, "#generate-button").click()
        time.sleep(1.0)  # the generated puzzle replaces the example
        wait_for(driver, "#solve-button").click()
        read_solved_grid(driver, previous=opened)
        wait_for(driver, "#sudoku-energy img, #sudoku-energy svg, #sudoku-energy canvas")
        time.sleep(1.0)
        save("screenshot-sudoku.png")

        run_image_tab(driver, "Masked image", "mim-image", "reconstruct-button", example_image,
                      ("#reconstruction img", "#mim-energy img, #mim-energy svg, #mim-energy canvas"))
        save("screenshot-masked-image.png")

        run_image_tab(driver, "Masked tokens (MaskGIT)", "maskgit-image", "complete-button", example_image,
                      ("#maskgit-completion img", "#maskgit-reconstruction img"))
        save("screenshot-masked-tokens.png")
    finally:
        driver.quit()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = load_app()
    examples = app.example_images()
    demo = app.build_demo()
    try:
        url = serve(demo, app)
        for path in take_screenshots(url, args.output_dir, examples[0] if examples else None):
            print(f"wrote {path}")
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
