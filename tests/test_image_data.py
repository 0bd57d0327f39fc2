# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Tests of the IDX reader and the offline Fashion-MNIST loader: tiny fixtures, and Debian's copy when installed."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from hyperset_hf.data.images import DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_LABELS, load_fashion_mnist, read_idx


TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    """The IDX encoding of `array`, written independently of the reader: magic, big-endian dims, big-endian data."""
    array = np.asarray(array)
    code = TYPE_CODES[array.dtype.kind + str(array.dtype.itemsize)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress):
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if compress else data)
    return path


def fixture_split(num_images, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=num_images, dtype=np.uint8)
    return images, labels


def write_fashion_mnist(directory, compress, train=(5, 0), test=(3, 1)):
    """Writes the four Fashion-MNIST files (5 train and 3 test examples by default); returns the arrays."""
    arrays = {}
    for split, prefix, (num_images, seed) in (("train", "train", train), ("test", "t10k", test)):
        images, labels = fixture_split(num_images, seed)
        suffix = ".gz" if compress else ""
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
        arrays[split] = (images, labels)
    return arrays


# ----------------------------------------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8),
        np.array([0, 9, 3, 255, 1], dtype=np.uint8),
        np.array([[-128, 127], [0, -1]], dtype=np.int8),
        np.array([-32768, 32767, 258], dtype=np.int16),
        np.array([[[-(2**31), 2**31 - 1, 16909060]]], dtype=np.int32),
        np.array([1.5, -0.25, np.inf], dtype=np.float32),
        np.array([np.pi, -1e300], dtype=np.float64),
    ],
    ids=["uint8-3d", "uint8-1d", "int8", "int16", "int32", "float32", "float64"],
)
def test_read_idx_round_trip(tmp_path, array, compress):
    path = write_idx(tmp_path / "data.idx", array, compress)
    result = read_idx(path)
    assert result.shape == array.shape
    assert result.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(result, array)
    result[...] = 0  # writable


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gzipped_without_suffix = write_idx(tmp_path / "labels-idx2-ubyte", array, compress=True)
    raw_with_suffix = write_idx(tmp_path / "labels-idx2-ubyte.gz", array, compress=False)
    np.testing.assert_array_equal(read_idx(gzipped_without_suffix), array)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), array)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_max_items(tmp_path, compress):
    array = np.arange(5 * 2 * 3, dtype=np.int32).reshape(5, 2, 3)
    path = write_idx(tmp_path / "data.idx", array, compress)
    np.testing.assert_array_equal(read_idx(path, max_items=2), array[:2])
    np.testing.assert_array_equal(read_idx(path, max_items=99), array)
    assert read_idx(path, max_items=0).shape == (0, 2, 3)
    with pytest.raises(ValueError, match="max_items must be non-negative"):
        read_idx(path, max_items=-1)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda data: b"\x08\x03" + data[2:], r"bad magic number 0x08030803"),
        (lambda data: data[:2] + b"\x07" + data[3:], r"unknown type code 0x07"),
        (lambda data: data[:3] + b"\x00" + data[4:], r"declares 0 dimensions"),
        (lambda data: data[:3], r"too short for an IDX header"),
        (lambda data: data[:10], r"truncated header \(3 dimension sizes\): expected 12 bytes, found 6"),
        (
            lambda data: data[:-1],
            r"truncated data: the header declares shape \(2, 3, 4\) of uint8 \(24 bytes\), found 23 bytes",
        ),
        (lambda data: data + b"\x00\x00", r"size mismatch: 2 bytes after the 24 bytes of data"),
    ],
    ids=["bad-magic", "bad-type", "zero-dims", "short-header", "truncated-dims", "truncated-data", "trailing-data"],
)
def test_read_idx_malformed(tmp_path, compress, mutate, message):
    data = mutate(idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8)))
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=message) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_read_idx_corrupt_gzip(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match=r"corrupt or truncated gzip stream") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing-here")


# ------------------------------------------------------------------------------------------------ load_fashion_mnist


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("image_format", ["pgm", "png"])
def test_load_fashion_mnist_fixture(tmp_path, compress, image_format):
    import datasets

    arrays = write_fashion_mnist(tmp_path, compress)
    for split, expected_length in (("train", 5), ("test", 3)):
        dataset = load_fashion_mnist(split, data_dir=tmp_path, image_format=image_format)
        images, labels = arrays[split]
        assert isinstance(dataset, datasets.Dataset)
        assert len(dataset) == expected_length
        assert str(dataset.split) == split
        assert dataset.features == datasets.Features(
            {"image": datasets.Image(), "label": datasets.ClassLabel(names=FASHION_MNIST_LABELS)}
        )
        assert dataset.info.license == "MIT"
        assert dataset["label"] == labels.tolist()
        for index, example in enumerate(dataset):
            image = example["image"]
            assert image.mode == "L" and image.size == (28, 28)
            np.testing.assert_array_equal(np.asarray(image), images[index])


