import importlib.util
import os
import sys

import pytest
import torch


# The example scripts' helpers (`examples/_shared`, not part of the package) import as `_shared.<module>`, as in the
# scripts themselves.
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def tiny_config(**overrides):
    """A small Hyper-SET classifier config (d=32, 4 heads, 16-px images, 4-px patches -> 17 tokens)."""
    from hyperset_hf import HyperSETConfig

    values = dict(
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=48,
        num_layers=1,
        num_recurrences=3,
        time_embedding_size=16,
        image_size=16,
        patch_size=4,
        num_channels=3,
        num_labels=5,
    )
    values.update(overrides)
    return HyperSETConfig(**values)


def tiny_vq_model(num_downsamplings: int = 1, num_channels: int | None = 1, codebook_size: int = 16, **overrides):
    """A tiny random diffusers `VQModel` in eval mode (width 8, 3 latent channels): every downsampling halves the
    image side (8x8 images -> 4x4 tokens with one). `num_channels=None` keeps diffusers' default (3). The caller
    seeds torch first."""
    import diffusers

    levels = num_downsamplings + 1
    channels = {} if num_channels is None else dict(in_channels=num_channels, out_channels=num_channels)
    return diffusers.VQModel(
        block_out_channels=(8,) * levels, down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels, norm_num_groups=4, latent_channels=3,
        num_vq_embeddings=codebook_size, **channels, **overrides,
    ).eval()  # fmt: skip


def tiny_sudoku_config(**overrides):
    """The `sudoku` preset shrunk to d=16, 2 heads, FF width 32, 4 iterations, no embedding dropout."""
    from hyperset_hf import HyperSETConfig

    values = dict(
        hidden_size=16, num_attention_heads=2, intermediate_size=32, time_embedding_size=8, num_recurrences=4,
        embedding_dropout_prob=0.0,
    )  # fmt: skip
    values.update(overrides)
    return HyperSETConfig.from_preset("sudoku", **values)


def tiny_sudoku_model(**overrides):
    """A seeded tiny Sudoku model whose step sizes move the state (see `activate_step_sizes`)."""
    from hyperset_hf import HyperSETForSudoku

    torch.manual_seed(0)
    return activate_step_sizes(HyperSETForSudoku(tiny_sudoku_config(**overrides)), std=0.1)


def activate_step_sizes(model, std=0.05, seed=0):
    """Give the zero-initialised step-size network random weights so that iterations actually move the state
    (RMSNorm gains stay at 1)."""
    generator = torch.Generator().manual_seed(seed)
    base = getattr(model, model.base_model_prefix, model)
    with torch.no_grad():
        for name, parameter in base.encoder.step_size_network.named_parameters():
            if "norm" not in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)
    return model


@pytest.fixture
def pixel_values():
    return torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def load_example(path):
    """Imports an example script (`examples/...py`) as a module named after its file; registered in `sys.modules`
    because Trainer pickles the scripts' argument dataclasses, which must be importable by name."""
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_accelerate_state():
    """Trainer and the Accelerate scripts share accelerate's process-wide state: start (and end) a test from scratch.
    Example-script test files use it for every test (`pytestmark = pytest.mark.usefixtures(...)`)."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
