"""examples/image-classification/run_image_classification.py and examples/image-pretraining/run_mim*.py, end to end on a
tiny image folder written by the test (16 PNGs, 2 classes) with a tiny Hyper-SET (d=32, 2 heads, 16-px images in
4-px patches). Everything runs offline on CPU."""

import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import load_example
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import (
    AutoModel,
    AutoModelForImageClassification,
    AutoModelForMaskedImageModeling,
    ViTImageProcessor,
)

from hyperset_hf import HyperSETForImageClassification, HyperSETForMaskedImageModeling, HyperSETModel
from hyperset_hf.release.model_card import model_card_from_output_dir


ROOT = Path(__file__).resolve().parents[1]
CLASSIFICATION_SCRIPT = ROOT / "examples" / "image-classification" / "run_image_classification.py"
MIM_SCRIPT = ROOT / "examples" / "image-pretraining" / "run_mim.py"
MIM_NO_TRAINER_SCRIPT = ROOT / "examples" / "image-pretraining" / "run_mim_no_trainer.py"
TINY_CONFIG = "hidden_size=32,num_attention_heads=2,intermediate_size=32,num_recurrences=2,time_embedding_size=16"
CLASSES = ("dark", "light")


def load_script(path: Path):
    return load_example(path)


pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    """train/: 6 RGB images per class; val/: 2 grayscale images per class (exercises the channel conversion)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for split, count, mode in (("train", 6, "RGB"), ("val", 2, "L")):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                shape = (16, 16, 3) if mode == "RGB" else (16, 16)
                pixels = rng.normal(60 + 130 * label, 30, size=shape)
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode=mode).save(folder / f"{index}.png")
    return root


def trainer_arguments(image_folders, output_dir, cache_dir, *extra):
    return [
        "--train_dir", str(image_folders / "train"),
        "--validation_dir", str(image_folders / "val"),
        "--cache_dir", str(cache_dir),
        "--do_train", "--do_eval",
        "--max_steps", "2",
        "--per_device_train_batch_size", "4",
        "--per_device_eval_batch_size", "4",
        "--eval_strategy", "no",
        "--save_strategy", "no",
        "--report_to", "none",
        "--use_cpu",
        "--disable_tqdm", "true",
        "--seed", "0",
        "--output_dir", str(output_dir),
        *extra,
    ]  # fmt: skip


def test_image_classification_trains_evaluates_and_saves(image_folders, tmp_path):
    module = load_script(CLASSIFICATION_SCRIPT)
    output_dir = tmp_path / "classifier"
    metrics = module.main(
        trainer_arguments(
            image_folders,
            output_dir,
            tmp_path / "cache",
            "--config_overrides", TINY_CONFIG,
            "--random_crop_padding", "2", "--horizontal_flip",
            "--auto_augment", "--auto_augment_backend", "pil",
            "--label_smoothing", "0.1",
            "--adam_l2", "--learning_rate", "1e-3", "--weight_decay", "5e-5",
            "--lr_scheduler_type", "cosine_with_min_lr", "--lr_scheduler_kwargs", '{"min_lr": 1e-5}',
            "--warmup_steps", "0.5",
        )  # fmt: skip
    )
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and np.isfinite(metrics["eval_loss"])
    assert json.loads((output_dir / "eval_results.json").read_text())["eval_accuracy"] == metrics["eval_accuracy"]
    assert (output_dir / "preprocessor_config.json").is_file()

    model = AutoModelForImageClassification.from_pretrained(output_dir)
    assert isinstance(model, HyperSETForImageClassification)
    assert model.config.id2label == dict(enumerate(CLASSES)) and model.config.num_channels == 3
    assert model.config.image_size == 16 and model.config.hidden_size == 32
    processor = ViTImageProcessor.from_pretrained(output_dir)  # AutoImageProcessor needs torchvision on 5.17
    pixel_values = processor(Image.new("L", (28, 28), 128).convert("RGB"), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 3, 16, 16)
    assert model(pixel_values).logits.shape == (1, 2)


def test_mim_pretraining_then_classification_fine_tuning(image_folders, tmp_path):
    mim = load_script(MIM_SCRIPT)
    mim_dir = tmp_path / "mim"
    metrics = mim.main(
        trainer_arguments(image_folders, mim_dir, tmp_path / "cache", "--config_overrides", TINY_CONFIG)
    )
    assert np.isfinite(metrics["eval_loss"]) and metrics["eval_loss"] > 0
    # image metrics of the completed images (masked patches reconstructed, visible ones copied), de-normalised to [0, 1]
    assert np.isfinite(metrics["eval_psnr"]) and np.isfinite(metrics["eval_psnr_masked"])
    assert metrics["eval_psnr"] > metrics["eval_psnr_masked"] > 0 and 0.0 < metrics["eval_ssim"] < 1.0
    assert (mim_dir / "preprocessor_config.json").is_file()
    assert isinstance(AutoModelForMaskedImageModeling.from_pretrained(mim_dir), HyperSETForMaskedImageModeling)

    # the encoder of the MIM checkpoint loads into a classifier, whose head is new
    classifier, info = HyperSETForImageClassification.from_pretrained(mim_dir, num_labels=2, output_loading_info=True)
    assert all(not key.startswith("hyperset.") for key in info["missing_keys"])
    mim_weights = load_file(mim_dir / "model.safetensors")
    key = "hyperset.embeddings.patch_embeddings.projection.weight"
    key = key if key in mim_weights else next(k for k in mim_weights if k.startswith("hyperset.") and "weight" in k)
    assert torch.equal(classifier.state_dict()[key], mim_weights[key])
    shared = [k for k in classifier.state_dict() if k.startswith("hyperset.") and k in mim_weights]
    assert len(shared) > 5 and all(torch.equal(classifier.state_dict()[k], mim_weights[k]) for k in shared)

    # ... and fine-tunes with run_image_classification.py
    classification = load_script(CLASSIFICATION_SCRIPT)
    fine_tuned = tmp_path / "fine-tuned"
    metrics = classification.main(
        trainer_arguments(image_folders, fine_tuned, tmp_path / "cache", "--model_name_or_path", str(mim_dir))
    )
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    model = AutoModelForImageClassification.from_pretrained(fine_tuned)
    assert isinstance(model, HyperSETForImageClassification) and model.config.id2label == dict(enumerate(CLASSES))

    # both runs recorded the card's facts; the fine-tuning run carries the pre-training stage on
    stages = json.loads((fine_tuned / "run_metadata.json").read_text())["stages"]
    assert [stage["started_from"] for stage in stages] == ["scratch", str(mim_dir)]
    assert "run_mim.py" in stages[0]["command"] and "run_image_classification.py" in stages[1]["command"]
    card = model_card_from_output_dir(fine_tuned)
    assert card.data.eval_results[0].metric_type == "accuracy" and "run_image_classification.py" in card.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def no_trainer_arguments(image_folders, output_dir, cache_dir, *extra):
    return [
        "--train_dir", str(image_folders / "train"),
        "--validation_dir", str(image_folders / "val"),
        "--cache_dir", str(cache_dir),
        "--config_overrides", TINY_CONFIG,
        "--learning_rate", "1e-2",
        "--lr_scheduler_type", "cosine",
        "--num_warmup_steps", "1",
        "--max_train_steps", "4",
        "--checkpointing_steps", "2",
        "--seed", "0",
        "--cpu",
        "--output_dir", str(output_dir),
        *extra,
    ]  # fmt: skip


def test_mim_no_trainer_on_two_processes(image_folders, tmp_path):
    output_dir = tmp_path / "mim-accelerate"
    # `accelerate launch --cpu --num_processes 2` starts ONE process unless MPI is used; `--multi_gpu` starts two
    # through torchrun, and the script's `--cpu` makes them CPU (gloo) processes.
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        str(MIM_NO_TRAINER_SCRIPT),
        *no_trainer_arguments(image_folders, output_dir, tmp_path / "cache", "--per_device_train_batch_size", "2"),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Num processes: 2" in result.stdout + result.stderr

    for step in (2, 4):
        assert (output_dir / f"step_{step}" / "random_states_1.pkl").is_file()  # saved by both processes
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["completed_steps"] == 4 and np.isfinite(results["eval_loss"])
    assert json.loads((output_dir / "run_metadata.json").read_text())["stages"][0]["steps"] == 4
    assert isinstance(AutoModel.from_pretrained(output_dir), HyperSETModel)
    assert isinstance(AutoModelForMaskedImageModeling.from_pretrained(output_dir), HyperSETForMaskedImageModeling)
    assert (output_dir / "preprocessor_config.json").is_file()


class FakeHfApi:
    """Records what run_mim_no_trainer.py sends to the Hub."""

    calls = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, exist_ok=False, **kwargs):
        FakeHfApi.calls.append(("create_repo", repo_id))
        return type("RepoUrl", (), {"repo_id": repo_id})()

    def upload_folder(self, repo_id, folder_path, **kwargs):
        files = sorted(os.listdir(folder_path))
        FakeHfApi.calls.append(("upload_folder", repo_id, files, kwargs.get("ignore_patterns")))


def test_mim_no_trainer_resumed_run_equals_uninterrupted_run(image_folders, tmp_path, monkeypatch):
    """12 training images in batches of 4: 3 steps per epoch. Run B stops after step 2 of a 4-step schedule and is
    resumed from step_2 (skipping 2 batches, then crossing into epoch 1); it must end with run A's weights."""
    module = load_script(MIM_NO_TRAINER_SCRIPT)
    monkeypatch.setattr(module, "HfApi", FakeHfApi)
    FakeHfApi.calls = []
    cache = tmp_path / "cache"
    batch = ("--per_device_train_batch_size", "4")

    run_a = tmp_path / "a"
    results_a = module.main(
        no_trainer_arguments(image_folders, run_a, cache, *batch, "--push_to_hub", "--hub_model_id", "org/tiny-mim")
    )
    assert results_a["completed_steps"] == 4
    assert FakeHfApi.calls[0] == ("create_repo", "org/tiny-mim")
    _, repo_id, uploaded, ignored = FakeHfApi.calls[1]
    assert repo_id == "org/tiny-mim" and "step_*" in ignored
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= set(uploaded)

    run_b = tmp_path / "b"
    stopped = module.main(no_trainer_arguments(image_folders, run_b, cache, *batch, "--stop_after_steps", "2"))
    assert stopped == {"completed_steps": 2}
    assert (run_b / "step_2").is_dir() and not (run_b / "model.safetensors").exists()
    resumed = module.main(
        no_trainer_arguments(image_folders, run_b, cache, *batch, "--resume_from_checkpoint", "latest")
    )
    assert resumed["completed_steps"] == 4 and (run_b / "step_4").is_dir()

    weights_a, weights_b = load_file(run_a / "model.safetensors"), load_file(run_b / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    assert max((weights_a[k] - weights_b[k]).abs().max().item() for k in weights_a) <= 1e-6
    assert resumed["eval_loss"] == pytest.approx(results_a["eval_loss"], abs=1e-6)
    # the comparison is not vacuous: steps 3 and 4 moved the weights
    weights_step_2 = load_file(run_b / "step_2" / "model.safetensors")
    assert max((weights_a[k] - weights_step_2[k]).abs().max().item() for k in weights_a) > 1e-4


def test_mim_no_trainer_killed_during_a_save_resumes_from_the_newest_complete_checkpoint(
    image_folders, tmp_path, monkeypatch
):
    """A run killed while writing step_4 (files half written) leaves step_2 as the newest complete checkpoint;
    `--resume_from_checkpoint latest` resumes from it and ends with the uninterrupted run's weights."""
    module = load_script(MIM_NO_TRAINER_SCRIPT)
    cache = tmp_path / "cache"
    batch = ("--per_device_train_batch_size", "4")
    uninterrupted = module.main(no_trainer_arguments(image_folders, tmp_path / "a", cache, *batch))

    original_save_state = module.Accelerator.save_state

    def killed_while_saving_step_4(self, output_dir=None, **kwargs):
        original_save_state(self, output_dir, **kwargs)
        if output_dir.endswith("step_4"):
            (Path(output_dir) / "model.safetensors").unlink()  # half written
            raise KeyboardInterrupt("killed during the save")

    run = tmp_path / "b"
    monkeypatch.setattr(module.Accelerator, "save_state", killed_while_saving_step_4)
    with pytest.raises(KeyboardInterrupt):
        module.main(no_trainer_arguments(image_folders, run, cache, *batch))
    monkeypatch.setattr(module.Accelerator, "save_state", original_save_state)
    assert (run / "step_2").is_dir() and not (run / "step_4").exists()  # only the complete one has the final name
    resumed = module.main(no_trainer_arguments(image_folders, run, cache, *batch, "--resume_from_checkpoint", "latest"))
    assert resumed["completed_steps"] == 4 and (run / "step_4" / "model.safetensors").is_file()
    weights_a, weights_b = load_file(tmp_path / "a" / "model.safetensors"), load_file(run / "model.safetensors")
    assert max((weights_a[k] - weights_b[k]).abs().max().item() for k in weights_a) <= 1e-6
    assert resumed["eval_loss"] == pytest.approx(uninterrupted["eval_loss"], abs=1e-6)


def test_label_smoothing_matches_the_reference_definition():
    """The reference's eps / (C - 1) smoothing runs as transformers' LabelSmoother with eps C / (C - 1)."""
    from transformers.trainer_pt_utils import LabelSmoother

    module = load_script(CLASSIFICATION_SCRIPT)
    logits, labels = torch.randn(6, 5, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 4, 0])
    target = torch.full((6, 5), 0.1 / 4).scatter_(1, labels[:, None], 0.9)  # the reference: 1 - eps, eps / (C - 1)
    reference = -(target * logits.log_softmax(-1)).sum(-1).mean()
    factor = module.reference_label_smoothing_factor(0.1, 5)
    assert factor == pytest.approx(0.125)
    smoothed = LabelSmoother(epsilon=factor)({"logits": logits}, labels)
    assert torch.allclose(smoothed, reference, atol=1e-6)


