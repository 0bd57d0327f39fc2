# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Evaluation metrics shipped with hyperset-hf.

- `sudoku_metrics(predictions, references, puzzles)`: the Sudoku metrics as a plain numpy function.
- `load_sudoku_metric()`: the same metrics as an `evaluate` module, loaded from the folder `SUDOKU_METRIC_PATH` that is
  installed with the package (no Hub access needed, works with `HF_HUB_OFFLINE=1`).
- `image_reconstruction_metrics(predictions, references, data_range=1.0)`: PSNR and SSIM between images, as a plain
  numpy function.
- `load_image_reconstruction_metric()`: the same metrics as an `evaluate` module, loaded from the folder
  `IMAGE_RECONSTRUCTION_METRIC_PATH` installed with the package.
- `masked_region_psnr(predictions, references, masks, data_range=1.0)`: PSNR over the hidden pixels only (masked
  image modeling: how well the hidden part was filled in).

The `evaluate` modules (`sudoku_accuracy/sudoku_accuracy.py`, `image_reconstruction/image_reconstruction.py`) wrap
the functions below (one copy of the computation). Only numpy and torch are imported here; `evaluate` is imported inside the
`load_*` functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..sudoku_rules import parse_grids


__all__ = [
    "IMAGE_RECONSTRUCTION_METRIC_PATH",
    "SUDOKU_METRIC_PATH",
    "image_reconstruction_metrics",
    "load_image_reconstruction_metric",
    "load_sudoku_metric",
    "masked_region_psnr",
    "sudoku_metrics",
]

SUDOKU_METRIC_PATH = str(Path(__file__).resolve().parent / "sudoku_accuracy")
"""The folder of the `sudoku_accuracy` evaluate module; `evaluate.load(SUDOKU_METRIC_PATH)` loads it."""

IMAGE_RECONSTRUCTION_METRIC_PATH = str(Path(__file__).resolve().parent / "image_reconstruction")
"""The folder of the `image_reconstruction` evaluate module; `evaluate.load(IMAGE_RECONSTRUCTION_METRIC_PATH)` loads
it."""


def load_sudoku_metric(**kwargs):
    """Loads the Sudoku metric as an `evaluate.EvaluationModule`, from the copy installed with this package.

    Args:
        **kwargs: passed to `evaluate.load` (e.g. `keep_in_memory=True`, `experiment_id`, `num_process`, `process_id`).

    Returns:
        `evaluate.EvaluationModule`: call `.compute(predictions=..., references=..., puzzles=...)`; see
        `sudoku_metrics` for the inputs and outputs.
    """
    return _load_evaluate_module(SUDOKU_METRIC_PATH, **kwargs)


def _load_evaluate_module(path: str, **kwargs):
    """`evaluate.load(path, **kwargs)`, importing `evaluate` only now."""
    import evaluate  # optional for model code, so imported here

    return evaluate.load(path, **kwargs)


