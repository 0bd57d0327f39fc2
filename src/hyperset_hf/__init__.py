# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Energy-based, recurrent-depth Transformers as native Hugging Face Transformers models.

Importing this package registers every model with the transformers Auto classes, so that
`AutoModel.from_pretrained(folder)` works for saved Hyper-SET checkpoints without `trust_remote_code`.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForImageClassification,
    AutoModelForMaskedImageModeling,
    AutoModelForTokenClassification,
)

from .configuration_energy_transformer import ENERGY_TRANSFORMER_PRESETS, EnergyTransformerConfig
from .configuration_hyperset import PRESETS, HyperSETConfig
from .modeling_energy_transformer import (
    EnergyTransformerForImageClassification,
    EnergyTransformerForMaskedImageModeling,
    EnergyTransformerImageClassifierOutput,
    EnergyTransformerMaskedImageModelingOutput,
    EnergyTransformerModel,
    EnergyTransformerModelOutput,
    EnergyTransformerPreTrainedModel,
)
from .modeling_hyperset import (
    HyperSETForImageClassification,
    HyperSETForMaskedImageModeling,
    HyperSETForSudoku,
    HyperSETImageClassifierOutput,
    HyperSETMaskedImageModelingOutput,
    HyperSETModel,
    HyperSETModelOutput,
    HyperSETPreTrainedModel,
    HyperSETSudokuOutput,
)


__version__ = "0.1.0"

AutoConfig.register(HyperSETConfig.model_type, HyperSETConfig, exist_ok=True)
AutoModel.register(HyperSETConfig, HyperSETModel, exist_ok=True)
AutoModelForImageClassification.register(HyperSETConfig, HyperSETForImageClassification, exist_ok=True)
AutoModelForMaskedImageModeling.register(HyperSETConfig, HyperSETForMaskedImageModeling, exist_ok=True)
AutoModelForTokenClassification.register(HyperSETConfig, HyperSETForSudoku, exist_ok=True)
AutoConfig.register(EnergyTransformerConfig.model_type, EnergyTransformerConfig, exist_ok=True)
AutoModel.register(EnergyTransformerConfig, EnergyTransformerModel, exist_ok=True)
AutoModelForImageClassification.register(
    EnergyTransformerConfig, EnergyTransformerForImageClassification, exist_ok=True
)
AutoModelForMaskedImageModeling.register(
    EnergyTransformerConfig, EnergyTransformerForMaskedImageModeling, exist_ok=True
)

# Registers the "sudoku-solving" task with transformers.pipeline (needs the Auto registrations above).
from .pipeline_sudoku import SudokuSolvingPipeline  # noqa: E402

__all__ = [
    "ENERGY_TRANSFORMER_PRESETS",
    "EnergyTransformerConfig",
    "EnergyTransformerForImageClassification",
    "EnergyTransformerForMaskedImageModeling",
    "EnergyTransformerImageClassifierOutput",
    "EnergyTransformerMaskedImageModelingOutput",
    "EnergyTransformerModel",
    "EnergyTransformerModelOutput",
    "EnergyTransformerPreTrainedModel",
    "HyperSETConfig",
    "HyperSETForImageClassification",
    "HyperSETForMaskedImageModeling",
    "HyperSETForSudoku",
    "HyperSETImageClassifierOutput",
    "HyperSETMaskedImageModelingOutput",
    "HyperSETModel",
    "HyperSETModelOutput",
    "HyperSETPreTrainedModel",
    "HyperSETSudokuOutput",
    "PRESETS",
    "SudokuSolvingPipeline",
    "__version__",
]