def test_pil_autoaugment_and_mask_generator():
    module = load_script(CLASSIFICATION_SCRIPT)
    torch.manual_seed(0)
    for mode in ("L", "RGB"):
        image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)).convert(mode)
        for op in sorted({op for sub_policy in module.CIFAR10_POLICY for op, _, _ in sub_policy} | {"ShearX"}):
            for magnitude_bin in (None,) if op in ("AutoContrast", "Equalize", "Invert") else (0, 9):
                magnitude = module.autoaugment_magnitude(op, magnitude_bin, image.size)
                augmented = module.apply_autoaugment_op(image, op, magnitude)
                assert augmented.mode == mode and augmented.size == image.size
        augment = module.PILAutoAugment()
        assert all(augment(image).size == (16, 16) for _ in range(20))
    # the training transform must be picklable (dataloader workers may be spawned)
    options = SimpleNamespace(
        random_crop_padding=2, horizontal_flip=True, auto_augment=True, auto_augment_policy="cifar10",
        auto_augment_backend="pil",
    )  # fmt: skip
    processor = ViTImageProcessor(size={"height": 16, "width": 16})
    transform = pickle.loads(pickle.dumps(module.ImageTransform(processor, "image", 3, train=True, data_args=options)))
    batch = transform({"image": [Image.new("L", (28, 28), 100)] * 2, "label": ["b", "a"]})
    assert batch["pixel_values"].shape == (2, 3, 16, 16)
    collated = module.Collator("label", {"a": 0, "b": 1})([dict(pixel_values=v, label=l) for v, l in zip(
        batch["pixel_values"], batch["label"])])  # fmt: skip
    assert collated["labels"].tolist() == [1, 0] and collated["pixel_values"].shape == (2, 3, 16, 16)

    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="--auto_augment_backend pil"):
            module.build_auto_augment("cifar10", "torchvision")

    from _shared.images import MaskGenerator

    generator = MaskGenerator(input_size=16, mask_patch_size=8, model_patch_size=4, mask_ratio=0.4)
    mask = generator(np.random.default_rng(0))
    assert mask.dtype == torch.bool and mask.shape == (16,) and int(mask.sum()) == 2 * 4  # 2 of 4 squares x 4 patches
    with pytest.raises(ValueError, match="divisible"):
        MaskGenerator(input_size=16, mask_patch_size=6, model_patch_size=4)