def sudoku_metrics(predictions: Any, references: Any, puzzles: Any) -> dict[str, float]:
    """Cell accuracy, board accuracy and validity of predicted Sudoku solutions.

    Args:
        predictions (list of grids): the predicted complete grids, digits 1-9.
        references (list of grids): the solutions, digits 1-9; they must agree with the givens of the puzzles.
        puzzles (list of grids): the puzzles, 0 for blank cells and 1-9 for givens.

            A grid is 81 integers in row-major order (a list, or an array of shape `(81,)` or `(9, 9)`), or an
            81-character string (`'0'` or `'.'` for blanks). A whole batch may also be one integer array of shape
            `(N, 81)` or `(N, 9, 9)`.

    Returns:
        `dict` with three `float`s in [0, 1]:

        - `cell_accuracy`: correct blank cells / blank cells, pooled over all boards (givens are not counted; 1.0
          when no puzzle has a blank cell);
        - `board_accuracy`: fraction of boards whose blank cells are all correct;
        - `validity`: fraction of boards whose predicted grid is a valid completed Sudoku (each row, column and 3x3 box
          holds 1-9 once) and keeps every given of the puzzle, whether or not it equals the reference.

    Raises:
        `ValueError`: if the numbers of predictions, references and puzzles differ or are 0, or if a grid is malformed
        (e.g. `"predictions[3]: expected 81 cells, got a string of 80 characters"`, `"puzzles[1]: expected digits 0-9
        (0 = blank), got 12 at cell 7 (row 1, column 8)"`), or if a reference disagrees with a given of its puzzle.

    Example:

    ```python
    >>> from hyperset_hf.metrics import sudoku_metrics
    >>> puzzle = "530070000600195000098000060800060003400800001700020006060000280000419005000080079"
    >>> solution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
    >>> wrong = "4" + solution[1:]  # a given changed: blank cells still right, grid no longer valid
    >>> sudoku_metrics(predictions=[solution, wrong], references=[solution] * 2, puzzles=[puzzle] * 2)
    {'cell_accuracy': 1.0, 'board_accuracy': 1.0, 'validity': 0.5}

    ```
    """
    inputs = {"predictions": predictions, "references": references, "puzzles": puzzles}
    for name, value in inputs.items():
        if value is None:
            raise ValueError(f"{name}: expected a list of grids (one per board), got None")
    inputs = {name: value if hasattr(value, "__len__") else list(value) for name, value in inputs.items()}
    counts = [len(value) for value in inputs.values()]
    if len(set(counts)) > 1:
        raise ValueError(
            "expected as many predictions, references and puzzles (one of each per board), got "
            f"{counts[0]} predictions, {counts[1]} references and {counts[2]} puzzles"
        )
    if counts[0] == 0:
        raise ValueError("expected at least one board, got 0 predictions, references and puzzles")
    predicted = parse_grids(inputs["predictions"], "predictions", allow_blank=False)
    solution = parse_grids(inputs["references"], "references", allow_blank=False)
    puzzle = parse_grids(inputs["puzzles"], "puzzles", allow_blank=True)

    given = puzzle > 0
    disagreement = (given & (solution != puzzle)).any(axis=1)
    if disagreement.any():
        index = int(np.argmax(disagreement))
        cell = int(np.argmax(given[index] & (solution[index] != puzzle[index])))
        raise ValueError(
            f"references[{index}]: expected to agree with the givens of puzzles[{index}], got {solution[index, cell]} "
            f"instead of the given {puzzle[index, cell]} at cell {cell} (row {cell // 9 + 1}, column {cell % 9 + 1})"
        )

    blank = ~given
    correct = predicted == solution
    num_blank = int(blank.sum())
    cell_accuracy = float((correct & blank).sum() / num_blank) if num_blank else 1.0
    board_accuracy = float((correct | given).all(axis=1).mean())

    # A complete grid is valid iff each of its 27 units (9 rows, 9 columns, 9 boxes) holds every digit once.
    from ..input_checks import sudoku_unit_counts  # the one rule check, shared with the models and the data module

    is_complete_sudoku = (sudoku_unit_counts(torch.from_numpy(predicted)) == 1).all(dim=(1, 2)).numpy()
    keeps_givens = (~given | (predicted == puzzle)).all(axis=1)
    validity = float((is_complete_sudoku & keeps_givens).mean())

    return {"cell_accuracy": cell_accuracy, "board_accuracy": board_accuracy, "validity": validity}


# ---------------------------------------------------------------------------------------------------------------------
# Image reconstruction: PSNR and SSIM


def load_image_reconstruction_metric(**kwargs):
    """Loads the image reconstruction metric (PSNR and SSIM) as an `evaluate.EvaluationModule`, from the copy
    installed with this package.

    Args:
        **kwargs: passed to `evaluate.load` (e.g. `keep_in_memory=True`, `experiment_id`, `num_process`, `process_id`).

    Returns:
        `evaluate.EvaluationModule`: call `.compute(predictions=..., references=..., data_range=1.0)`; see
        `image_reconstruction_metrics` for the inputs and outputs.
    """
    return _load_evaluate_module(IMAGE_RECONSTRUCTION_METRIC_PATH, **kwargs)


_SSIM_WINDOW_SIZE = 11
_SSIM_SIGMA = 1.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03


