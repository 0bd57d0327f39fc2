# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Hyper-SET demo Space: a Sudoku solver and masked-image reconstruction, both showing the energy of every iteration,
and MaskGIT completion of hidden VQ tokens.

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


def unavailable_reason(kind: str, name: str, error: Exception, env_variable: str, expected: str) -> str:
    """The explanation a tab shows when its model (a `kind`, e.g. "masked-image model") could not be loaded from
    `name`: the error, and how to point `env_variable` at `expected` (what a suitable folder holds)."""
    return (
        f"No {kind} could be loaded from `{name}` ({type(error).__name__}: {str(error)[:300]}). Set the environment "
        f"variable `{env_variable}` to {expected} and restart the app."
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


def solve_puzzle(model, puzzle, num_recurrences: int) -> dict[str, Any]:
    """Runs the Sudoku model and returns the solved grid, the predicted grid after every iteration and the energies.

    Returns a dict with `puzzle`, `solution` (81-character strings), `iterations` (the predicted 81 digits of the
    state after every layer application, the first for the initial state x_0), `energies` (one list of
    `num_recurrences + 1` floats per layer, or `None` for the Transformer baseline), `is_valid`, `problem` and
    `reference` (the puzzle's solution when it has exactly one, else `None`).

    Raises:
        `ValueError`: for a malformed puzzle or clashing givens (naming the problem) or a bad `num_recurrences`.
    """
    grid = parse_puzzle(puzzle)
    check_puzzle(grid, require_solvable=False)
    num_recurrences = as_count(int(num_recurrences), "num_recurrences")
    input_ids = torch.as_tensor(grid, dtype=torch.long).unsqueeze(0)
    energy_based = getattr(model.config, "layer_type", "hyperset") == "hyperset"
    with torch.no_grad():
        outputs = model(
            input_ids=input_ids, num_recurrences=num_recurrences, output_hidden_states=True,
            output_energies=energy_based,
        )
        givens = input_ids[0] > 0
        iterations = []
        for state in outputs.hidden_states:
            digits = model.classifier(model.readout_norm(state))[0].argmax(-1) + 1
            iterations.append(grid_to_string(torch.where(givens, input_ids[0], digits).numpy()))
        final = outputs.logits[0].argmax(-1) + 1
    solution = grid_to_string(torch.where(givens, input_ids[0], final).numpy())
    is_valid, problem = validate_solution(solution, grid)
    reference = None
    if count_solutions(grid, limit=2) == 1:
        reference = grid_to_string(solve(grid))
    energies = [layer[0].tolist() for layer in outputs.energies] if energy_based else None
    return {
        "puzzle": grid_to_string(grid),
        "solution": solution,
        "iterations": iterations,
        "energies": energies,
        "is_valid": is_valid,
        "problem": problem,
        "reference": reference,
        "num_recurrences": num_recurrences,
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


def _snapshot_indices(count: int, shown: int = 6) -> list[int]:
    return sorted({round(i * (count - 1) / (shown - 1)) for i in range(shown)}) if count > shown else list(range(count))


def sudoku_views(result: dict[str, Any]):
    """The tab's outputs for one `solve_puzzle` result: solved-grid HTML, a status text, the grids across iterations
    (HTML), the per-iteration table and the energy figure."""
    puzzle, solution, reference = result["puzzle"], result["solution"], result["reference"]
    blanks = [i for i, c in enumerate(puzzle) if c == "0"]
    status = [f"**{'Valid' if result['is_valid'] else 'Not a valid'} Sudoku** after {result['num_recurrences']} "
              f"iterations" + ("." if result["is_valid"] else f": {result['problem']}.")]
    if reference is not None and blanks:
        correct = sum(solution[i] == reference[i] for i in blanks)
        status.append(f"{correct} of {len(blanks)} blank cells match the puzzle's unique solution.")
    status.append(f"Solution: `{solution}`")

    iterations = result["iterations"]
    energies = result["energies"]
    table = []
    for step, grid in enumerate(iterations):
        changed = 0 if step == 0 else sum(a != b for a, b in zip(grid, iterations[step - 1]))
        correct = sum(grid[i] == reference[i] for i in blanks) if reference is not None else None
        energy = energies[0][step] if energies is not None and len(energies) == 1 else None
        table.append([step, changed, correct, None if energy is None else round(energy, 4)])
    snapshots = []
    for step in _snapshot_indices(len(iterations)):
        changed = (set() if step == 0 else
                   {i for i, (a, b) in enumerate(zip(iterations[step], iterations[step - 1])) if a != b})
        snapshots.append(
            f'<div style="display:inline-block;margin:4px;vertical-align:top" data-iteration="{step}">'
            f'<div style="text-align:center;font-size:13px">iteration {step}'
            f'{"" if step == 0 else f" ({len(changed)} changed)"}</div>'
            + grid_html(iterations[step], puzzle, reference, changed, cell_size=18) + "</div>"
        )
    snapshots_html = ('<div id="iteration-grids">' + "".join(snapshots) +
                      '<div style="font-size:12px">yellow: cells that changed since the previous snapshot\'s '
                      'iteration; red: differs from the unique solution</div></div>')
    figure = energy_figure(energies, "Energy of the Sudoku state")
    return (grid_html(solution, puzzle, reference, element_id="solved-grid-table"), "\n\n".join(status),
            snapshots_html, table, figure)


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
    examples = example_images(examples_dir)

    def on_generate(num_givens, seed):
        try:
            return new_puzzle(int(num_givens), int(seed))
        except ValueError as error:
            raise gr.Error(str(error)) from None

    def on_solve(puzzle, num_recurrences):
        try:
            result = solve_puzzle(sudoku_model, puzzle, int(num_recurrences))
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
                    f"choose the number of iterations (the model was trained with {trained_sudoku}) and solve."
                )
                with gr.Row():
                    with gr.Column(scale=1):
                        puzzle = gr.Textbox(value=EXAMPLE_PUZZLE, label="Puzzle", lines=3, elem_id="puzzle-input")
                        with gr.Row():
                            givens = gr.Slider(23, 60, value=30, step=1, label="Givens")
                            seed = gr.Number(value=0, precision=0, label="Seed")
                        generate = gr.Button("Generate a puzzle", elem_id="generate-button")
                        iterations = gr.Slider(1, MAX_ITERATIONS, value=trained_sudoku, step=1,
                                               label="Number of iterations", elem_id="sudoku-iterations")
                        solve_button = gr.Button("Solve", variant="primary", elem_id="solve-button")
                    with gr.Column(scale=1):
                        solved = gr.HTML(label="Solved grid", elem_id="solved-grid")
                        status = gr.Markdown(elem_id="sudoku-status")
                energy_plot = gr.Plot(label="Energy against the iteration", elem_id="sudoku-energy")
                snapshots = gr.HTML(label="The grid across iterations", elem_id="sudoku-iterations-view")
                table = gr.Dataframe(
                    headers=["iteration", "cells changed", "blank cells right", "energy"],
                    label="Per iteration", elem_id="sudoku-table", interactive=False,
                )
                generate.click(on_generate, [givens, seed], puzzle, api_name="generate_puzzle")
                solve_button.click(on_solve, [puzzle, iterations], [solved, status, snapshots, table, energy_plot],
                                   api_name="solve_sudoku")
            with gr.Tab("Masked image", id="masked-image"):
                if mim_unavailable:
                    gr.Markdown(f"**No masked-image model available.** {mim_unavailable}", elem_id="mim-unavailable")
                    trained_mim = 12
                else:
                    trained_mim = int(mim.model.config.num_recurrences)
                    gr.Markdown(
                        f"Pick or upload an image, choose the share of patches to mask and the number of iterations "
                        f"(the model `{mim.name}` was trained with {trained_mim}); the model fills the grey patches "
                        f"in."
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
                    name = maskgit.model.name_or_path
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
    return demo


THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                   font_mono=["ui-monospace", "Consolas", "monospace"])


def launch_demo(demo: gr.Blocks, **kwargs):
    """`demo.launch` with system fonts (no font download) and analytics off; returns what `launch` returns."""
    kwargs.setdefault("theme", gr.themes.Default(**THEME_FONTS))
    return demo.launch(**kwargs)


if __name__ == "__main__":
    launch_demo(build_demo(), server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
