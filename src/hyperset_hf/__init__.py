# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Energy-based, recurrent-depth Transformers as native Hugging Face Transformers models.

Importing this package registers every model with the transformers Auto classes, so that
`AutoModel.from_pretrained(folder)` works for saved Hyper-SET checkpoints without `trust_remote_code`.
"""

from importlib import import_module


__version__ = "0.2.0"

_EXPORTS = {
    "configuration_energy_transformer": ("ENERGY_TRANSFORMER_PRESETS", "EnergyTransformerConfig"),
    "configuration_hyperset": ("PRESETS", "HyperSETConfig"),
    "modeling_energy_transformer": (
        "EnergyTransformerForImageClassification",
        "EnergyTransformerForMaskedImageModeling",
        "EnergyTransformerForNodeClassification",
        "EnergyTransformerImageClassifierOutput",
        "EnergyTransformerMaskedImageModelingOutput",
        "EnergyTransformerModel",
        "EnergyTransformerModelOutput",
        "EnergyTransformerNodeClassifierOutput",
        "EnergyTransformerPreTrainedModel",
    ),
    "modeling_hyperset": (
        "HyperSETForImageClassification",
        "HyperSETForMaskedImageModeling",
        "HyperSETForMaskedTokenModeling",
        "HyperSETForSudoku",
        "HyperSETImageClassifierOutput",
        "HyperSETMaskedImageModelingOutput",
        "HyperSETMaskedTokenModelingOutput",
        "HyperSETModel",
        "HyperSETModelOutput",
        "HyperSETPreTrainedModel",
        "HyperSETSudokuOutput",
    ),
    "maskgit": (
        "DiffusersVQTokenizer",
        "MaskGITDecodingOutput",
        "VisualTokenizer",
        "mask_visual_tokens",
        "maskgit_decode",
        "maskgit_schedule",
    ),
    "pipeline_image_completion": ("ImageCompletionPipeline",),
    "pipeline_sudoku": ("SudokuSolvingPipeline",),
}
_MODEL_MODULES = ("modeling_hyperset", "modeling_energy_transformer")


def register() -> None:
    """Registers every model with the transformers Auto classes and the `"sudoku-solving"` and
    `"masked-image-completion"` pipeline tasks (idempotent); `import hyperset_hf` does it."""
    _register_models()
    _register_pipelines()


def _register_models() -> None:
    """The Auto table is written once, in the modeling files: each class's `register_for_auto_class(...)` (which also
    writes the `auto_map` of saved checkpoints for remote code) names its Auto class; every exported class is
    registered with the Auto class it names."""
    import transformers

    for module_name in _MODEL_MODULES:
        module = import_module(f".{module_name}", __name__)
        for name in module.__all__:
            model_class = getattr(module, name)
            auto_class = getattr(model_class, "_auto_class", None)
            if auto_class is not None:
                config_class = model_class.config_class
                transformers.AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
                getattr(transformers, auto_class).register(config_class, model_class, exist_ok=True)


def _register_pipelines() -> None:
    import_module(".pipeline_sudoku", __name__).register_sudoku_pipeline()
    import_module(".pipeline_image_completion", __name__).register_image_completion_pipeline()


def __getattr__(name):
    """The public classes and constants, imported on first use."""
    for module_name, names in _EXPORTS.items():
        if name in names:
            return getattr(import_module(f".{module_name}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register()

__all__ = ["__version__", "register", *sorted(name for names in _EXPORTS.values() for name in names)]
