import os

import pytest
import torch


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
