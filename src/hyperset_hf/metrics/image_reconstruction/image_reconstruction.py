# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Image reconstruction: PSNR and SSIM between predicted and reference images, as an `evaluate` metric.

This script is self-contained (it imports only numpy, datasets and evaluate), so that `evaluate.load` can copy it alone
into its modules cache. The constants and the functions marked `# Copied from hyperset_hf.metrics.<name>` are kept
identical to those of `hyperset_hf.metrics`, which also exposes them without `evaluate`.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
import numpy as np


_CITATION = """\
@article{wang2004ssim,
  title   = {Image Quality Assessment: From Error Visibility to Structural Similarity},
  author  = {Wang, Zhou and Bovik, Alan C. and Sheikh, Hamid R. and Simoncelli, Eero P.},
  journal = {IEEE Transactions on Image Processing},
  volume  = {13},
  number  = {4},
  pages   = {600--612},
  year    = {2004},
  doi     = {10.1109/TIP.2003.819861}
}
"""

_DESCRIPTION = """\
Image reconstruction scores predicted images against reference images with two full-reference measures:

- psnr: the peak signal-to-noise ratio in dB, 10 * log10(data_range**2 / MSE), per image (MSE over all channels and
  pixels), averaged over the images. An exact reconstruction has an infinite PSNR (no cap).
- ssim: the structural similarity index of Wang et al. (2004) with its standard settings (11x11 Gaussian window of
  standard deviation 1.5, K1 = 0.01, K2 = 0.03, population statistics), computed per channel on the windows that lie
  inside the image ('valid' filtering, no padding), averaged over the SSIM map and the channels, then over the images.
  It matches skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=data_range, channel_axis=0).

It is used for masked image modeling (e.g. examples/image-pretraining/run_mim.py of hyperset-hf) and other image
reconstruction tasks.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of images): the predicted images, each a float array (or nested list) of shape (C, H, W) with
        values in [0, data_range]; images of one call may differ in size. A batch may be one array (N, C, H, W).
    references (`list` of images): the reference images, each of the shape of its prediction.
    data_range (`float`, defaults to 1.0): the range of the pixel values (1.0 for [0, 1] images, 255 for 8-bit ones).

    Images must be at least 11x11 pixels (the SSIM window). Values are neither clipped nor rescaled.

Returns:
    psnr (`float`): mean over images of the PSNR in dB (`inf` if some image equals its reference).
    ssim (`float`): mean over images of the SSIM (1.0 for identical images).

Raises:
    `ValueError`: naming the image index, e.g. "predictions[2] and references[2]: expected the same shape, got
    (3, 16, 16) and (3, 16, 15)" or "references[0]: expected an image of shape (C, H, W), got shape (16, 16)"; also
    when the numbers of predictions and references differ or are 0.

Examples:

    A constant gray image against the same image brightened by 0.125: the MSE is 0.125**2 = 1/64, so the PSNR is
    10 * log10(64) dB, and the SSIM reduces to its luminance term (2 * 0.5 * 0.625 + C1) / (0.5**2 + 0.625**2 + C1).

    >>> import numpy as np
    >>> from hyperset_hf.metrics import load_image_reconstruction_metric  # or evaluate.load("path/to/folder")
    >>> image_reconstruction = load_image_reconstruction_metric()
    >>> reference = np.full((1, 1, 16, 16), 0.5)
    >>> results = image_reconstruction.compute(predictions=reference + 0.125, references=reference, data_range=1.0)
    >>> print({name: round(value, 4) for name, value in results.items()})
    {'psnr': 18.0618, 'ssim': 0.9756}
"""


# Copied from hyperset_hf.metrics (the constants)
_SSIM_WINDOW_SIZE = 11
_SSIM_SIGMA = 1.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03


# Copied from hyperset_hf.metrics._parse_images
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


# Copied from hyperset_hf.metrics._gaussian_filter_valid
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


# Copied from hyperset_hf.metrics.image_reconstruction_metrics
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


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ImageReconstruction(evaluate.Metric):
    """PSNR and SSIM between predicted and reference images."""

    def _info(self) -> evaluate.MetricInfo:
        image = datasets.Sequence(datasets.Sequence(datasets.Sequence(datasets.Value("float64"))))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # Images of shape (C, H, W); shapes are checked in `add_batch` and `_compute` (no fixed size here), so that
            # a bad image raises an error that names its index.
            features=datasets.Features({"predictions": image, "references": image}),
            reference_urls=["https://doi.org/10.1109/TIP.2003.819861"],
        )

    def add_batch(self, *, predictions=None, references=None, **kwargs) -> None:
        """Adds a batch of images (`predictions` and `references`, one of each per image)."""
        # Raise the `ValueError` of `image_reconstruction_metrics` (naming the image), not evaluate's format error.
        _parse_images(predictions, references)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def _compute(self, predictions: Any, references: Any, data_range: float = 1.0) -> dict[str, float]:
        return image_reconstruction_metrics(predictions=predictions, references=references, data_range=data_range)
