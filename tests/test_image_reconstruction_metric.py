# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the image reconstruction metric (PSNR, SSIM): `hyperset_hf.metrics.image_reconstruction_metrics` and the
`evaluate` module `image_reconstruction` loaded from its folder (offline), with exact values on hand-made images."""

import doctest
import importlib
import inspect
import math
import os
import socket

import numpy as np
import pytest

from hyperset_hf import metrics
from hyperset_hf.metrics import (
    IMAGE_RECONSTRUCTION_METRIC_PATH,
    image_reconstruction_metrics,
    load_image_reconstruction_metric,
    masked_region_psnr,
)


C1, C2 = 0.01**2, 0.03**2


@pytest.fixture(scope="module")
def image_reconstruction():
    return load_image_reconstruction_metric()


def both(image_reconstruction, **inputs):
    """The results of the numpy function and of the evaluate module, checked to be equal."""
    expected = image_reconstruction_metrics(**inputs)
    assert set(expected) == {"psnr", "ssim"}
    assert all(type(value) is float for value in expected.values())
    assert image_reconstruction.compute(**inputs) == expected
    return expected


def dyadic_images(shape, seed=0):
    """Random images in [0, 0.75] with values on a 1/64 grid, so that adding 1/8 or 1/4 is exact in floating point."""
    return np.random.default_rng(seed).integers(0, 49, size=shape) / 64


def reference_ssim(x, y, data_range=1.0):
    """Brute-force SSIM of one (C, H, W) pair: the full 11x11 Gaussian window at every position inside the image."""
    offsets = np.arange(11) - 5
    window = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for channel in range(x.shape[0]):
        for top in range(x.shape[1] - 10):
            for left in range(x.shape[2] - 10):
                a, b = x[channel, top : top + 11, left : left + 11], y[channel, top : top + 11, left : left + 11]
                mu_a, mu_b = (window * a).sum(), (window * b).sum()
                var_a, var_b = (window * (a - mu_a) ** 2).sum(), (window * (b - mu_b) ** 2).sum()
                cov = (window * (a - mu_a) * (b - mu_b)).sum()
                values.append(
                    (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
                )
    return float(np.mean(values))


# ---------------------------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 1, 11, 11), (3, 1, 28, 20)])
def test_identical_images(image_reconstruction, shape):
    images = np.random.default_rng(0).random(shape)
    assert both(image_reconstruction, predictions=images, references=images) == {"psnr": math.inf, "ssim": 1.0}


@pytest.mark.parametrize("offset", [1 / 8, 1 / 4])
def test_constant_offset_psnr_is_exact(image_reconstruction, offset):
    references = dyadic_images((3, 3, 16, 16))
    results = both(image_reconstruction, predictions=references + offset, references=references)
    assert results["psnr"] == 10 * math.log10(1 / offset**2)
    assert results["ssim"] < 1.0


def test_psnr_is_the_mean_of_per_image_psnrs(image_reconstruction):
    references = dyadic_images((2, 1, 12, 12))
    predictions = references + np.array([1 / 8, 1 / 4]).reshape(2, 1, 1, 1)
    results = both(image_reconstruction, predictions=predictions, references=references)
    assert results["psnr"] == pytest.approx((10 * math.log10(64) + 10 * math.log10(16)) / 2, abs=1e-12)


def test_psnr_data_range(image_reconstruction):
    references = dyadic_images((1, 3, 12, 12)) * 255
    results = both(image_reconstruction, predictions=references + 4.0, references=references, data_range=255)
    assert results["psnr"] == pytest.approx(10 * math.log10(255**2 / 16), abs=1e-12)


@pytest.mark.parametrize(
    ("mu_x", "mu_y", "data_range"), [(0.5, 0.625, 1.0), (0.1, 0.9, 1.0), (0.0, 0.25, 1.0), (40, 200, 255)]
)
def test_ssim_of_constant_images_is_the_luminance_term(image_reconstruction, mu_x, mu_y, data_range):
    predictions = np.full((2, 3, 13, 17), float(mu_x))
    references = np.full((2, 3, 13, 17), float(mu_y))
    c1 = (0.01 * data_range) ** 2
    results = both(image_reconstruction, predictions=predictions, references=references, data_range=data_range)
    assert results["ssim"] == pytest.approx((2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1), rel=1e-12)


def test_ssim_matches_a_brute_force_implementation(image_reconstruction):
    rng = np.random.default_rng(1)
    references = rng.random((2, 2, 14, 13))
    predictions = np.clip(references + 0.2 * rng.standard_normal(references.shape), 0, 1)
    results = both(image_reconstruction, predictions=predictions, references=references)
    expected = np.mean([reference_ssim(p, r) for p, r in zip(predictions, references)])
    assert results["ssim"] == pytest.approx(expected, abs=1e-12)
    # SSIM is symmetric, and images of different sizes may be mixed in one call
    assert image_reconstruction_metrics(references, predictions)["ssim"] == pytest.approx(results["ssim"], abs=1e-14)
    mixed_predictions = [predictions[0], predictions[1][:, :12]]
    mixed_references = [references[0], references[1][:, :12]]
    mixed = image_reconstruction_metrics(mixed_predictions, mixed_references)
    expected = np.mean([reference_ssim(p, r) for p, r in zip(mixed_predictions, mixed_references)])
    assert mixed["ssim"] == pytest.approx(expected, abs=1e-12)


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(2)
    references = rng.random((3, 3, 24, 20))
    predictions = np.clip(references + 0.1 * rng.standard_normal(references.shape), 0, 1)
    expected = np.mean(
        [
            skimage_metrics.structural_similarity(
                p, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=0
            )
            for p, r in zip(predictions, references)
        ]
    )
    psnr = np.mean(
        [skimage_metrics.peak_signal_noise_ratio(r, p, data_range=1) for p, r in zip(predictions, references)]
    )
    results = image_reconstruction_metrics(predictions, references)
    assert results["ssim"] == pytest.approx(expected, abs=1e-10)
    assert results["psnr"] == pytest.approx(psnr, abs=1e-10)


def test_evaluate_module_agrees_with_numpy_function(image_reconstruction):
    rng = np.random.default_rng(3)
    references = rng.random((5, 3, 16, 16))
    predictions = np.clip(references + 0.05 * rng.standard_normal(references.shape), 0, 1)
    expected = image_reconstruction_metrics(predictions, references)
    assert image_reconstruction.compute(predictions=predictions.tolist(), references=references.tolist()) == expected
    for start, stop in ((0, 2), (2, 5)):
        image_reconstruction.add_batch(predictions=predictions[start:stop], references=references[start:stop])
    assert image_reconstruction.compute() == expected
    for prediction, reference in zip(predictions, references):
        image_reconstruction.add(prediction=prediction, reference=reference)
    assert image_reconstruction.compute(data_range=1.0) == expected
    assert 0.0 < expected["ssim"] < 1.0 and 20.0 < expected["psnr"] < 40.0


def test_evaluate_module_wraps_the_package_function(image_reconstruction):
    # one copy of the computation: the evaluate script calls the package's numpy function
    module = importlib.import_module(type(image_reconstruction).__module__)
    for name in ("image_reconstruction_metrics", "_parse_images"):
        assert getattr(module, name) is getattr(metrics, name), name


def test_bad_shapes_raise_naming_the_index(image_reconstruction):
    images = np.zeros((3, 3, 16, 16))
    cropped = [images[0], images[1], images[2][:, :, :15]]
    message = r"predictions\[2\] and references\[2\]: expected the same shape, got \(3, 16, 15\) and \(3, 16, 16\)"
    with pytest.raises(ValueError, match=message):
        image_reconstruction_metrics(cropped, images)
    with pytest.raises(ValueError, match=message):
        image_reconstruction.compute(predictions=cropped, references=images)
    not_chw = r"\[0\]: expected an image of shape \(C, H, W\), got shape \(16, 16\)"
    with pytest.raises(ValueError, match=r"predictions" + not_chw):
        image_reconstruction_metrics(images[:, 0], images[:, 0])
    with pytest.raises(ValueError, match=r"references" + not_chw):
        image_reconstruction.compute(predictions=images, references=images[:, 0])
    with pytest.raises(ValueError, match=r"predictions\[1\]: expected images of at least 11x11 pixels"):
        image_reconstruction_metrics([images[0], images[1][:, :10]], [images[0], images[1][:, :10]])
    with pytest.raises(ValueError, match=r"predictions\[0\]: expected finite pixel values"):
        image_reconstruction_metrics(np.full((1, 1, 12, 12), np.nan), np.zeros((1, 1, 12, 12)))
    with pytest.raises(ValueError, match="got 3 predictions and 2 references"):
        image_reconstruction.compute(predictions=images, references=images[:2])
    with pytest.raises(ValueError, match="expected at least one image"):
        image_reconstruction_metrics([], [])
    with pytest.raises(ValueError, match="data_range: expected a positive number"):
        image_reconstruction_metrics(images, images, data_range=0)


# ---------------------------------------------------------------------------------------------------------------------
# Loading and documentation
# ---------------------------------------------------------------------------------------------------------------------


def test_load_image_reconstruction_metric_offline(monkeypatch):
    import evaluate

    assert os.environ["HF_HUB_OFFLINE"] == "1"

    def no_network(*args, **kwargs):
        raise AssertionError("the image reconstruction metric tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert os.path.isfile(os.path.join(IMAGE_RECONSTRUCTION_METRIC_PATH, "image_reconstruction.py"))
    assert os.path.isfile(os.path.join(IMAGE_RECONSTRUCTION_METRIC_PATH, "README.md"))
    images = np.full((1, 1, 12, 12), 0.5)
    loaded = (load_image_reconstruction_metric(keep_in_memory=True), evaluate.load(IMAGE_RECONSTRUCTION_METRIC_PATH))
    for module in loaded:
        assert isinstance(module, evaluate.EvaluationModule)
        assert module.name == "image_reconstruction"
        assert "wang2004ssim" in module.citation
        assert module.compute(predictions=images, references=images) == {"psnr": math.inf, "ssim": 1.0}


def test_docstring_and_metric_card_examples(image_reconstruction):
    options = doctest.NORMALIZE_WHITESPACE
    module = importlib.import_module(type(image_reconstruction).__module__)
    test = doctest.DocTestParser().get_doctest(module._KWARGS_DESCRIPTION, {}, "_KWARGS_DESCRIPTION", None, 0)
    runner = doctest.DocTestRunner(optionflags=options)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, 6)
    card = os.path.join(IMAGE_RECONSTRUCTION_METRIC_PATH, "README.md")
    assert doctest.testfile(card, module_relative=False, optionflags=options) == (0, 6)
    # the (prompt-less) example of the numpy function's docstring
    reference = np.full((1, 1, 16, 16), 0.5)
    results = image_reconstruction_metrics(predictions=reference + 0.125, references=reference)
    assert {name: round(value, 4) for name, value in results.items()} == {"psnr": 18.0618, "ssim": 0.9756}
    assert "{'psnr': 18.0618, 'ssim': 0.9756}" in inspect.getsource(image_reconstruction_metrics)


def test_masked_region_psnr_counts_only_the_hidden_pixels():
    rng = np.random.default_rng(0)
    references = rng.random((3, 2, 8, 8))
    predictions = references.copy()
    masks = np.zeros((3, 8, 8), dtype=bool)
    masks[:, :4] = True  # the top half hidden
    errors = np.array([0.1, 0.2, 0.05])
    predictions[:, :, :4] += errors[:, None, None, None]
    predictions[:, :, 4:] += 0.7  # the visible half is far off, and must not count
    expected = np.mean(10 * np.log10(1 / errors**2))
    assert masked_region_psnr(predictions, references, masks) == pytest.approx(expected, rel=1e-12)
    assert masked_region_psnr(predictions, references, masks[:, None]) == pytest.approx(expected, rel=1e-12)
    # all pixels hidden: the whole-image PSNR of image_reconstruction_metrics
    large_references = rng.random((2, 1, 16, 16))
    large_predictions = np.clip(large_references + rng.normal(0, 0.1, large_references.shape), 0, 1)
    assert masked_region_psnr(large_predictions, large_references, np.ones((2, 16, 16), bool)) == pytest.approx(
        image_reconstruction_metrics(predictions=large_predictions, references=large_references)["psnr"], rel=1e-12
    )
    # images without a hidden pixel are left out; data_range scales like PSNR
    masks[1] = False
    assert masked_region_psnr(predictions, references, masks) == pytest.approx(
        np.mean(10 * np.log10(1 / errors[[0, 2]] ** 2)), rel=1e-12
    )
    assert masked_region_psnr(predictions * 255, references * 255, masks, data_range=255) == pytest.approx(
        masked_region_psnr(predictions, references, masks), rel=1e-9
    )
    assert math.isnan(masked_region_psnr(predictions, references, np.zeros_like(masks)))


@pytest.mark.parametrize(
    "predictions, references, masks, message",
    [
        (np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 5)), np.ones((2, 4, 4), bool), r"same shape .* \(2, 1, 4, 5\)"),
        (np.zeros((1, 4, 4)), np.zeros((1, 4, 4)), np.ones((1, 4, 4), bool), r"\(N, C, H, W\), got \(1, 4, 4\)"),
        (np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 4)), np.ones((2, 4, 4)), "boolean array .* got dtype float64"),
        (np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 4)), np.ones((2, 3, 3), bool), r"masks: expected shape .* \(2, 3, 3\)"),
    ],
)
def test_masked_region_psnr_bad_inputs(predictions, references, masks, message):
    with pytest.raises(ValueError, match=message):
        masked_region_psnr(predictions, references, masks)
