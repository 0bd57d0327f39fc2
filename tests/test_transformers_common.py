"""transformers' own common model tests (`ModelTesterMixin`) on both families, with small testers, as an in-tree model
would be tested.

The mixin lives in transformers' `tests/test_modeling_common.py`, which the wheel does not ship; the source
distribution on PyPI does. With `HYPERSET_DOWNLOAD_TRANSFORMERS_TESTS=1` (set by `.ci/run` for the main run) the
installed version's source distribution is downloaded from PyPI (`pip download --no-binary :all:`) into the user
cache; `TRANSFORMERS_TESTS_DIR` points at a `tests/` folder directly. Without either these tests are skipped. The two helper modules the
file imports for generative and exportable models (`exporters/test_export.py`, `generation/test_utils.py`, not in the
source distribution) are empty stand-ins here: neither family generates text nor is tested for export.

What an in-tree model gets from being named in transformers' Auto mappings (which classes are base models, the labels
of each head) comes from adding our names to copies of those mappings; the tests that do not apply are skipped with
the reason.
"""

import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import types
import unittest
from pathlib import Path

import pytest
import torch
import transformers


def _common_tests_dir() -> Path | None:
    """`TRANSFORMERS_TESTS_DIR`, else the tests/ folder of the installed version's source distribution in the user
    cache, downloaded from PyPI (not the Hub) when `HYPERSET_DOWNLOAD_TRANSFORMERS_TESTS=1` (as .ci/run sets)."""
    if os.environ.get("TRANSFORMERS_TESTS_DIR"):
        return Path(os.environ["TRANSFORMERS_TESTS_DIR"])
    cache = Path.home() / ".cache" / "hyperset_hf" / "transformers-tests" / transformers.__version__
    if not (cache / "tests" / "test_modeling_common.py").is_file() and (
        os.environ.get("HYPERSET_DOWNLOAD_TRANSFORMERS_TESTS") == "1"
    ):
        with tempfile.TemporaryDirectory() as download:
            fetched = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 f"transformers=={transformers.__version__}", "--dest", download],
                timeout=600,
            )  # fmt: skip
            archives = list(Path(download).glob("transformers-*.tar.gz"))
            if fetched.returncode != 0 or not archives:
                return cache / "tests"  # not reachable: the module is skipped below
            with tarfile.open(archives[0]) as archive:
                members = [member for member in archive.getmembers() if "/tests/" in member.name]
                for member in members:
                    member.name = member.name.split("/", 1)[1]  # drop the transformers-<version>/ prefix
                archive.extractall(cache, members=members, filter="data")
    return cache / "tests"


TESTS_DIR = _common_tests_dir()
if not (TESTS_DIR / "test_modeling_common.py").is_file():
    pytest.skip(
        "transformers' common model tests are not available (set TRANSFORMERS_TESTS_DIR to the tests/ folder of the "
        f"transformers {transformers.__version__} source distribution, or HYPERSET_DOWNLOAD_TRANSFORMERS_TESTS=1 to "
        "download it from PyPI, as .ci/run does)",
        allow_module_level=True,
    )
pytest.importorskip("parameterized")


def _load_common_tests():
    """Imports transformers' tests/test_modeling_common.py as the package `transformers_common_tests`."""
    package = "transformers_common_tests"
    if f"{package}.test_modeling_common" in sys.modules:
        return sys.modules[f"{package}.test_modeling_common"]
    module = types.ModuleType(package)
    module.__path__ = [str(TESTS_DIR)]
    sys.modules[package] = module
    for name, mixin in (("exporters.test_export", "ExportTesterMixin"), ("generation.test_utils", "GenerationTesterMixin")):
        parent = f"{package}.{name.split('.')[0]}"
        sys.modules.setdefault(parent, types.ModuleType(parent))
        stand_in = types.ModuleType(f"{package}.{name}")
        setattr(stand_in, mixin, type(mixin, (), {}))
        sys.modules[f"{package}.{name}"] = stand_in
    spec = importlib.util.spec_from_file_location(
        f"{package}.test_modeling_common", Path(TESTS_DIR) / "test_modeling_common.py"
    )
    common = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = common
    spec.loader.exec_module(common)
    return common