def test_load_fashion_mnist_max_samples(tmp_path):
    arrays = write_fashion_mnist(tmp_path, compress=True)
    dataset = load_fashion_mnist("train", data_dir=tmp_path, max_samples=2)
    images, labels = arrays["train"]
    assert len(dataset) == 2
    assert dataset["label"] == labels[:2].tolist()
    np.testing.assert_array_equal(np.asarray(dataset[1]["image"]), images[1])
    assert len(load_fashion_mnist("train", data_dir=tmp_path, max_samples=100)) == 5
    assert len(load_fashion_mnist("train", data_dir=tmp_path, max_samples=0)) == 0
    with pytest.raises(ValueError, match="max_samples must be non-negative"):
        load_fashion_mnist("train", data_dir=tmp_path, max_samples=-1)


def test_load_fashion_mnist_prefers_uncompressed_and_mixes(tmp_path):
    images, labels = fixture_split(4, seed=7)
    write_idx(tmp_path / "train-images-idx3-ubyte", images, compress=False)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images[::-1], compress=True)  # ignored: raw file exists
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, compress=True)
    dataset = load_fashion_mnist(data_dir=str(tmp_path))
    assert dataset["label"] == labels.tolist()
    np.testing.assert_array_equal(np.asarray(dataset[0]["image"]), images[0])


def test_load_fashion_mnist_env_var(tmp_path, monkeypatch):
    arrays = write_fashion_mnist(tmp_path, compress=False)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    assert load_fashion_mnist("test")["label"] == arrays["test"][1].tolist()


def test_load_fashion_mnist_missing_files(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as error:
        load_fashion_mnist("test", data_dir=tmp_path)
    message = str(error.value)
    for expected in ("t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]", str(tmp_path), "data_dir argument"):
        assert expected in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert DEBIAN_FASHION_MNIST_DIR in message

    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8), compress=True)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        load_fashion_mnist("train")
    message = str(error.value)
    assert "train-images-idx3-ubyte[.gz] not found" in message and "train-labels" not in message
    assert "FASHION_MNIST_DIR environment variable" in message


def test_load_fashion_mnist_count_mismatch(tmp_path):
    images, labels = fixture_split(5, seed=0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:4], compress=True)
    with pytest.raises(ValueError, match=r"5 images in .*train-images-idx3-ubyte.gz but 4 labels in"):
        load_fashion_mnist("train", data_dir=tmp_path)
    with pytest.raises(ValueError, match=r"5 images .* but 4 labels"):  # also when only a prefix is read
        load_fashion_mnist("train", data_dir=tmp_path, max_samples=2)


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((2, 32, 32), np.uint8), np.zeros(2, np.uint8), r"expected uint8 images of shape \(N, 28, 28\), got "
         r"uint8 of shape \(2, 32, 32\)"),
        (np.zeros((2, 28, 28), np.float32), np.zeros(2, np.uint8), r"got float32 of shape \(2, 28, 28\)"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros((2, 1), np.uint8), r"expected uint8 labels of shape \(N,\)"),
        (np.zeros((2, 28, 28), np.uint8), np.array([3, 10], np.uint8), r"label 10 at index 1 is out of range 0-9"),
    ],
    ids=["image-size", "image-dtype", "label-shape", "label-range"],
)
def test_load_fashion_mnist_bad_contents(tmp_path, images, labels, message):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images, compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, compress=False)
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist("test", data_dir=tmp_path)


def test_load_fashion_mnist_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'validation'"):
        load_fashion_mnist("validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match="image_format must be 'pgm' or 'png'"):
        load_fashion_mnist("train", data_dir=tmp_path, image_format="jpeg")


# ------------------------------------------------------------------------------------------- the real Debian files


@pytest.mark.skipif(
    not Path(DEBIAN_FASHION_MNIST_DIR).exists(),
    reason=f"{DEBIAN_FASHION_MNIST_DIR} not found (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.parametrize("split, prefix, num_examples", [("train", "train", 60000), ("test", "t10k", 10000)])
def test_debian_fashion_mnist(split, prefix, num_examples):
    directory = Path(DEBIAN_FASHION_MNIST_DIR)
    images = read_idx(directory / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(directory / f"{prefix}-labels-idx1-ubyte.gz")
    assert images.shape == (num_examples, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (num_examples,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [num_examples // 10] * 10
    assert images.min() == 0 and images.max() == 255

    dataset = load_fashion_mnist(split, data_dir=directory, max_samples=64)
    assert len(dataset) == 64
    assert dataset["label"] == labels[:64].tolist()
    for index in (0, 63):
        np.testing.assert_array_equal(np.asarray(dataset[index]["image"]), images[index])
    # The first image of both splits is an ankle boot.
    assert dataset.features["label"].int2str(dataset[0]["label"]) == "Ankle boot"


@pytest.mark.skipif(
    not Path(DEBIAN_FASHION_MNIST_DIR).exists(),
    reason=f"{DEBIAN_FASHION_MNIST_DIR} not found (apt-get install dataset-fashion-mnist)",
)
def test_debian_fashion_mnist_default_folder_full_test_split(monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    dataset = load_fashion_mnist("test")  # about 0.1 s
    assert len(dataset) == 10000
    assert np.bincount(dataset["label"], minlength=10).tolist() == [1000] * 10
