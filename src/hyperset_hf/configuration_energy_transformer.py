# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Energy Transformer model configuration."""

import math

from huggingface_hub.dataclasses import strict
from .config_validation import ValidatedConfig


# Written into every saved `config.json` so that a folder saved from any head loads with every Auto class through
# `trust_remote_code=True` (transformers only records the Auto class of the object being saved).
ENERGY_TRANSFORMER_AUTO_MAP = {
    "AutoConfig": "configuration_energy_transformer.EnergyTransformerConfig",
    "AutoModel": "modeling_energy_transformer.EnergyTransformerModel",
    "AutoModelForImageClassification": "modeling_energy_transformer.EnergyTransformerForImageClassification",
    "AutoModelForMaskedImageModeling": "modeling_energy_transformer.EnergyTransformerForMaskedImageModeling",
}
# Graph configs (`num_node_features` set) also name the node classifier (transformers has no node-classification Auto
# class; a node is a token with one label, as in token classification). Image configs keep the map above unchanged.
ENERGY_TRANSFORMER_GRAPH_AUTO_MAP_ENTRY = {
    "AutoModelForTokenClassification": "modeling_energy_transformer.EnergyTransformerForNodeClassification",
}

MEMORY_TYPES = ("relu_squared", "softmax")
CLASSIFIER_TYPES = ("linear", "mlp")
RECONSTRUCTION_LOSSES = ("rmse", "mse", "l1")

# Named configurations. `EnergyTransformerConfig.from_preset(name, **overrides)` builds them.
ENERGY_TRANSFORMER_PRESETS = {
    # The paper's ImageNet-1k masked image completion model (Hoover et al. 2023; official flax `TrainConfig`):
    # 224 px images in 16-px patches (196 + CLS tokens), D=768, 12 heads of width 64, 3072 ReLU^2 memories, one shared
    # block run for T=12 steps of size alpha=0.1, self-attention included (as the released weights), 100 of the 196
    # patches in the loss of which 10 stay visible, RMSE loss. 4,873,729 parameters.
    "imagenet-1k-mim": dict(
        image_size=224,
        patch_size=16,
        num_channels=3,
        hidden_size=768,
        num_attention_heads=12,
        head_dim=64,
        num_memories=3072,
        memory_type="relu_squared",
        num_layers=1,
        num_recurrences=12,
        step_size=0.1,
        exclude_self_attention=False,
        visible_loss_ratio=0.1,
        reconstruction_loss="rmse",
    ),
}