VIT_TINY_CONFIG = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"


@pytest.mark.parametrize("script", ["classification", "mim"])
def test_vit_baseline_from_scratch(image_folders, tmp_path, script):
    """`--model_type vit` trains transformers' ViT with the same data-derived config (image size, channels, labels,
    Hyper-SET's default 4-px patches) and `--config_overrides` applied to the ViTConfig."""
    module = load_script(CLASSIFICATION_SCRIPT if script == "classification" else MIM_SCRIPT)
    output_dir = tmp_path / script
    metrics = module.main(
        trainer_arguments(
            image_folders, output_dir, tmp_path / "cache", "--model_type", "vit", "--config_overrides", VIT_TINY_CONFIG
        )
    )
    auto_class = AutoModelForImageClassification if script == "classification" else AutoModelForMaskedImageModeling
    model = auto_class.from_pretrained(output_dir)
    assert model.config.model_type == "vit" and type(model).__name__.startswith("ViTFor")
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
    assert model.config.image_size == 16 and model.config.num_channels == 3 and model.config.patch_size == 4
    train_results = json.loads((output_dir / "train_results.json").read_text())
    assert train_results["model_num_parameters"] == model.num_parameters()
    pixel_values = torch.randn(1, 3, 16, 16)
    if script == "classification":
        assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and np.isfinite(metrics["eval_loss"])
        assert model.config.id2label == dict(enumerate(CLASSES))
        assert model(pixel_values).logits.shape == (1, 2)
    else:
        assert np.isfinite(metrics["eval_loss"]) and metrics["eval_loss"] > 0 and np.isfinite(metrics["eval_psnr"])
        assert model.config.encoder_stride == 4
        mask = torch.zeros(1, 16, dtype=torch.bool)
        mask[0, :4] = True
        assert model(pixel_values, bool_masked_pos=mask).reconstruction.shape == (1, 3, 16, 16)