def _parse_images(predictions: Any, references: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Checks the image pairs -> a list of `(prediction, reference)` `float64` arrays of shape `(C, H, W)`, or a
    `ValueError` that names the input and the image index."""
    for name, value in (("predictions", predictions), ("references", references)):
        if value is None:
            raise ValueError(f"{name}: expected a list of images of shape (C, H, W) (one per image), got None")
    if not hasattr(predictions, "__len__"):
        predictions = list(predictions)
    if not hasattr(references, "__len__"):
        references = list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"expected as many predictions as references (one of each per image), got {len(predictions)} predictions "
            f"and {len(references)} references"
        )
    if len(predictions) == 0:
        raise ValueError("expected at least one image, got 0 predictions and references")
    pairs = []
    for index, (prediction, reference) in enumerate(zip(predictions, references)):
        arrays = []
        for name, image in (("predictions", prediction), ("references", reference)):
            try:
                array = np.asarray(image, dtype=np.float64)
            except (ValueError, TypeError):
                raise ValueError(f"{name}[{index}]: expected an array of numbers of shape (C, H, W)") from None
            if array.ndim != 3:
                raise ValueError(f"{name}[{index}]: expected an image of shape (C, H, W), got shape {array.shape}")
            if min(array.shape[1:]) < _SSIM_WINDOW_SIZE:
                raise ValueError(
                    f"{name}[{index}]: expected images of at least {_SSIM_WINDOW_SIZE}x{_SSIM_WINDOW_SIZE} pixels (the "
                    f"SSIM window), got shape {array.shape}"
                )
            if not np.isfinite(array).all():
                raise ValueError(f"{name}[{index}]: expected finite pixel values, got NaN or infinity")
            arrays.append(array)
        if arrays[0].shape != arrays[1].shape:
            raise ValueError(
                f"predictions[{index}] and references[{index}]: expected the same shape, got {arrays[0].shape} and "
                f"{arrays[1].shape}"
            )
        pairs.append((arrays[0], arrays[1]))
    return pairs


def _gaussian_filter_valid(images: np.ndarray) -> np.ndarray:
    """Filters the last two axes with the normalised 11x11 Gaussian window (sigma 1.5), as two separable 1-D
    correlations in 'valid' mode: an `(..., H, W)` array -> `(..., H - 10, W - 10)`."""
    offsets = np.arange(_SSIM_WINDOW_SIZE, dtype=np.float64) - (_SSIM_WINDOW_SIZE - 1) / 2
    window = np.exp(-0.5 * (offsets / _SSIM_SIGMA) ** 2)
    window /= window.sum()
    height = images.shape[-2] - _SSIM_WINDOW_SIZE + 1
    width = images.shape[-1] - _SSIM_WINDOW_SIZE + 1
    rows = sum(weight * images[..., shift : shift + height, :] for shift, weight in enumerate(window))
    return sum(weight * rows[..., :, shift : shift + width] for shift, weight in enumerate(window))


def image_reconstruction_metrics(predictions: Any, references: Any, data_range: float = 1.0) -> dict[str, float]:
    """PSNR and SSIM between predicted and reference images.

    Args:
        predictions (list of images): the predicted images, each a float array (or nested list) of shape `(C, H, W)`
            with values in `[0, data_range]`; a whole batch may be one array of shape `(N, C, H, W)`. Images of one
            call may differ in size, but each prediction must have the shape of its reference, and images must be at
            least 11x11 pixels (the SSIM window). Values are neither clipped nor rescaled.
        references (list of images): the reference images, in the same form.
        data_range (`float`, defaults to 1.0): the range of the pixel values (1.0 for [0, 1], 255 for 8-bit images).

    Returns:
        `dict` with two `float`s:

        - `psnr`: the mean over images of the peak signal-to-noise ratio in dB, `10 * log10(data_range**2 / MSE)`
          with the MSE over all channels and pixels of the image. An image equal to its reference has an infinite
          PSNR (there is no cap), so the mean is then `inf` as well.
        - `ssim`: the mean over images of the structural similarity of Wang et al. (2004): 11x11 Gaussian window
          (sigma 1.5), `K1 = 0.01`, `K2 = 0.03`, population (not sample) statistics, computed per channel and averaged
          over the channels and the pixels of the SSIM map. The Gaussian filtering is done in 'valid' mode (only
          windows that lie inside the image, as the MATLAB code of Wang et al. and the cropped map of
          `skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
          use_sample_covariance=False)`), so no padding is involved. 1.0 for identical images.

    Raises:
        `ValueError`: if the numbers of predictions and references differ or are 0, or if an image is malformed, naming
        the image index (e.g. `"predictions[2] and references[2]: expected the same shape, got (3, 16, 16) and (3, 16,
        15)"`, `"references[0]: expected an image of shape (C, H, W), got shape (16, 16)"`).

    Example (checked by `tests/test_image_reconstruction_metric.py`):

    ```python
    import numpy as np
    from hyperset_hf.metrics import image_reconstruction_metrics

    reference = np.full((1, 1, 16, 16), 0.5)
    results = image_reconstruction_metrics(predictions=reference + 0.125, references=reference)
    # {'psnr': 18.0618, 'ssim': 0.9756} rounded: PSNR 10 * log10(64), SSIM its luminance term only
    ```
    """
    pairs = _parse_images(predictions, references)
    data_range = float(data_range)
    if not data_range > 0:
        raise ValueError(f"data_range: expected a positive number, got {data_range}")
    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    psnrs, ssims = [], []
    for prediction, reference in pairs:
        mse = float(np.mean((prediction - reference) ** 2))
        psnrs.append(10.0 * np.log10(data_range**2 / mse) if mse > 0 else float("inf"))
        x, y = prediction, reference
        mu_x, mu_y, xx, yy, xy = _gaussian_filter_valid(np.stack([x, y, x * x, y * y, x * y]))
        var_x, var_y, cov_xy = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
        numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
        denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
        ssims.append(float(np.mean(numerator / denominator)))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}


def masked_region_psnr(predictions: Any, references: Any, masks: Any, data_range: float = 1.0) -> float:
    """PSNR over the masked (hidden) pixels only, per image, averaged over the images: `10 * log10(data_range**2 /
    MSE)` with the MSE over the image's masked pixels (all channels). Images without a masked pixel are left out.

    Args:
        predictions (`np.ndarray` of shape `(N, C, H, W)`): the completed images, values in `[0, data_range]`.
        references (`np.ndarray` of shape `(N, C, H, W)`): the original images.
        masks (`np.ndarray` of shape `(N, H, W)`, `(N, 1, H, W)` or `(N, C, H, W)`): True where a pixel was hidden.
        data_range (`float`, defaults to 1.0): the range of the pixel values.

    Returns:
        `float`: the mean PSNR in dB (`inf` if a masked region is reproduced exactly, `nan` if no pixel is masked).

    Raises:
        `ValueError`: if the shapes do not match or the masks are not boolean.

    Example: a masked half off by 0.1 and a visible half off by 0.5 -> 20 dB (the visible half does not count).

    ```python
    >>> import numpy as np
    >>> from hyperset_hf.metrics import masked_region_psnr
    >>> reference = np.zeros((1, 1, 2, 2)); mask = np.array([[[True, False], [True, False]]])
    >>> round(masked_region_psnr(reference + np.array([0.1, 0.5]), reference, mask), 6)
    20.0

    ```
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    masks = np.asarray(masks)
    if predictions.ndim != 4 or predictions.shape != references.shape:
        raise ValueError(
            "predictions and references: expected arrays of the same shape (N, C, H, W), got "
            f"{predictions.shape} and {references.shape}"
        )
    if masks.dtype != np.bool_:
        raise ValueError(f"masks: expected a boolean array (True = hidden pixel), got dtype {masks.dtype}")
    given_shape = masks.shape
    try:
        masks = np.broadcast_to(masks[:, None] if masks.ndim == 3 else masks, predictions.shape)
    except ValueError:
        raise ValueError(
            f"masks: expected shape (N, H, W), (N, 1, H, W) or (N, C, H, W) for images {predictions.shape}, got "
            f"{given_shape}"
        ) from None
    data_range = float(data_range)
    if not data_range > 0:
        raise ValueError(f"data_range: expected a positive number, got {data_range}")
    counts = masks.reshape(len(masks), -1).sum(1)
    squared = np.where(masks, (predictions - references) ** 2, 0.0).reshape(len(masks), -1).sum(1)
    kept = counts > 0
    if not kept.any():
        return float("nan")
    mse = squared[kept] / counts[kept]
    with np.errstate(divide="ignore"):
        return float(np.mean(10.0 * np.log10(data_range**2 / mse)))
