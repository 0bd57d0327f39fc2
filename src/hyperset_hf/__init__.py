# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Energy-based, recurrent-depth Transformers as native Hugging Face Transformers models.

Importing this package registers every model with the transformers Auto classes, so that
`AutoModel.from_pretrained(folder)` works for saved Hyper-SET checkpoints without `trust_remote_code`.
"""

import os
import sys


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


def register() -> None:
    """Imports the models and registers them with the transformers Auto classes and the `"sudoku-solving"` pipeline
    task (idempotent). `import hyperset_hf` does it, except inside the `hyperset-hf` command, which calls it only for
    the subcommands that need a model, so that `hyperset-hf --help` starts at once."""
    from importlib import import_module

    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForImageClassification,
        AutoModelForMaskedImageModeling,
        AutoModelForMaskedLM,
        AutoModelForTokenClassification,
    )

    for module_name, names in _EXPORTS.items():
        module = import_module(f".{module_name}", __name__)
        globals().update({name: getattr(module, name) for name in names})
    hyperset, energy_transformer = globals()["HyperSETConfig"], globals()["EnergyTransformerConfig"]
    AutoConfig.register(hyperset.model_type, hyperset, exist_ok=True)
    AutoModel.register(hyperset, globals()["HyperSETModel"], exist_ok=True)
    AutoModelForImageClassification.register(hyperset, globals()["HyperSETForImageClassification"], exist_ok=True)
    AutoModelForMaskedImageModeling.register(hyperset, globals()["HyperSETForMaskedImageModeling"], exist_ok=True)
    AutoModelForTokenClassification.register(hyperset, globals()["HyperSETForSudoku"], exist_ok=True)
    # masked prediction of VQ image tokens: the masked-LM contract (AutoModelForMaskedImageModeling is the pixel model)
    AutoModelForMaskedLM.register(hyperset, globals()["HyperSETForMaskedTokenModeling"], exist_ok=True)
    AutoConfig.register(energy_transformer.model_type, energy_transformer, exist_ok=True)
    AutoModel.register(energy_transformer, globals()["EnergyTransformerModel"], exist_ok=True)
    AutoModelForImageClassification.register(
        energy_transformer, globals()["EnergyTransformerForImageClassification"], exist_ok=True
    )
    AutoModelForMaskedImageModeling.register(
        energy_transformer, globals()["EnergyTransformerForMaskedImageModeling"], exist_ok=True
    )
    # graph node classification: no node-classification Auto class exists; nodes are the tokens of token classification
    AutoModelForTokenClassification.register(
        energy_transformer, globals()["EnergyTransformerForNodeClassification"], exist_ok=True
    )
    globals()["pipeline_sudoku"].register_sudoku_pipeline()
    globals()["pipeline_image_completion"].register_image_completion_pipeline()


def __getattr__(name):
    """The public classes, registered on first use when the import did not register them (inside the command)."""
    if any(name in names for names in _EXPORTS.values()):
        register()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if os.path.splitext(os.path.basename(sys.argv[0] if sys.argv else ""))[0] != "hyperset-hf":
    register()

__all__ = ["__version__", "register", *sorted(name for names in _EXPORTS.values() for name in names)]
