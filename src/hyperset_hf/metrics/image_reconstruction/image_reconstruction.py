# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Image reconstruction: PSNR and SSIM between predicted and reference images, as an `evaluate` metric.

The computation lives in `hyperset_hf.metrics` (the plain numpy function, also usable without `evaluate`); this
script only wraps it as an `evaluate.Metric`, so it needs the package installed (it ships inside it).
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate

from hyperset_hf.metrics import _parse_images, image_reconstruction_metrics


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