@strict
class EnergyTransformerConfig(ValidatedConfig):
    r"""
    Configuration of an Energy Transformer (Hoover, Liang, Pham, Panda, Strobelt, Chau, Zaki & Krotov, "Energy
    Transformer", NeurIPS 2023, arXiv:2302.07253). Every step of an ET block is one gradient step on the energy
    E(g) = E_attention(g) + E_hopfield(g) of the normalised tokens g = EnergyLayerNorm(x), applied to the token
    state: x <- x - step_size * dE/dg. The model stacks `num_layers` distinct blocks (the paper: one) and runs each for
    `num_recurrences` steps.

    The defaults are the paper's ImageNet-1k masked image completion model (`from_preset("imagenet-1k-mim")`):
    224 px images, 16-px patches, D=768, 12 heads of width 64, 3072 memories, T=12, alpha=0.1 (4,873,729 parameters
    with the MIM head).

    Args:
        hidden_size (`int`, *optional*, defaults to 768):
            Token width D.
        num_attention_heads (`int`, *optional*, defaults to 12):
            Number of attention heads H.
        head_dim (`int`, *optional*, defaults to 64):
            Width Y of the keys and queries of one head; independent of `hidden_size` (the paper uses 64 with D=768).
        num_memories (`int`, *optional*, defaults to 3072):
            Number of Hopfield-network memories M (columns of the memory matrix xi, shape (D, M)).
        memory_type (`str`, *optional*, defaults to `"relu_squared"`):
            `"relu_squared"`: E_hopfield = -1/2 sum ReLU(g xi)^2 (the paper's models). `"softmax"`: E_hopfield =
            -(1/beta_m) sum_tokens logsumexp(beta_m (g xi + b)) with a learned inverse temperature beta_m.
        memory_bias (`bool`, *optional*, defaults to `False`):
            Whether the memories have a learned bias b (one per memory); the paper's image model has none.
        memory_beta_init (`float`, *optional*, defaults to 0.01):
            Initial inverse temperature beta_m of softmax memories, a finite positive number (unused for
            `"relu_squared"`, where any finite value is accepted).
        num_layers (`int`, *optional*, defaults to 1):
            Number of distinct ET blocks (the paper: one shared block).
        num_recurrences (`int`, *optional*, defaults to 12):
            Steps T of every block. Can be overridden per call.
        step_size (`float`, *optional*, defaults to 0.1):
            Step size alpha of x <- x - alpha dE/dg.
        attention_beta (`float`, *optional*):
            Inverse temperature beta of the attention energy; `None` uses 1 / sqrt(head_dim) (0.125 for Y=64).
        exclude_self_attention (`bool`, *optional*, defaults to `False`):
            Whether a token does not attend to itself (the paper's equation sums over keys B != C; every official
            training script, and the released ImageNet weights, include the token itself). Implemented by an additive
            -inf on the diagonal of the scores.
        nonnegative_gamma (`bool`, *optional*, defaults to `True`):
            Whether the EnergyLayerNorm uses |gamma| for its scalar gain. The energy only decreases when gamma >= 0
            (the Jacobian of the norm must be positive semi-definite); the paper leaves gamma free, which gives the
            same function as long as it stays positive.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon inside the square root of the EnergyLayerNorm, and of the classifier's LayerNorm.
        image_size (`int`, *optional*, defaults to 224):
            Height and width of the input images.
        patch_size (`int`, *optional*, defaults to 16):
            Height and width of a patch in pixels.
        num_channels (`int`, *optional*, defaults to 3):
            Number of image channels.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialisation of the memories xi.
        token_initializer_range (`float`, *optional*, defaults to 0.002):
            Standard deviation of the normal initialisation of the key and query matrices, the CLS and mask tokens and
            the position embeddings (the official initialisation). Linear layers use LeCun-normal initialisation.
        visible_loss_ratio (`float`, *optional*, defaults to 0.1):
            Masked image modeling, training only: the fraction of the patches marked in `bool_masked_pos` that stay
            visible (not replaced by the mask token) but are still in the loss (the paper: 10 of 100 selected
            patches). 0 masks every selected patch. In evaluation every selected patch is masked.
        reconstruction_loss (`str`, *optional*, defaults to `"rmse"`):
            Masked image modeling loss on the selected patches: `"rmse"` (the paper's: square root of the mean over
            all pixels of the squared error, zero outside the selected patches), `"mse"` or `"l1"` (means over the
            selected pixels, as SimMIM and `HyperSETForMaskedImageModeling`).
        classifier_type (`str`, *optional*, defaults to `"linear"`):
            Image classification head on the final CLS state: `"linear"` (LayerNorm -> Linear) or `"mlp"` (LayerNorm
            -> Linear -> ReLU -> Linear, the official code's default). Graph models read out [x_T, x_0] with a Linear
            (`"linear"`) or Linear(2 hidden_size, hidden_size) -> ReLU -> Linear (`"mlp"`).
        num_node_features (`int`, *optional*):
            Graph models only ([`EnergyTransformerForNodeClassification`]): the width of the node features `x`. `None`
            (the default) makes an image config; setting it makes a graph config (the image fields are then unused).
        num_edge_types (`int`, *optional*, defaults to 1):
            Graph models: number of edge types (relations) R. Every relation has its own key and query matrices and
            its own attention energy; the energies are summed.
        add_self_loops (`bool`, *optional*, defaults to `True`):
            Graph models: whether every node attends to itself. `True` gives every node exactly one self-loop per edge
            type: self-loops already in `edge_index` are ignored (as PyG's `remove_self_loops` + `add_self_loops`),
            so a self-loop in the data does not count twice. `False` uses `edge_index` as given (its self-loops
            included); a node without in-edges of a type then has no attention energy for that type.
        energy_readout (`bool`, *optional*, defaults to `False`):
            Graph models: add every node's energies of the final state (attention energy per edge type and head,
            Hopfield energy) to the readout `[x_T, x_0]`. `False` is the anomaly-detection authors' readout.
        class_weights (`list[float]`, *optional*):
            Graph models: one non-negative weight per label for the node-classification cross-entropy (the graph
            anomaly-detection recipe weights the anomalous class by #normal / #anomalous in the training nodes).
            `None`: unweighted.

    Example:

    ```python
    >>> from hyperset_hf import EnergyTransformerConfig, EnergyTransformerForMaskedImageModeling

    >>> config = EnergyTransformerConfig.from_preset("imagenet-1k-mim")
    >>> model = EnergyTransformerForMaskedImageModeling(config)
    >>> model.num_parameters()
    4873729

    ```"""

    model_type = "energy_transformer"
    default_auto_map = ENERGY_TRANSFORMER_AUTO_MAP

    hidden_size: int = 768
    num_attention_heads: int = 12
    head_dim: int = 64
    num_memories: int = 3072
    memory_type: str = "relu_squared"
    memory_bias: bool = False
    memory_beta_init: float | int = 0.01
    num_layers: int = 1
    num_recurrences: int = 12
    step_size: float | int = 0.1
    attention_beta: float | int | None = None
    exclude_self_attention: bool = False
    nonnegative_gamma: bool = True
    layer_norm_eps: float | int = 1e-5
    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    initializer_range: float | int = 0.02
    token_initializer_range: float | int = 0.002
    visible_loss_ratio: float | int = 0.1
    reconstruction_loss: str = "rmse"
    classifier_type: str = "linear"
    num_node_features: int | None = None
    num_edge_types: int = 1
    add_self_loops: bool = True
    class_weights: list[float | int] | None = None
    energy_readout: bool = False
    auto_map: dict[str, str] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.is_graph_config:  # a graph config also names the node classifier
            missing = {k: v for k, v in ENERGY_TRANSFORMER_GRAPH_AUTO_MAP_ENTRY.items() if k not in self.auto_map}
            self.auto_map = {**self.auto_map, **missing}
            self.check_class_weights()

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "EnergyTransformerConfig":
        """Builds a named configuration (`"imagenet-1k-mim"`: the paper's ImageNet completion model); keyword
        arguments override single fields.

        Example:

        ```python
        >>> from hyperset_hf import EnergyTransformerConfig
        >>> config = EnergyTransformerConfig.from_preset("imagenet-1k-mim", num_recurrences=24)
        >>> config.hidden_size, config.num_recurrences, config.step_size
        (768, 24, 0.1)

        ```"""
        if name not in ENERGY_TRANSFORMER_PRESETS:
            raise ValueError(f"Unknown preset {name!r}; expected one of {sorted(ENERGY_TRANSFORMER_PRESETS)}.")
        return cls(**{**ENERGY_TRANSFORMER_PRESETS[name], **overrides})

    @property
    def num_hidden_layers(self) -> int:
        """Number of block applications in one forward pass with the default step count (`num_layers *
        num_recurrences`); `output_hidden_states` returns one more (the initial state)."""
        return self.num_layers * self.num_recurrences

    @property
    def is_graph_config(self) -> bool:
        """Whether this configures a graph model (`num_node_features` is set)."""
        return self.num_node_features is not None

    def check_class_weights(self) -> None:
        """`class_weights`, if set, has one entry per label (`num_labels`, which transformers sets after construction
        and which can be changed later: also checked by the loss)."""
        num_labels = getattr(self, "num_labels", None)
        if self.class_weights is not None and num_labels is not None and len(self.class_weights) != num_labels:
            raise ValueError(
                f"`class_weights` must have one weight per label ({num_labels} labels), got {len(self.class_weights)}: "
                f"{self.class_weights!r}."
            )

    @property
    def attention_scaling(self) -> float:
        """The inverse temperature beta of the attention energy."""
        return self.head_dim**-0.5 if self.attention_beta is None else self.attention_beta

    def validate_architecture(self):
        """The `@strict` class validator (run on construction, after `from_pretrained` overrides, on save): every
        field in range and the fields consistent with each other; raises `ValueError` naming the bad value."""
        def positive_int(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")

        def positive_float(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"`{name}` must be a finite positive number, got {value!r}.")

        for name in (
            "hidden_size",
            "num_attention_heads",
            "head_dim",
            "num_memories",
            "num_layers",
            "num_recurrences",
            "image_size",
            "patch_size",
            "num_channels",
        ):
            positive_int(name)
        for name in ("step_size", "layer_norm_eps", "initializer_range", "token_initializer_range"):
            positive_float(name)
        if self.attention_beta is not None:
            positive_float("attention_beta")
        for name, allowed in (
            ("memory_type", MEMORY_TYPES),
            ("classifier_type", CLASSIFIER_TYPES),
            ("reconstruction_loss", RECONSTRUCTION_LOSSES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}.")
        if self.image_size % self.patch_size != 0:
            raise ValueError(
                f"`image_size` ({self.image_size}) must be divisible by `patch_size` ({self.patch_size})."
            )
        if not math.isfinite(self.memory_beta_init):
            raise ValueError(f"`memory_beta_init` must be a finite number, got {self.memory_beta_init!r}.")
        if self.memory_type == "softmax" and self.memory_beta_init <= 0:
            raise ValueError(
                "`memory_beta_init` must be non-zero and positive for softmax memories (an inverse temperature: the "
                f"energy divides by it, and a negative one turns the memories' soft maximum into a minimum), got "
                f"{self.memory_beta_init!r}."
            )
        if not 0.0 <= self.visible_loss_ratio < 1.0:
            raise ValueError(f"`visible_loss_ratio` must be in [0, 1), got {self.visible_loss_ratio}.")
        # graph fields
        if self.num_node_features is not None:
            positive_int("num_node_features")
        positive_int("num_edge_types")
        if not isinstance(self.add_self_loops, bool):
            raise ValueError(f"`add_self_loops` must be True or False, got {self.add_self_loops!r}.")
        if self.num_node_features is not None and self.exclude_self_attention:
            raise ValueError(
                "`exclude_self_attention=True` is an image-model option; graph models (`num_node_features` set) "
                "control self-attention with `add_self_loops`, and `add_self_loops=False` with edges without "
                "self-loops excludes it."
            )
        if self.class_weights is not None:
            weights = self.class_weights
            if (
                not isinstance(weights, (list, tuple))
                or not weights
                or any(isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < math.inf for w in weights)
                or not any(w > 0 for w in weights)
            ):
                raise ValueError(
                    f"`class_weights` must be a non-empty list of finite non-negative numbers (one per label, not all "
                    f"zero), got {weights!r}."
                )
            self.check_class_weights()
        super().validate_architecture()


__all__ = ["ENERGY_TRANSFORMER_PRESETS", "EnergyTransformerConfig"]
