# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Hyper-SET demo Space: a Sudoku solver (the model's `solve()`: iterative decoding by default, one pass on demand;
the round of every blank) and masked-image reconstruction, both showing the energy of every iteration, and MaskGIT
completion of hidden VQ tokens. No tab shows a local folder path: a model from a folder is named by the folder's name.

Models come from environment variables (a local folder or a Hub id):

- `HYPERSET_SUDOKU_MODEL`: default the Sudoku checkpoint shipped in the package (`hyperset_hf/checkpoints/
  hyperset-sudoku`), else the Hub id `hyperset-hf/hyperset-sudoku`;
- `HYPERSET_MIM_MODEL`: default the package's `hyperset_hf/checkpoints/hyperset-mim` when it exists, else the Hub id
  `hyperset-hf/hyperset-mim`. When no masked-image model can be loaded, the tab says why instead of failing.
- `HYPERSET_MASKGIT_MODEL`: a masked-token model (`HyperSETForMaskedTokenModeling`) with its diffusers VQ tokenizer in
  the `image_tokenizer/` subfolder; default the package's `hyperset_hf/checkpoints/hyperset-maskgit` when it exists,
  else the Hub id `hyperset-hf/hyperset-maskgit`. When none can be loaded, the tab says why instead of failing.

Run locally: `python spaces/hyperset-demo/app.py` (serves on http://127.0.0.1:7860). `build_demo(...)` builds the
`gr.Blocks` app; `solve_puzzle`, `reconstruct_image` and `complete_tokens` are the pure functions behind the three
tabs.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from transformers import (  # noqa: E402
    AutoImageProcessor,
    AutoModelForMaskedImageModeling,
    AutoModelForTokenClassification,
    ViTImageProcessor,
    pipeline,
)

import hyperset_hf  # noqa: E402,F401  (registers the Hyper-SET models with the Auto classes)
from hyperset_hf.input_checks import as_count  # noqa: E402
from hyperset_hf.maskgit import IMAGE_TOKENIZER_SUBFOLDER, maskgit_schedule  # noqa: E402
from hyperset_hf.pipeline_image_completion import IMAGE_COMPLETION_TASK, ImageCompletionPipeline  # noqa: E402
from hyperset_hf.modeling_hyperset import SUDOKU_DECODING_DEFAULTS, SUDOKU_SELECTIONS  # noqa: E402
from hyperset_hf.pipeline_sudoku import parse_puzzle, validate_solution  # noqa: E402
from hyperset_hf.data.sudoku import check_puzzle, count_solutions, generate_puzzle, grid_to_string, solve  # noqa: E402


SUDOKU_ENV = "HYPERSET_SUDOKU_MODEL"
MIM_ENV = "HYPERSET_MIM_MODEL"
MASKGIT_ENV = "HYPERSET_MASKGIT_MODEL"
SUDOKU_HUB_ID = "hyperset-hf/hyperset-sudoku"
MIM_HUB_ID = "hyperset-hf/hyperset-mim"
MASKGIT_HUB_ID = "hyperset-hf/hyperset-maskgit"
MAX_ITERATIONS = 64
EXAMPLE_PUZZLE = ".147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61"
DISPLAY_SIZE = 224  # images are shown enlarged (nearest neighbour): Fashion-MNIST is 28x28
MASK_GRAY = 0.5
DECODING_SCHEDULE = "arccos"  # MaskGIT's reveal schedule, as the paper
PROBE_TOKENS = 16  # the probe image that measures the tokenizer's downsampling is PROBE_TOKENS x the token grid
DECODINGS = ("iterative", "one_pass")  # `HyperSETForSudoku.solve(decoding=...)`
DECODING_CHOICES = [("iterative (MaskGIT-style rounds)", "iterative"), ("one pass (the paper's protocol)", "one_pass")]
MAX_COPIES = 8  # `solve(num_copies=K)`: K copies under random Sudoku symmetries, one grid kept per puzzle
SELECTION_CHOICES = [("the most confident copy", "confidence"), ("the copy of lowest energy", "energy"),
                     ("a vote per cell", "vote")]  # `solve(selection=...)`; the Transformer baseline has no energy


# ---------------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------------


def default_model_name(env_variable: str, checkpoint: str, hub_id: str) -> str:
    """`$env_variable` if set, else the package's shipped checkpoint folder `checkpoints/<checkpoint>` if it holds a
    config.json, else the Hub id."""
    configured = os.environ.get(env_variable, "").strip()
    if configured:
        return configured
    folder = Path(hyperset_hf.__file__).resolve().parent / "checkpoints" / checkpoint
    return str(folder) if (folder / "config.json").is_file() else hub_id


@dataclass
class MimBundle:
    """A masked-image model with its image processor (`None` when the folder has none)."""

    model: Any
    processor: Any
    name: str


def load_sudoku_model(name: str | None = None):
    name = name or default_model_name(SUDOKU_ENV, "hyperset-sudoku", SUDOKU_HUB_ID)
    return AutoModelForTokenClassification.from_pretrained(name).eval()


def display_name(name: str | os.PathLike | None) -> str:
    """How the app names a model: a Hub id (`owner/name`) as it is, a local folder by its base name only, so that no
    tab shows a path of the machine the app runs on."""
    if not name:
        return ""
    name = str(name)
    path = Path(name).expanduser()
    hub_id = name.count("/") == 1 and not name.startswith((".", "/", "~")) and "\\" not in name and not path.exists()
    return name if hub_id else (path.name or name)


def _hide_folders(text: str, name: str) -> str:
    """`text` with the folder `name` (as given, absolute and resolved) replaced by its `display_name`."""
    shown = display_name(name)
    if shown == name:
        return text
    path = Path(name).expanduser()
    for form in sorted({name, str(path), os.path.abspath(path), str(path.resolve())}, key=len, reverse=True):
        text = text.replace(form, shown)
    return text


def unavailable_reason(kind: str, name: str, error: Exception, env_variable: str, expected: str) -> str:
    """The explanation a tab shows when its model (a `kind`, e.g. "masked-image model") could not be loaded from
    `name`: the error, and how to point `env_variable` at `expected` (what a suitable folder holds). A local folder
    is named by its base name only (`display_name`), in the error too."""
    message = _hide_folders(str(error), name)[:300]
    return (
        f"No {kind} could be loaded from `{display_name(name)}` ({type(error).__name__}: {message}). Set the "
        f"environment variable `{env_variable}` to {expected} and restart the app."
    )


def load_mim_model(name: str | None = None) -> tuple[MimBundle | None, str]:
    """Loads the masked-image model; returns `(bundle, "")` or `(None, why_not)`."""
    name = name or default_model_name(MIM_ENV, "hyperset-mim", MIM_HUB_ID)
    try:
        model = AutoModelForMaskedImageModeling.from_pretrained(name).eval()
    except Exception as error:  # noqa: BLE001 - any failure is explained in the tab
        return None, unavailable_reason(
            "masked-image model", name, error, MIM_ENV,
            "a folder saved by `examples/image-pretraining/run_mim.py` (or a Hub id of a Hyper-SET masked-image model)",
        )
    processor = None
    # AutoImageProcessor needs torchvision on transformers 5.17; the example scripts save a ViTImageProcessor
    for processor_class in (AutoImageProcessor, ViTImageProcessor):
        try:
            processor = processor_class.from_pretrained(name)
            break
        except Exception:  # noqa: BLE001 - no processor saved: fall back to resize + [0, 1] + mean/std 0.5
            continue
    return MimBundle(model, processor, name), ""


def load_maskgit_model(name: str | None = None) -> tuple[ImageCompletionPipeline | None, str]:
    """Loads the `"masked-image-completion"` pipeline (a masked-token model and the diffusers VQ tokenizer in its
    `image_tokenizer/` subfolder); returns `(completer, "")` or `(None, why_not)`."""
    name = name or default_model_name(MASKGIT_ENV, "hyperset-maskgit", MASKGIT_HUB_ID)
    try:
        completer = pipeline(IMAGE_COMPLETION_TASK, model=name)
        completion_image_format(completer)  # a tokenizer whose image size cannot be measured is refused here
        return completer, ""
    except Exception as error:  # noqa: BLE001 - any failure is explained in the tab
        return None, unavailable_reason(
            "masked-token (MaskGIT) model", name, error, MASKGIT_ENV,
            "a folder (or Hub id) with a `HyperSETForMaskedTokenModeling` (as saved by "
            "`examples/image-pretraining/run_maskgit.py`) and its diffusers VQ tokenizer in the "
            f"`{IMAGE_TOKENIZER_SUBFOLDER}/` subfolder",
        )


# ---------------------------------------------------------------------------------------------------------------------
# Sudoku
# ---------------------------------------------------------------------------------------------------------------------


def new_puzzle(num_givens: int = 30, seed: int = 0) -> str:
    """A generated puzzle with a unique solution and exactly `num_givens` givens, as 81 characters ('.' = blank)."""
    puzzle, _ = generate_puzzle(int(num_givens), np.random.default_rng(int(seed)))
    return grid_to_string(puzzle).replace("0", ".")


def recommended_options(model) -> dict[str, Any]:
    """The decoding options `model.solve()` uses when not told: `SUDOKU_DECODING_DEFAULTS` updated by the
    checkpoint's recommendation (`config.sudoku_decoding`)."""
    return {**SUDOKU_DECODING_DEFAULTS, **(getattr(model.config, "sudoku_decoding", None) or {})}


def recommended_decoding(model) -> str:
    """The decoding `model.solve()` uses when not told: the checkpoint's recommendation, else `"iterative"`."""
    return recommended_options(model)["decoding"]


def selection_choices(model) -> list[tuple[str, str]]:
    """The copy rules the model offers: all of `SELECTION_CHOICES` for Hyper-SET, no energy for the Transformer
    baseline."""
    has_energy = getattr(model.config, "layer_type", "hyperset") == "hyperset"
    return [(label, value) for label, value in SELECTION_CHOICES if has_energy or value != "energy"]


def solve_puzzle(model, puzzle, num_recurrences: int, decoding: str | None = None, num_copies: int | None = None,
                 selection: str | None = None) -> dict[str, Any]:
    """Solves the puzzle with `model.solve()` and returns the solved grid, the round of every blank and the energies.

    Args:
        model: a Hyper-SET Sudoku model (`HyperSETForSudoku`).
        puzzle: 81 characters (`.` or `0` for blanks; a drawn grid works too) or anything `parse_puzzle` reads.
        num_recurrences (`int`): iterations of the model per round.
        decoding (`str`, *optional*): `"iterative"` (MaskGIT-style rounds, each committing the most confident blanks)
            or `"one_pass"` (every blank from one forward pass, the paper's protocol); default: the model's
            recommendation (`recommended_decoding`).
        num_copies (`int`, *optional*): test-time selection: decode this many copies of the puzzle under random
            Sudoku symmetries (copy 0 the puzzle itself) and keep one grid; default: the model's recommendation (1).
        selection (`str`, *optional*): how the grid is kept with `num_copies > 1`: `"confidence"` (the most
            confident copy), `"energy"` (the copy whose completed grid has the lowest energy) or `"vote"` (the
            most frequent digit per cell); default: the model's recommendation.

    Returns a dict with `puzzle`, `solution` (81-character strings), `decoding`, `num_recurrences`, `num_copies`,
    `selection`, `selected_copy` (the copy kept, -1 for a vote), `copy_confidences` (one float per copy),
    `num_rounds` (the forward passes), `iterations_used` (all iterations over the rounds and copies),
    `committed_round` (81 ints: the round, 0-based, in which each blank was committed, -1 for the givens),
    `rounds` (the grid after every round: 81 characters, `'0'` for the blanks not committed yet), `energies` (the
    total energy of the initial state and after every iteration of the last round: one list of `num_recurrences + 1`
    floats per layer, or `None` for the Transformer baseline), `confidence`, `is_valid`, `problem` and `reference`
    (the puzzle's solution when it has exactly one, else `None`). With several copies, the rounds, energies and
    confidence are those of the copy kept (for a vote, of the most confident copy). No Sudoku rule helps the model
    (`rule_mask=False`).

    Raises:
        `ValueError`: for a malformed puzzle or clashing givens (naming the problem), a bad `num_recurrences`, an
            unknown decoding, a bad number of copies or an unknown selection.
    """
    grid = parse_puzzle(puzzle)
    check_puzzle(grid, require_solvable=False)
    num_recurrences = as_count(int(num_recurrences), "num_recurrences")
    recommended = recommended_options(model)
    decoding = decoding or recommended["decoding"]
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
    num_copies = recommended["num_copies"] if num_copies is None else num_copies
    if isinstance(num_copies, float) and num_copies.is_integer():  # a slider's value
        num_copies = int(num_copies)
    if not isinstance(num_copies, int) or isinstance(num_copies, bool) or not 1 <= num_copies <= MAX_COPIES:
        raise ValueError(f"num_copies must be a whole number from 1 to {MAX_COPIES}, got {num_copies!r}")
    selection = selection or recommended["selection"]
    if selection not in SUDOKU_SELECTIONS:
        raise ValueError(f"selection must be one of {', '.join(SUDOKU_SELECTIONS)}, got {selection!r}")
    input_ids = torch.as_tensor(grid, dtype=torch.long).unsqueeze(0)
    with torch.no_grad():
        decoded = model.solve(input_ids, num_recurrences, decoding=decoding, rule_mask=False, num_copies=num_copies,
                              selection=selection, return_dict=True)
    solution = grid_to_string(decoded.grids[0].numpy())
    committed_round = decoded.committed_round[0].tolist()
    num_rounds = int(decoded.num_rounds[0])
    rounds = ["".join(digit if committed <= step else "0" for digit, committed in zip(solution, committed_round))
              for step in range(num_rounds)]  # the givens (round -1) in every one
    is_valid, problem = validate_solution(solution, grid)
    reference = None
    if count_solutions(grid, limit=2) == 1:
        reference = grid_to_string(solve(grid))
    energies = None
    if decoded.energy_trace is not None:  # (batch, total / attention / feedforward, layers, iterations + 1)
        energies = decoded.energy_trace[0, 0].tolist()
    return {
        "puzzle": grid_to_string(grid),
        "solution": solution,
        "decoding": decoding,
        "num_recurrences": num_recurrences,
        "num_copies": num_copies,
        "selection": selection,
        "selected_copy": int(decoded.selected_copy[0]) if num_copies > 1 else 0,
        "copy_confidences": (decoded.copy_confidences[0].tolist() if num_copies > 1
                             else [float(decoded.confidence[0])]),
        "num_rounds": num_rounds,
        "iterations_used": int(decoded.iterations_used[0]),
        "committed_round": committed_round,
        "rounds": rounds,
        "energies": energies,
        "confidence": float(decoded.confidence[0]),
        "is_valid": is_valid,
        "problem": problem,
        "reference": reference,
    }


def grid_html(solution: str, puzzle: str, reference: str | None = None, changed: set[int] | None = None,
              element_id: str | None = None, cell_size: int = 34) -> str:
    """A 9x9 HTML table: givens bold on grey, predicted digits in blue (red when they differ from the reference
    solution), changed cells outlined. The table carries `data-solution` with the 81 digits."""
    rows = []
    for row in range(9):
        cells = []
        for column in range(9):
            index = 9 * row + column
            given = puzzle[index] != "0"
            wrong = reference is not None and not given and solution[index] != reference[index]
            style = [f"width:{cell_size}px", f"height:{cell_size}px", "text-align:center", "padding:0",
                     f"font-size:{cell_size // 2}px", "border:1px solid #bbb"]
            if column % 3 == 0:
                style.append("border-left:2px solid #333")
            if row % 3 == 0:
                style.append("border-top:2px solid #333")
            if column == 8:
                style.append("border-right:2px solid #333")
            if row == 8:
                style.append("border-bottom:2px solid #333")
            style.append("font-weight:bold;background:#eee;color:#111" if given else
                         ("color:#c62828" if wrong else "color:#1565c0"))
            if changed and index in changed:
                style.append("background:#fff59d")
            cells.append(f'<td data-cell="{index}" style="{";".join(style)}">{solution[index]}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attribute = f' id="{element_id}"' if element_id else ""
    return (f'<table{attribute} class="sudoku-grid" data-solution="{solution}" '
            f'style="border-collapse:collapse;margin:4px">' + "".join(rows) + "</table>")


def energy_figure(energies: list[list[float]] | None, title: str):
    """Energy against the iteration (one line per layer)."""
    figure, axes = plt.subplots(figsize=(6, 3.2), dpi=100)
    if energies is None:
        axes.text(0.5, 0.5, "This model has no energy (Transformer baseline)", ha="center", va="center")
        axes.set_axis_off()
    else:
        for layer, values in enumerate(energies):
            label = f"layer {layer + 1}" if len(energies) > 1 else "total energy"
            axes.plot(range(len(values)), values, marker="o", markersize=3, label=label)
        axes.set_xlabel("iteration (0 = initial state)")
        axes.set_ylabel("energy")
        axes.grid(alpha=0.3)
        axes.legend()
    axes.set_title(title)
    figure.tight_layout()
    return figure


def _round_colour(step: int, num_rounds: int) -> tuple[str, str]:
    """`(background, text colour)` of a blank committed in round `step` (0-based) of `num_rounds`: light blue for the
    first round to dark blue for the last."""
    share = step / max(1, num_rounds - 1)
    light, dark = (227, 242, 253), (13, 71, 161)
    red, green, blue = (round(a + share * (b - a)) for a, b in zip(light, dark))
    return f"rgb({red},{green},{blue})", "#fff" if share > 0.5 else "#111"


def rounds_html(result: dict[str, Any], cell_size: int = 30) -> str:
    """A 9x9 HTML table of the round in which each blank was committed (1 = the first round), a heat map from light
    (early) to dark (late); givens grey with their digit; a digit that differs from the puzzle's unique solution
    outlined in red. The table carries `data-committed-round` (the 81 rounds, 0-based, -1 for the givens)."""
    puzzle, solution, reference = result["puzzle"], result["solution"], result["reference"]
    committed_round, num_rounds = result["committed_round"], result["num_rounds"]
    rows = []
    for row in range(9):
        cells = []
        for column in range(9):
            index = 9 * row + column
            step = committed_round[index]
            style = [f"width:{cell_size}px", f"height:{cell_size}px", "text-align:center", "padding:0",
                     f"font-size:{cell_size // 2}px", "border:1px solid #bbb"]
            for condition, side in ((column % 3 == 0, "left"), (row % 3 == 0, "top"), (column == 8, "right"),
                                    (row == 8, "bottom")):
                if condition:
                    style.append(f"border-{side}:2px solid #333")
            if step < 0:
                style.append("font-weight:bold;background:#eee;color:#777")
                text = puzzle[index]
            else:
                background, colour = _round_colour(step, num_rounds)
                style.append(f"background:{background};color:{colour}")
                if reference is not None and solution[index] != reference[index]:
                    style.append("outline:2px solid #c62828;outline-offset:-3px")
                text = str(step + 1)
            cells.append(f'<td data-cell="{index}" data-round="{step}" style="{";".join(style)}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if result["decoding"] == "one_pass":
        caption = "One pass: every blank was committed in the single forward pass (round 1)."
    else:
        caption = (f"Round in which each blank was committed, 1 to {num_rounds} (light: early, dark: late; grey: the "
                   f"givens).")
    if result.get("num_copies", 1) > 1:
        caption += (" The rounds of the most confident copy; the digits are the vote of all copies." if
                    result["selection"] == "vote" else f" The rounds of copy {result['selected_copy']}, the copy kept.")
    if reference is not None:
        caption += " Outlined in red: a digit that differs from the puzzle's unique solution."
    return ('<div id="rounds-view"><table id="rounds-grid-table" class="sudoku-rounds" '
            f'data-committed-round="{",".join(map(str, committed_round))}" '
            'style="border-collapse:collapse;margin:4px">' + "".join(rows) + "</table>"
            f'<div style="font-size:12px;max-width:420px">{html.escape(caption)}</div></div>')


def describe_decoding(result: dict[str, Any]) -> str:
    """E.g. "iterative decoding: 12 rounds of 16 iterations (192 iterations in all)", "one pass (the paper's
    protocol), 16 iterations" or, with copies, "iterative decoding: 9 rounds of 16 iterations, the most confident of 4
    copies under random Sudoku symmetries (copy 2 kept; 560 iterations over all copies)"."""
    iterations, rounds, used = result["num_recurrences"], result["num_rounds"], result["iterations_used"]
    num_copies = result.get("num_copies", 1)

    def count(number: int, word: str) -> str:
        return f"{number} {word}{'s' if number != 1 else ''}"

    if result["decoding"] == "one_pass":
        decoding = "one pass (the paper's protocol)" + (
            f", {count(used, 'iteration')}" if num_copies == 1 else f" of {count(iterations, 'iteration')}")
    else:
        decoding = f"iterative decoding: {count(rounds, 'round')} of {count(iterations, 'iteration')}" + (
            f" ({used} iterations in all)" if num_copies == 1 else "")
    if num_copies == 1:
        return decoding
    rule = {"confidence": "the most confident", "energy": "the lowest-energy", "vote": "a vote per cell"}
    kept = "" if result["selection"] == "vote" else f"copy {result['selected_copy']} kept; "
    of = " over" if result["selection"] == "vote" else " of"
    return (f"{decoding}, {rule[result['selection']]}{of} {num_copies} copies under random Sudoku symmetries "
            f"({kept}{used} iterations over all copies)")


def sudoku_views(result: dict[str, Any]):
    """The tab's outputs for one `solve_puzzle` result: solved-grid HTML, a status text, the round of every blank
    (HTML), the per-round table and the energy figure (the last round's iterations)."""
    puzzle, solution, reference = result["puzzle"], result["solution"], result["reference"]
    blanks = [i for i, c in enumerate(puzzle) if c == "0"]
    status = [f"**{'Valid' if result['is_valid'] else 'Not a valid'} Sudoku** by {describe_decoding(result)}"
              + ("." if result["is_valid"] else f": {result['problem']}.")]
    if reference is not None and blanks:
        correct = sum(solution[i] == reference[i] for i in blanks)
        status.append(f"{correct} of {len(blanks)} blank cells match the puzzle's unique solution.")
    status.append(f"Solution: `{solution}`")

    committed_round = result["committed_round"]
    table = []
    left = len(blanks)
    for step in range(result["num_rounds"]):
        cells = [i for i in blanks if committed_round[i] == step]
        left -= len(cells)
        right = sum(solution[i] == reference[i] for i in cells) if reference is not None else None
        table.append([step + 1, len(cells), right, left])
    last = "" if result["num_rounds"] == 1 else f", last round (round {result['num_rounds']})"
    figure = energy_figure(result["energies"], f"Energy of the Sudoku state{last}")
    return (grid_html(solution, puzzle, reference, element_id="solved-grid-table"), "\n\n".join(status),
            rounds_html(result), table, figure)


# ---------------------------------------------------------------------------------------------------------------------
# Masked image modeling
# ---------------------------------------------------------------------------------------------------------------------


def _statistics(bundle: MimBundle) -> tuple[np.ndarray, np.ndarray]:
    channels = bundle.model.config.num_channels
    processor = bundle.processor
    if processor is None or not getattr(processor, "do_normalize", True):
        mean, std = ([0.5] * channels, [0.5] * channels) if processor is None else ([0.0] * channels, [1.0] * channels)
    else:
        mean, std = processor.image_mean, processor.image_std
    mean = np.resize(np.asarray(mean, dtype=np.float32), channels).reshape(channels, 1, 1)
    std = np.resize(np.asarray(std, dtype=np.float32), channels).reshape(channels, 1, 1)
    return mean, std


def preprocess_image(bundle: MimBundle, image: Image.Image) -> torch.Tensor:
    """(1, channels, size, size) pixel values as the model was trained on (the saved image processor, else resize
    + [0, 1] + mean/std 0.5)."""
    config = bundle.model.config
    image = image.convert("L" if config.num_channels == 1 else "RGB")
    if bundle.processor is not None:
        return bundle.processor(images=image, return_tensors="pt")["pixel_values"].float()
    image = image.resize((config.image_size, config.image_size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32).reshape(config.image_size, config.image_size, -1) / 255.0
    mean, std = _statistics(bundle)
    return torch.from_numpy((array.transpose(2, 0, 1) - mean) / std).unsqueeze(0)


def random_patch_mask(num_patches: int, mask_ratio: float, seed: int) -> torch.Tensor:
    """(1, num_patches) boolean mask with exactly round(mask_ratio * num_patches) patches masked (at least 1)."""
    if not 0.0 < float(mask_ratio) < 1.0:
        raise ValueError(f"mask_ratio must be strictly between 0 and 1, got {mask_ratio!r}")
    count = min(num_patches, max(1, round(float(mask_ratio) * num_patches)))
    order = torch.randperm(num_patches, generator=torch.Generator().manual_seed(int(seed)))
    mask = torch.zeros(num_patches, dtype=torch.bool)
    mask[order[:count]] = True
    return mask.unsqueeze(0)


def _to_image(pixels: np.ndarray) -> Image.Image:
    """(channels, H, W) in [0, 1] -> an enlarged PIL image."""
    array = (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)
    image = Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
    return image.resize((DISPLAY_SIZE, DISPLAY_SIZE), Image.NEAREST)


def _to_pixels(image: Image.Image) -> np.ndarray:
    """A PIL image -> (channels, H, W) float32 in [0, 1] (the inverse of `_to_image`, without the enlargement)."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _pixel_mask(grid_mask: np.ndarray, cell_size: int) -> np.ndarray:
    """An (h, w) boolean mask of patches or tokens -> the (h * cell_size, w * cell_size) mask of their pixels."""
    return np.asarray(grid_mask, dtype=bool).repeat(cell_size, 0).repeat(cell_size, 1)


def psnr(estimate: np.ndarray, reference: np.ndarray, region: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB of `estimate` against `reference`, both (channels, H, W) in [0, 1] (clipped),
    over the pixels where the (H, W) boolean `region` is True, or over the whole image."""
    error = (np.clip(estimate, 0.0, 1.0) - np.clip(reference, 0.0, 1.0)) ** 2
    error = (error if region is None else error[:, region]).mean()
    return float(10 * np.log10(1.0 / max(error, 1e-12)))


def reconstruct_image(bundle: MimBundle, image: Image.Image, mask_ratio: float, num_recurrences: int,
                      seed: int = 0) -> dict[str, Any]:
    """Masks random patches of `image` and reconstructs them.

    Returns a dict with `pixel_values` (the model input), `mask` (1, num_patches), `reconstruction` (the model's
    output, same normalisation as the input), `masked_image` and `reconstruction_image` (enlarged PIL images in
    pixel space; masked patches grey), `energies` (per layer, `num_recurrences + 1` floats) and `psnr_masked` (dB, on
    the masked pixels, in [0, 1] pixel space).
    """
    config = bundle.model.config
    num_recurrences = as_count(int(num_recurrences), "num_recurrences")
    pixel_values = preprocess_image(bundle, image)
    grid = config.image_size // config.patch_size
    mask = random_patch_mask(grid * grid, mask_ratio, seed)
    with torch.no_grad():
        outputs = bundle.model(pixel_values, bool_masked_pos=mask, num_recurrences=num_recurrences,
                               output_energies=True)
    mean, std = _statistics(bundle)
    original = pixel_values[0].numpy() * std + mean
    reconstructed = outputs.reconstruction[0].numpy() * std + mean
    pixel_mask = _pixel_mask(mask.reshape(grid, grid).numpy(), config.patch_size)
    masked = np.where(pixel_mask[None], MASK_GRAY, original)
    return {
        "pixel_values": pixel_values,
        "mask": mask,
        "reconstruction": outputs.reconstruction,
        "masked_image": _to_image(masked),
        "reconstruction_image": _to_image(reconstructed),
        "energies": [layer[0].tolist() for layer in outputs.energies],
        "psnr_masked": psnr(reconstructed, original, pixel_mask),
    }


def example_images(folder: str | os.PathLike | None = None, count: int = 6) -> list[str]:
    """Paths of example images: the first Fashion-MNIST test images when Debian's `dataset-fashion-mnist` is
    installed (via `hyperset_hf.data.images.load_fashion_mnist`), else simple drawn shapes."""
    folder = Path(folder or Path(tempfile.gettempdir()) / "hyperset-demo-examples")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from hyperset_hf.data.images import load_fashion_mnist

        test = load_fashion_mnist("test", max_samples=count)
        images = [(f"fashion-mnist-{i}-{test.features['label'].int2str(row['label'])}", row["image"])
                  for i, row in enumerate(test)]
    except Exception:  # noqa: BLE001 - the data set is optional
        images = []
        for i in range(count):
            image = Image.new("L", (28, 28), 0)
            draw = ImageDraw.Draw(image)
            box = (4 + i % 3, 5, 23 - i % 2, 22)
            [draw.ellipse, draw.rectangle, lambda b, fill: draw.polygon([(14, b[1]), (b[0], b[3]), (b[2], b[3])],
                                                                        fill=fill)][i % 3](box, fill=255 - 30 * i)
            images.append((f"shape-{i}", image))
    paths = []
    for name, image in images:
        path = folder / (name.replace("/", "-").replace(" ", "-") + ".png")
        image.save(path)
        paths.append(str(path))
    return paths


# ---------------------------------------------------------------------------------------------------------------------
# Masked tokens (MaskGIT)
# ---------------------------------------------------------------------------------------------------------------------


def completion_image_format(completer: ImageCompletionPipeline) -> tuple[int, int]:
    """`(channels, size)` of the images the completer works on: the input channels of its diffusers VQ tokenizer (1
    when the tokenizer has no such config), and the side in pixels that the tokenizer turns into the model's
    `token_grid_size` x `token_grid_size` tokens, i.e. the grid times the tokenizer's downsampling factor, measured
    by encoding a blank probe image.

    Raises:
        `ValueError`: when the probe's token grid does not divide the probe (no whole downsampling factor).
    """
    grid = int(completer.model.config.token_grid_size)
    tokenizer = completer.image_tokenizer
    channels = int(getattr(getattr(getattr(tokenizer, "vq_model", None), "config", None), "in_channels", 1))
    probe = grid * PROBE_TOKENS
    probe_grid = int(tokenizer.encode(torch.zeros(1, channels, probe, probe, device=completer.device)).shape[-1])
    if probe % probe_grid:
        raise ValueError(
            f"the image tokenizer turns a {probe}x{probe} px probe into {probe_grid} tokens a side: no whole "
            f"downsampling factor"
        )
    return channels, grid * (probe // probe_grid)


def complete_tokens(completer: ImageCompletionPipeline, image, mask_ratio: float, num_steps: int,
                    temperature: float, seed: int = 0) -> dict[str, Any]:
    """Hides a random share of the VQ tokens of `image` and completes them by MaskGIT iterative decoding.

    The image (a PIL image or the path of one) is converted to grey (RGB for a 3-channel tokenizer) and resized to
    the model's image size (`completion_image_format`), then passed to the `"masked-image-completion"` pipeline with
    `mask_ratio`, `num_steps` (the arccos schedule), `temperature` and `seed` (the hidden tokens and the sampling).

    Returns a dict with the displayed images, enlarged to `DISPLAY_SIZE`: `masked_image` (the input with the hidden
    tokens' pixels grey), `completed_image` and `reconstruction_image` (the tokenizer's reconstruction of the whole
    image: the ceiling of any completion); `status` (Markdown); `original` ((channels, size, size) in [0, 1], the
    image given to the pipeline); the pipeline's `token_mask`, `codes` and `completed_codes` ((h, w) arrays);
    `steps_run` (decoding stops once every hidden token is revealed); and PSNRs in dB against `original`:
    `psnr_hidden` and `psnr_whole` of the completion (on the hidden tokens' pixels and on the whole image), and
    `psnr_ceiling_hidden` of the reconstruction on the hidden tokens' pixels.

    Raises:
        `ValueError`: for something that is not an image, or a mask ratio, number of steps or temperature that the
            pipeline refuses (naming the problem).
    """
    if isinstance(image, (str, os.PathLike)):
        try:
            image = Image.open(image)
        except OSError as error:
            raise ValueError(f"cannot read an image from {str(image)!r}: {error}") from None
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected an image (a PIL image or the path of an image file), got {type(image).__name__}")
    channels, size = completion_image_format(completer)
    image = image.convert("L" if channels == 1 else "RGB").resize((size, size), Image.BILINEAR)
    num_steps = int(num_steps)
    result = completer(image, mask_ratio=float(mask_ratio), num_steps=num_steps, schedule=DECODING_SCHEDULE,
                       temperature=float(temperature), seed=int(seed))
    token_mask = result["token_mask"]
    num_tokens, num_hidden = token_mask.size, int(token_mask.sum())
    reveals = maskgit_schedule(num_tokens, num_steps, DECODING_SCHEDULE)
    steps_run = int((reveals.cumsum(0) < num_hidden).sum()) + 1
    original = _to_pixels(image)
    completed = _to_pixels(result["completed"])
    reconstruction = _to_pixels(result["reconstruction"])
    hidden_pixels = _pixel_mask(token_mask, size // token_mask.shape[0])
    psnr_hidden, psnr_whole = psnr(completed, original, hidden_pixels), psnr(completed, original)
    psnr_ceiling_hidden = psnr(reconstruction, original, hidden_pixels)
    grid, codebook_size = token_mask.shape[0], completer.model.config.codebook_size
    status = (
        f"**{num_hidden} of {num_tokens} tokens hidden** ({grid}x{grid} grid, codebook of {codebook_size}); "
        f"{steps_run} of {num_steps} decoding steps ran (decoding stops once every hidden token is revealed). PSNR of "
        f"the completion against the input: **{psnr_hidden:.2f} dB** on the hidden tokens, {psnr_whole:.2f} dB on "
        f"the whole image (the tokenizer's reconstruction, the ceiling: {psnr_ceiling_hidden:.2f} dB on the hidden "
        f"tokens)."
    )
    return {
        "masked_image": _to_image(np.where(hidden_pixels[None], MASK_GRAY, original)),
        "completed_image": _to_image(completed),
        "reconstruction_image": _to_image(reconstruction),
        "status": status,
        "original": original,
        "token_mask": token_mask,
        "codes": result["codes"],
        "completed_codes": result["completed_codes"],
        "steps_run": steps_run,
        "psnr_hidden": psnr_hidden,
        "psnr_whole": psnr_whole,
        "psnr_ceiling_hidden": psnr_ceiling_hidden,
    }


# ---------------------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------------------

INTRO = """# Hyper-SET: Transformers as energy descent

Every layer application of a [Hyper-SET](https://arxiv.org/abs/2502.11646) model is one gradient step on a
hyperspherical energy, with the same weights every time, so **the number of iterations is a knob**: run the model
shallower or deeper than it was trained and watch the energy of every iteration. Models:
[hyperset-hf](https://github.com/hyperset-hf/hyperset-hf)."""


def build_demo(sudoku_model=None, mim=None, mim_unavailable: str | None = None,
               examples_dir: str | os.PathLike | None = None, *, maskgit=None,
               maskgit_unavailable: str | None = None) -> gr.Blocks:
    """Builds the three-tab app.

    Args:
        sudoku_model: a Hyper-SET Sudoku model; default `load_sudoku_model()` ($HYPERSET_SUDOKU_MODEL or the shipped
            checkpoint).
        mim: a `MimBundle`, a model name/folder (`str`), or `None` for `load_mim_model()` ($HYPERSET_MIM_MODEL or the
            shipped checkpoint); when it cannot be loaded the tab explains why.
        mim_unavailable (`str`, *optional*): force the "no masked-image model" message (e.g. in tests).
        examples_dir: where the example images are written.
        maskgit: a `"masked-image-completion"` pipeline (`ImageCompletionPipeline`), a model name/folder (`str`), or
            `None` for `load_maskgit_model()` ($HYPERSET_MASKGIT_MODEL or the shipped checkpoint); when it cannot be
            loaded the tab explains why.
        maskgit_unavailable (`str`, *optional*): force the "no masked-token model" message (e.g. in tests).
    """
    if sudoku_model is None:
        sudoku_model = load_sudoku_model()
    elif isinstance(sudoku_model, (str, os.PathLike)):
        sudoku_model = load_sudoku_model(str(sudoku_model))
    if mim_unavailable is None and not isinstance(mim, MimBundle):
        mim, mim_unavailable = load_mim_model(str(mim) if mim is not None else None)
    if maskgit_unavailable is None and not isinstance(maskgit, ImageCompletionPipeline):
        maskgit, maskgit_unavailable = load_maskgit_model(str(maskgit) if maskgit is not None else None)
    trained_sudoku = int(sudoku_model.config.num_recurrences)
    recommended = recommended_options(sudoku_model)
    examples = example_images(examples_dir)

    def on_generate(num_givens, seed):
        try:
            return new_puzzle(int(num_givens), int(seed))
        except ValueError as error:
            raise gr.Error(str(error)) from None

    def on_solve(puzzle, num_recurrences, decoding, num_copies=None, selection=None):
        try:
            result = solve_puzzle(sudoku_model, puzzle, int(num_recurrences), decoding, num_copies, selection)
        except ValueError as error:
            raise gr.Error(str(error)) from None
        return sudoku_views(result)

    def on_reconstruct(image, mask_ratio, num_recurrences, seed):
        if mim_unavailable:
            raise gr.Error(mim_unavailable)
        if image is None:
            raise gr.Error("Pick an example or upload an image first.")
        try:
            result = reconstruct_image(mim, image, float(mask_ratio), int(num_recurrences), int(seed))
        except ValueError as error:
            raise gr.Error(str(error)) from None
        status = (f"{int(result['mask'].sum())} of {result['mask'].shape[1]} patches masked; PSNR on the masked "
                  f"pixels: **{result['psnr_masked']:.2f} dB** after {int(num_recurrences)} iterations.")
        figure = energy_figure(result["energies"], "Energy of the image state")
        return result["masked_image"], result["reconstruction_image"], figure, status

    def on_complete(image, mask_ratio, num_steps, temperature, seed):
        if maskgit_unavailable:
            raise gr.Error(maskgit_unavailable)
        if image is None:
            raise gr.Error("Pick an example or upload an image first.")
        try:
            result = complete_tokens(maskgit, image, float(mask_ratio), int(num_steps), float(temperature), int(seed))
        except ValueError as error:
            raise gr.Error(str(error)) from None
        return result["masked_image"], result["completed_image"], result["reconstruction_image"], result["status"]

    with gr.Blocks(title="Hyper-SET demo") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Sudoku", id="sudoku"):
                gr.Markdown(
                    f"Type a puzzle (81 characters, `.` or `0` for blanks; a drawn grid works too) or generate one, "
                    f"choose the decoding and the number of iterations (the model was trained with {trained_sudoku}) "
                    f"and solve. **Iterative decoding** decodes the grid the way MaskGIT decodes image tokens: every "
                    f"round runs the model on the puzzle with the digits committed so far and commits the most "
                    f"confident blanks, until the grid is full. **One pass** fills every blank from a single forward "
                    f"pass (the paper's protocol). **Copies** decode the puzzle under random Sudoku symmetries "
                    f"(relabelled digits, permuted bands and stacks, transposed) and keep one grid: the most "
                    f"confident, the one of lowest energy, or a vote per cell. The model alone decides: no Sudoku "
                    f"rule is applied.",
                    elem_id="sudoku-description",
                )
                with gr.Row():
                    with gr.Column(scale=1):
                        puzzle = gr.Textbox(value=EXAMPLE_PUZZLE, label="Puzzle", lines=3, elem_id="puzzle-input")
                        with gr.Row():
                            givens = gr.Slider(23, 60, value=30, step=1, label="Givens")
                            seed = gr.Number(value=0, precision=0, label="Seed")
                        generate = gr.Button("Generate a puzzle", elem_id="generate-button")
                        decoding = gr.Radio(DECODING_CHOICES, value=recommended_decoding(sudoku_model),
                                            label="Decoding", elem_id="sudoku-decoding")
                        iterations = gr.Slider(1, MAX_ITERATIONS, value=trained_sudoku, step=1,
                                               label="Number of iterations (per round)", elem_id="sudoku-iterations")
                        with gr.Row():
                            copies = gr.Slider(1, MAX_COPIES, value=recommended["num_copies"], step=1,
                                               label="Copies (test-time selection)", elem_id="sudoku-copies")
                            selection = gr.Radio(selection_choices(sudoku_model), value=recommended["selection"],
                                                 label="Keep", elem_id="sudoku-selection")
                        solve_button = gr.Button("Solve", variant="primary", elem_id="solve-button")
                    with gr.Column(scale=1):
                        solved = gr.HTML(label="Solved grid", elem_id="solved-grid")
                        status = gr.Markdown(elem_id="sudoku-status")
                with gr.Row():
                    rounds = gr.HTML(label="The round of every blank", elem_id="sudoku-rounds")
                    table = gr.Dataframe(
                        headers=["round", "cells committed", "of them right", "blank cells left"],
                        label="Per round", elem_id="sudoku-table", interactive=False,
                    )
                energy_plot = gr.Plot(label="Energy against the iteration (last round)", elem_id="sudoku-energy")
                generate.click(on_generate, [givens, seed], puzzle, api_name="generate_puzzle")
                sudoku_outputs = [solved, status, rounds, table, energy_plot]
                solve_inputs = [puzzle, iterations, decoding, copies, selection]
                solve_button.click(on_solve, solve_inputs, sudoku_outputs, api_name="solve_sudoku")
            with gr.Tab("Masked image", id="masked-image"):
                if mim_unavailable:
                    gr.Markdown(f"**No masked-image model available.** {mim_unavailable}", elem_id="mim-unavailable")
                    trained_mim = 12
                else:
                    trained_mim = int(mim.model.config.num_recurrences)
                    gr.Markdown(
                        f"Pick or upload an image, choose the share of patches to mask and the number of iterations "
                        f"(the model `{display_name(mim.name)}` was trained with {trained_mim}); the model fills the "
                        f"grey patches in.",
                        elem_id="mim-description",
                    )
                with gr.Row():
                    with gr.Column(scale=1):
                        image = gr.Image(type="pil", label="Image", elem_id="mim-image", height=260)
                        mask_ratio = gr.Slider(0.1, 0.9, value=0.5, step=0.05, label="Mask ratio",
                                               elem_id="mask-ratio")
                        mim_iterations = gr.Slider(1, MAX_ITERATIONS, value=trained_mim, step=1,
                                                   label="Number of iterations")
                        mim_seed = gr.Number(value=0, precision=0, label="Mask seed")
                        reconstruct_button = gr.Button("Reconstruct", variant="primary",
                                                       elem_id="reconstruct-button",
                                                       interactive=not mim_unavailable)
                    with gr.Column(scale=2):
                        with gr.Row():
                            masked_view = gr.Image(label="Masked input", elem_id="masked-input", height=260)
                            reconstruction_view = gr.Image(label="Reconstruction", elem_id="reconstruction",
                                                           height=260)
                        mim_status = gr.Markdown(elem_id="mim-status")
                mim_plot = gr.Plot(label="Energy against the iteration", elem_id="mim-energy")
                gr.Examples(examples, inputs=image, label="Examples")
                reconstruct_button.click(on_reconstruct, [image, mask_ratio, mim_iterations, mim_seed],
                                         [masked_view, reconstruction_view, mim_plot, mim_status],
                                         api_name="reconstruct")
            with gr.Tab("Masked tokens (MaskGIT)", id="masked-tokens"):
                if maskgit_unavailable:
                    gr.Markdown(f"**No masked-token model available.** {maskgit_unavailable}",
                                elem_id="maskgit-unavailable")
                else:
                    channels, size = completion_image_format(maskgit)
                    grid = maskgit.model.config.token_grid_size
                    name = display_name(maskgit.model.name_or_path)
                    gr.Markdown(
                        f"Pick or upload an image (made {'grey' if channels == 1 else 'RGB'} and {size}x{size} px), "
                        f"choose the share of its {grid}x{grid} VQ tokens to hide, and the model"
                        f"{f' `{name}`' if name else ''} fills them in by MaskGIT decoding: every step predicts all "
                        f"hidden tokens and keeps the most confident. The tokenizer's reconstruction of the whole "
                        f"image is the best any completion can reach.",
                        elem_id="maskgit-description",
                    )
                with gr.Row():
                    with gr.Column(scale=1):
                        token_image = gr.Image(type="pil", label="Image", elem_id="maskgit-image", height=260)
                        token_mask_ratio = gr.Slider(0.1, 0.9, value=0.4, step=0.05, label="Mask ratio (tokens)",
                                                     elem_id="maskgit-mask-ratio")
                        decoding_steps = gr.Slider(1, 24, value=12, step=1, label="Decoding steps",
                                                   elem_id="maskgit-steps")
                        temperature = gr.Slider(0, 2, value=1, step=0.05, label="Temperature (0 = most likely code)",
                                                elem_id="maskgit-temperature")
                        token_seed = gr.Number(value=0, precision=0, label="Seed (hidden tokens and sampling)")
                        complete_button = gr.Button("Complete", variant="primary", elem_id="complete-button",
                                                    interactive=not maskgit_unavailable)
                    with gr.Column(scale=2):
                        with gr.Row():
                            token_masked_view = gr.Image(label="Masked input", elem_id="maskgit-masked-input",
                                                         height=260)
                            completion_view = gr.Image(label="Completion", elem_id="maskgit-completion", height=260)
                            ceiling_view = gr.Image(label="Tokenizer reconstruction (ceiling)",
                                                    elem_id="maskgit-reconstruction", height=260)
                        maskgit_status = gr.Markdown(elem_id="maskgit-status")
                gr.Examples(examples, inputs=token_image, label="Examples")
                complete_button.click(on_complete,
                                      [token_image, token_mask_ratio, decoding_steps, temperature, token_seed],
                                      [token_masked_view, completion_view, ceiling_view, maskgit_status],
                                      api_name="complete_tokens")
        # the page opens with the example puzzle solved, not with empty outputs
        demo.load(on_solve, solve_inputs, sudoku_outputs, api_visibility="undocumented")
    return demo


THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                   font_mono=["ui-monospace", "Consolas", "monospace"])


def launch_demo(demo: gr.Blocks, **kwargs):
    """`demo.launch` with system fonts (no font download) and analytics off; returns what `launch` returns."""
    kwargs.setdefault("theme", gr.themes.Default(**THEME_FONTS))
    return demo.launch(**kwargs)


if __name__ == "__main__":
    launch_demo(build_demo(), server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