common = _load_common_tests()
# An in-tree model is named in transformers' Auto mappings, from which the mixin picks the base models (no loss, no
# training test) and the labels of each head: name ours the same way (copies of the mappings, for these tests only).
for mapping, names in (
    ("MODEL_MAPPING_NAMES", {"hyperset": "HyperSETModel", "energy_transformer": "EnergyTransformerModel"}),
    ("MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
     {"hyperset": "HyperSETForImageClassification", "energy_transformer": "EnergyTransformerForImageClassification"}),
    ("MODEL_FOR_MASKED_IMAGE_MODELING_MAPPING_NAMES",
     {"hyperset": "HyperSETForMaskedImageModeling", "energy_transformer": "EnergyTransformerForMaskedImageModeling"}),
    ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", {"hyperset": "HyperSETForMaskedTokenModeling"}),
):  # fmt: skip
    setattr(common, mapping, {**getattr(common, mapping), **names})

from hyperset_hf import (  # noqa: E402
    EnergyTransformerConfig,
    EnergyTransformerForImageClassification,
    EnergyTransformerForMaskedImageModeling,
    EnergyTransformerModel,
    HyperSETConfig,
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
    HyperSETForMaskedTokenModeling,
    HyperSETModel,
)


class ImageModelTester:
    """Small image models: 16-px images in 4-px patches (17 tokens), d=32, 2 iterations."""

    def __init__(self, parent, config_class, **config_values):
        self.parent, self.config_class = parent, config_class
        self.batch_size, self.image_size, self.patch_size, self.num_channels = 2, 16, 4, 3
        self.num_labels = self.type_sequence_label_size = 5
        self.hidden_size, self.num_attention_heads, self.num_hidden_layers = 32, 4, 2
        self.seq_length = (self.image_size // self.patch_size) ** 2 + 1
        self.mask_length = self.seq_length - 1  # patches (as transformers' ViT tester)
        self.num_masks = self.mask_length // 2
        self.is_training = True
        self.config_values = config_values

    def get_config(self):
        return self.config_class(
            hidden_size=self.hidden_size, num_attention_heads=self.num_attention_heads,
            num_recurrences=self.num_hidden_layers, image_size=self.image_size, patch_size=self.patch_size,
            num_channels=self.num_channels, num_labels=self.num_labels, **self.config_values,
        )  # fmt: skip

    def prepare_config_and_inputs_for_common(self):
        pixel_values = common.floats_tensor([self.batch_size, self.num_channels, self.image_size, self.image_size])
        return self.get_config(), {"pixel_values": pixel_values}


class TokenModelTester:
    """Small masked token models: 4x4 grids of codes from a codebook of 16 (id 16 = mask), d=32, 2 iterations."""

    def __init__(self, parent):
        self.parent = parent
        self.batch_size, self.codebook_size, self.token_grid_size = 2, 16, 4
        self.seq_length = self.token_grid_size**2
        self.hidden_size, self.num_attention_heads, self.num_hidden_layers = 32, 4, 2
        self.is_training = True

    def get_config(self):
        return HyperSETConfig.from_preset(
            "mim", hidden_size=self.hidden_size, num_attention_heads=self.num_attention_heads, intermediate_size=48,
            time_embedding_size=self.hidden_size, num_recurrences=self.num_hidden_layers, codebook_size=self.codebook_size,
            token_grid_size=self.token_grid_size,
        )  # fmt: skip

    def prepare_config_and_inputs_for_common(self):
        input_ids = common.ids_tensor([self.batch_size, self.seq_length], self.codebook_size + 1)  # mask id included
        return self.get_config(), {"input_ids": input_ids}


class OurModelTestMixin(common.ModelTesterMixin):
    test_resize_embeddings = False  # patch embeddings: no vocabulary to resize
    test_torch_exportable = False

    def test_model_get_set_embeddings(self):
        # as transformers' ViT tests: image models embed patches, not a vocabulary
        config, _ = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            model = model_class(config)
            self.assertIsInstance(model.get_input_embeddings(), torch.nn.Module)


class HyperSETModelTest(OurModelTestMixin, unittest.TestCase):
    all_model_classes = (HyperSETModel, HyperSETForImageClassification, HyperSETForMaskedImageModeling)

    def setUp(self):
        self.model_tester = ImageModelTester(self, HyperSETConfig, intermediate_size=48, time_embedding_size=16)


class HyperSETMaskedTokenModelTest(OurModelTestMixin, unittest.TestCase):
    all_model_classes = (HyperSETForMaskedTokenModeling,)

    def setUp(self):
        self.model_tester = TokenModelTester(self)


class EnergyTransformerModelTest(OurModelTestMixin, unittest.TestCase):
    all_model_classes = (
        EnergyTransformerModel, EnergyTransformerForImageClassification, EnergyTransformerForMaskedImageModeling,
    )  # fmt: skip

    def setUp(self):
        self.model_tester = ImageModelTester(self, EnergyTransformerConfig, head_dim=8, num_memories=64)
