# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Hyper-SET model configuration."""

import math

from huggingface_hub.dataclasses import strict

from .config_validation import ValidatedConfig


# Written into every saved `config.json` so that a folder saved from any head loads with every Auto class through
# `trust_remote_code=True` (transformers only records the Auto class of the object being saved).
HYPERSET_AUTO_MAP = {
    "AutoConfig": "configuration_hyperset.HyperSETConfig",
    "AutoModel": "modeling_hyperset.HyperSETModel",
    "AutoModelForImageClassification": "modeling_hyperset.HyperSETForImageClassification",
    "AutoModelForMaskedImageModeling": "modeling_hyperset.HyperSETForMaskedImageModeling",
    "AutoModelForTokenClassification": "modeling_hyperset.HyperSETForSudoku",
}
# Added to the `auto_map` of visual-token configs only (`input_type="visual_tokens"`): the masked token model has the
# contract of a masked language model (ids with a mask id in, logits over a vocabulary out, labels -100 where unscored).
HYPERSET_VISUAL_TOKENS_AUTO_MAP_ENTRY = {"AutoModelForMaskedLM": "modeling_hyperset.HyperSETForMaskedTokenModeling"}

FEEDFORWARD_ACTIVATIONS = ("relu", "gelu")
STEP_SIZE_CONDITIONINGS = ("current_state", "initial_state")
STEP_SIZE_NETWORK_TYPES = ("normalized", "unnormalized", "basic", "sinusoidal")
LAYER_TYPES = ("hyperset", "transformer")
INPUT_TYPES = ("image", "sudoku", "visual_tokens")
# Paper App. G.1 (Tables 19-20): alternative attention and feedforward energies, each with its own update.
ATTENTION_TYPES = ("bisoftmax", "sigmoid", "relu", "linear")
FEEDFORWARD_TYPES = ("activation", "softmax", "gated")
FEATURE_MAPS = ("sigmoid", "tanh", "softplus", "silu", "gelu", "elu", "elup1")
STEP_SIZE_TYPES = ("learned", "fixed")
ADAPTIVE_EXIT_CRITERIA = ("energy", "state")
# How the bi-softmax is computed: "dense" forms the N x N matrix (one softmax, its transpose is the column softmax);
# "chunked" works through query chunks in two passes (row log-sum-exps, then (P + P^T) V) in O(N) memory.
BISOFTMAX_IMPLEMENTATIONS = ("dense", "chunked")
# Sudoku training recipe options (see the config docstring)
POSITION_EMBEDDING_TYPES = ("learned", "row_column_box")
STEP_SIZE_ACTIVATIONS = ("identity", "softplus")
DEEP_SUPERVISION_MODES = ("last", "all", "last_k", "random_k")
DEEP_SUPERVISION_WEIGHTINGS = ("uniform", "linear")

SUDOKU_DIGIT_LABELS = {index: str(index + 1) for index in range(9)}  # logit k scores digit k + 1
SUDOKU_LABEL_IDS = {label: index for index, label in SUDOKU_DIGIT_LABELS.items()}

# Shared by the masked-image-modeling presets (reference `configs/task/mim.yaml`, `mim/models.py`).
_MIM = dict(
    input_type="visual_tokens",
    codebook_size=1024,
    token_grid_size=16,
    hidden_size=768,
    num_attention_heads=12,
    hidden_act="relu",
    share_qkv_norm=True,
    step_size_network_type="sinusoidal",
    time_embedding_size=768,
    step_size_conditioning="initial_state",
)

# Named configurations of the paper. `HyperSETConfig.from_preset(name, **overrides)` builds them.
PRESETS = {
    # Sudoku (paper Sec. 5.1, App. D): 1 layer x 24 iterations, d=768, 5,195,584 parameters.
    "sudoku": dict(
        input_type="sudoku",
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        num_recurrences=24,
        hidden_act="relu",
        share_qkv_norm=True,
        step_size_conditioning="initial_state",
        step_size_network_type="unnormalized",
        embedding_dropout_prob=0.1,
        num_labels=9,
        id2label=SUDOKU_DIGIT_LABELS,
        label2id=SUDOKU_LABEL_IDS,
    ),
    # The paper's Sudoku Transformer baseline: one standard pre-RMSNorm layer (Q, K, V, output projections, 4x ReLU
    # MLP, no biases) applied 24 times, 7,156,992 parameters.
    "sudoku-transformer": dict(
        input_type="sudoku",
        layer_type="transformer",
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
        num_recurrences=24,
        hidden_act="relu",
        embedding_dropout_prob=0.1,
        num_labels=9,
        id2label=SUDOKU_DIGIT_LABELS,
        label2id=SUDOKU_LABEL_IDS,
    ),
    # Image classification "Small scale-up" (1 layer x 12 iterations, d=512): 1,610,538 parameters on CIFAR-10.
    "cifar10": dict(num_labels=10),
    "cifar100": dict(num_labels=100),
    # ImageNet-1k, 224 px images in 14-px patches (16 x 16 grid), 1 layer x 12 iterations: 2,395,968 parameters.
    "imagenet-1k": dict(image_size=224, patch_size=14, num_labels=1000),
    # Masked image modeling on VQGAN tokens (paper Sec. 5.3, Table 3; reference `mim/models.py`): 256 px images as a
    # 16 x 16 grid of codes from a 1024-entry codebook (mask id 1024), fixed 2-D sin-cos positions, one layer, d=768,
    # 12 heads, ReLU, shared q/k/v norm, the MIM step-size network (no time MLP). Base: 12 iterations, FF width d,
    # 3,937,856 parameters (paper 3.94M).
    "mim": dict(_MIM, intermediate_size=768, num_recurrences=12),
    # The scaled row: 24 iterations, FF width 8d, 8,072,000 parameters (paper 8.07M; the released MIM weights).
    "mim-scaled": dict(_MIM, intermediate_size=6144, num_recurrences=24),
    # The paper's Transformer baseline: one standard pre-RMSNorm layer (Q, K, V, output projections, 4d ReLU MLP, no
    # biases) applied 12 times: 8,654,848 parameters as the reference code builds it; the paper's 8.85M is this plus
    # exactly 256 x 768 (a learned position table in the run behind the table, see `tests/test_hyperset_token_mim.py`).
    "mim-transformer": dict(_MIM, layer_type="transformer", intermediate_size=3072, num_recurrences=12),
}


@strict
class HyperSETConfig(ValidatedConfig):
    r"""
    Configuration of a Hyper-SET model (Hu, Zou & Xu, "Hyper-SET: Designing Transformers via Hyperspherical Energy
    Minimization", ICLR 2026). Every Hyper-SET iteration is one gradient step on a hyperspherical energy; the model
    stacks `num_layers` distinct layers and applies each of them `num_recurrences` times.

    The defaults are the paper's image classifier "Small scale-up" (1 layer x 12 iterations, d=512, 8 heads, FF width
    512, separate q/k/v norms, GELU, step sizes conditioned on the current state) on 32x32 images with 4-pixel patches.

    Args:
        hidden_size (`int`, *optional*, defaults to 512):
            Token width d.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Number of heads H; the head width is `hidden_size // num_attention_heads`.
        intermediate_size (`int`, *optional*, defaults to 512):
            Feedforward width M (rows of the tied feedforward matrix).
        num_layers (`int`, *optional*, defaults to 1):
            Number of distinct Hyper-SET layers (the "L" of L1R12).
        num_recurrences (`int`, *optional*, defaults to 12):
            Iterations of every layer (the "R" of L1R12). Can be overridden per call at inference time.
        hidden_act (`str`, *optional*, defaults to `"gelu"`):
            Feedforward activation, `"relu"` (the paper's energy) or `"gelu"` (the reference image classifier).
        share_qkv_norm (`bool`, *optional*, defaults to `False`):
            Whether queries, keys and values share one RMSNorm gain (Sudoku, MIM) or have separate gains (image
            classification).
        step_size_conditioning (`str`, *optional*, defaults to `"current_state"`):
            What the step-size network sees besides the iteration index: `"current_state"` (x_t, the reference image
            classifier) or `"initial_state"` (x_0, the embedding output).
        time_embedding_size (`int`, *optional*, defaults to 512):
            Width of the sinusoidal embedding of the iteration index (must be even and at least 4).
        image_size (`int`, *optional*, defaults to 32):
            Height and width of the input images.
        patch_size (`int`, *optional*, defaults to 4):
            Height and width of a patch in pixels.
        num_channels (`int`, *optional*, defaults to 3):
            Number of image channels.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialisation of the linear layers.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the LayerNorms (patch embedding and readout).
        rms_norm_eps (`float`, *optional*):
            Epsilon of the RMSNorms; `None` uses `torch.finfo(dtype).eps` as the reference implementation does.
        input_type (`str`, *optional*, defaults to `"image"`):
            `"image"`: patches of `pixel_values` + CLS token + fixed sinusoidal positions. `"sudoku"`: `input_ids`
            of 81 cells (0 = blank, 1-9 = given digit) + learned positions, no CLS token. `"visual_tokens"`:
            `input_ids` of a `token_grid_size` x `token_grid_size` grid of VQ codes (0 ... `codebook_size` - 1, or
            the mask id `codebook_size`) + fixed 2-D sin-cos positions, no CLS token (masked image modeling, paper
            Sec. 5.3: [`HyperSETForMaskedTokenModeling`]).
        layer_type (`str`, *optional*, defaults to `"hyperset"`):
            `"hyperset"`: the energy-descent layer. `"transformer"`: the paper's weight-tied Transformer baseline
            (pre-RMSNorm, separate query/key/value/output projections, row softmax, ReLU MLP of width
            `intermediate_size`, no biases, no step sizes and no energy).
        step_size_network_type (`str`, *optional*, defaults to `"normalized"`):
            `"normalized"`: the image classifier's step-size network with RMSNorms in the time path and on the state
            (reference variant `hyper-set`). `"unnormalized"`: the Sudoku network, `Linear -> GELU -> Linear` time
            path and the raw state.
            `"basic"`: the normalised network with one more RMSNorm before the GELU of the step-size head (reference
            variant `hyper-set-basic`, +`hidden_size` parameters).
            `"sinusoidal"`: the masked-image-modeling network (paper App. D: no MLP after the time embedding, whose
            frequency count equals the hidden size): c_t = sin(t) itself and [alpha | beta] =
            Linear(GELU(RMSNorm(c_t + x))), x the raw state; needs `time_embedding_size == hidden_size`.
            Note: the time path of `"normalized"`, `"unnormalized"` and `"basic"` starts with both Linears at zero
            (as in the reference), so neither weight ever receives a gradient (each one's gradient needs the other
            nonzero): only its last bias learns, and the step sizes depend on the iteration only through the state
            they see. With `step_size_conditioning="initial_state"` (the Sudoku preset) they are the same at every
            iteration; `"sinusoidal"` step sizes depend on the iteration from the start.
        embedding_dropout_prob (`float`, *optional*, defaults to 0.0):
            Dropout on the input embeddings (0.1 in the paper's Sudoku model).
        attention_type (`str`, *optional*, defaults to `"bisoftmax"`):
            Attention energy and its update (paper App. G.1), with z the normalised head projections and
            A = z z^T / sqrt(p): `"bisoftmax"` (Eq. 2-4): E = sqrt(p) sum_i logsumexp_j A_ij, update
            [softmax_rows(A) + softmax_columns(A)] z; `"sigmoid"`: E = sqrt(p) / 2 sum_ij sigmoid(A_ij), update
            [sigmoid(A) (1 - sigmoid(A))] z; `"relu"`: E = 1/4 sum_ij ReLU(z_i . z_j)^2, update ReLU(z z^T) z (no
            1/sqrt(p)); `"linear"`: E = 1/(4 sqrt(p)) sum_ij (phi(z_i) . phi(z_j))^2, update
            (phi(z) phi(z)^T phi(z) / sqrt(p)) * phi'(z), computed in O(N) as phi(z) [phi(z)^T phi(z)] / sqrt(p);
            phi is `attention_feature_map`.
        attention_feature_map (`str`, *optional*, defaults to `"sigmoid"`):
            phi of linear attention: one of `"sigmoid"`, `"tanh"`, `"softplus"`, `"silu"`, `"gelu"`, `"elu"`,
            `"elup1"` (elu + 1). Only used with `attention_type="linear"`.
        feedforward_type (`str`, *optional*, defaults to `"activation"`):
            Feedforward energy and its update, with h = RMSNorm(W_ff x): `"activation"` (Eq. 5): E = -sum_m F(h_m) with
            F' = `hidden_act`, update W_ff^T act(h); `"softmax"`: E = -logsumexp_m h_m, update W_ff^T softmax(h);
            `"gated"`: E = -1/2 (sum_m phi(h_m))^2, update W_ff^T [(sum_m phi(h_m)) phi'(h)], phi =
            `feedforward_feature_map`.
        feedforward_feature_map (`str`, *optional*, defaults to `"sigmoid"`):
            phi of the gated feedforward (same choices as `attention_feature_map`).
        step_size_type (`str`, *optional*, defaults to `"learned"`):
            `"learned"`: step sizes from the step-size network (Eq. 12). `"fixed"`: alpha = beta = `fixed_step_size`
            for every token, channel and iteration, and no step-size network (reference variant `hyper-set-ss`).
        fixed_step_size (`float`, *optional*, defaults to 0.1):
            The step size of `step_size_type="fixed"` (the paper also reports 0.5).
        depthwise_lora_rank (`int`, *optional*, defaults to 0):
            Depth-wise LoRA (reference variant `hyper-set-lora`, paper Table 5) when positive: iteration t uses
            W + s B_t A_t for both the attention projection and its tied output, and W_ff + s B'_t A'_t for both
            feedforward directions, with one pair of rank-r factors per iteration, all initialised N(0, 0.02).
            A model with depth-wise LoRA CANNOT run more iterations than `num_recurrences` (there are no factors for
            them); it can run fewer.
        depthwise_lora_scale (`float`, *optional*, defaults to 4.0):
            The scale s = alpha_L / r of the LoRA deltas (the paper's 4 = 128 / 32).
        num_gradient_free_iterations (`int`, *optional*, defaults to 0):
            Truncated backpropagation: in training mode the first k iterations of every layer run without gradient
            (no activations stored), and only the remaining ones are back-propagated. Must be smaller than the number
            of iterations.
        training_num_recurrences_min (`int`, *optional*):
        training_num_recurrences_max (`int`, *optional*):
            When both are set, every training-mode forward that is not given `num_recurrences` draws the number of
            iterations uniformly from [min, max] (inclusive, with torch's global generator). Evaluation uses
            `num_recurrences`.
        adaptive_exit_threshold (`float`, *optional*):
            Adaptive test-time compute: when set, each sample stops iterating (its state is frozen) after the first
            iteration whose relative change (see `adaptive_exit_criterion`) is below this threshold; `num_recurrences`
            is then the maximum. 0 never exits (identical to fixed depth). Overridable per call.
        adaptive_exit_criterion (`str`, *optional*, defaults to `"energy"`):
            `"energy"`: |E(x_t) - E(x_{t-1})| / |E(x_{t-1})| with E the total energy of the sample; `"state"`:
            ||x_t - x_{t-1}|| / ||x_{t-1}|| over all tokens of the sample.
        adaptive_exit_min_recurrences (`int`, *optional*, defaults to 1):
            Iterations of every layer before a sample may exit (guards against an early, transient plateau of the
            energy). Overridable per call.
        bisoftmax_implementation (`str`, *optional*, defaults to `"dense"`):
            How bi-softmax attention is computed, with equal results: `"dense"` forms the N x N matrix (fastest for
            short sequences); `"chunked"` processes `bisoftmax_chunk_size` queries at a time in two passes (row
            log-sum-exps, then (P + P^T) V) and never forms the matrix: memory O(N) in the sequence length, on every
            device (attention matrices are then not returned).
        bisoftmax_chunk_size (`int`, *optional*, defaults to 256):
            Queries per chunk of the chunked bi-softmax.
        position_embedding_type (`str`, *optional*, defaults to `"learned"`):
            Sudoku cell positions: `"learned"` (81 learned vectors, the paper) or `"row_column_box"` (the sum of a
            learned row, column and box embedding, 27 vectors: cells of one row share the row term, and so on).
        step_size_activation (`str`, *optional*, defaults to `"identity"`):
            Applied to the step-size head: `"identity"` (the paper: signed step sizes) or `"softplus"` (alpha, beta
            >= 0, so that every iteration of a trained model is a descent direction of its energy).
        step_size_initial_value (`float`, *optional*):
            When set, the step-size head starts at this step size for every token and channel (its bias is
            initialised to it, through the inverse softplus with `step_size_activation="softplus"`) instead of zero.
        deep_supervision (`str`, *optional*, defaults to `"last"`):
            Which iterations the Sudoku training loss reads out (training mode only; evaluation always scores the
            last): `"last"` (the paper), `"all"`, `"last_k"` (the last `deep_supervision_num_iterations`) or
            `"random_k"` (the last plus `deep_supervision_num_iterations - 1` drawn at random each step).
        deep_supervision_num_iterations (`int`, *optional*, defaults to 1):
            k of `"last_k"` and `"random_k"`.
        deep_supervision_weighting (`str`, *optional*, defaults to `"uniform"`):
            Weights of the supervised iterations in the loss: `"uniform"` or `"linear"` (iteration t weighs t).
        detach_interval (`int`, *optional*, defaults to 0):
            Segment-wise training when positive: in training mode the state is detached from the graph every
            `detach_interval` iterations, so gradients flow within a segment only (pair it with deep supervision
            to give every segment a loss). 0 back-propagates through all iterations.
        sudoku_decoding (`dict`, *optional*):
            The recommended decoding of `HyperSETForSudoku.solve()` saved with a checkpoint (as `GenerationConfig`
            for text models): any of `decoding`, `reveal_fraction`, `confidence_threshold`, `num_rounds`, `schedule`,
            `warm_start`, `rule_mask`, `num_copies`, `selection`; unset options take `SUDOKU_DECODING_DEFAULTS`.
        energy_descent_loss_weight (`float`, *optional*, defaults to 0.0):
            Sudoku training only: when positive, the training loss adds this weight times the mean energy RISE per
            iteration and token, mean over the batch and iterations of ReLU(E(x_{t+1}) - E(x_t)) / 81, E the total
            energy the model reports (attention + feedforward). It teaches the trained map to descend its energy at
            every iteration, which small non-negative steps alone do not guarantee. Needs `layer_type="hyperset"`.
        codebook_size (`int`, *optional*, defaults to 1024):
            `input_type="visual_tokens"`: number of codes of the image tokenizer (the classes the model predicts);
            the id `codebook_size` is the mask token (`config.mask_token_id`).
        token_grid_size (`int`, *optional*, defaults to 16):
            `input_type="visual_tokens"`: tokens per side of the code grid (16 for 256 px images and a VQGAN that
            downsamples by 16); the model reads `token_grid_size ** 2` tokens.

    Example:

    ```python
    >>> from hyperset_hf import HyperSETConfig, HyperSETForImageClassification

    >>> config = HyperSETConfig(num_labels=10)  # the paper's CIFAR-10 classifier, 1,610,538 parameters
    >>> model = HyperSETForImageClassification(config)
    >>> config.num_hidden_layers  # layer applications: num_layers * num_recurrences
    12

    ```"""

    model_type = "hyperset"
    default_auto_map = HYPERSET_AUTO_MAP

    hidden_size: int = 512
    num_attention_heads: int = 8
    intermediate_size: int = 512
    num_layers: int = 1
    num_recurrences: int = 12
    hidden_act: str = "gelu"
    share_qkv_norm: bool = False
    step_size_conditioning: str = "current_state"
    time_embedding_size: int = 512
    image_size: int = 32
    patch_size: int = 4
    num_channels: int = 3
    initializer_range: float | int = 0.02
    layer_norm_eps: float | int = 1e-5
    rms_norm_eps: float | int | None = None
    input_type: str = "image"
    layer_type: str = "hyperset"
    step_size_network_type: str = "normalized"
    embedding_dropout_prob: float | int = 0.0
    attention_type: str = "bisoftmax"
    attention_feature_map: str = "sigmoid"
    feedforward_type: str = "activation"
    feedforward_feature_map: str = "sigmoid"
    step_size_type: str = "learned"
    fixed_step_size: float | int = 0.1
    depthwise_lora_rank: int = 0
    depthwise_lora_scale: float | int = 4.0
    num_gradient_free_iterations: int = 0
    training_num_recurrences_min: int | None = None
    training_num_recurrences_max: int | None = None
    adaptive_exit_threshold: float | int | None = None
    adaptive_exit_criterion: str = "energy"
    adaptive_exit_min_recurrences: int = 1
    bisoftmax_implementation: str = "dense"
    bisoftmax_chunk_size: int = 256
    position_embedding_type: str = "learned"
    step_size_activation: str = "identity"
    step_size_initial_value: float | int | None = None
    deep_supervision: str = "last"
    deep_supervision_num_iterations: int = 1
    deep_supervision_weighting: str = "uniform"
    detach_interval: int = 0
    energy_descent_loss_weight: float | int = 0.0
    sudoku_decoding: dict | None = None
    codebook_size: int = 1024
    token_grid_size: int = 16
    auto_map: dict[str, str] | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.input_type == "visual_tokens":  # a saved folder also loads with AutoModelForMaskedLM (remote code)
            missing = {k: v for k, v in HYPERSET_VISUAL_TOKENS_AUTO_MAP_ENTRY.items() if k not in self.auto_map}
            self.auto_map = {**self.auto_map, **missing}

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "HyperSETConfig":
        """Builds one of the paper's configurations (`"sudoku"`, `"sudoku-transformer"`, `"cifar10"`, `"cifar100"`,
        `"imagenet-1k"`, and masked image modeling on VQ tokens `"mim"`, `"mim-scaled"`, `"mim-transformer"`);
        keyword arguments override single fields.

        Example:

        ```python
        >>> from hyperset_hf import HyperSETConfig
        >>> config = HyperSETConfig.from_preset("sudoku", hidden_size=128, num_attention_heads=4, intermediate_size=512)
        >>> config.input_type, config.num_recurrences, config.num_labels
        ('sudoku', 24, 9)

        ```"""
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; expected one of {sorted(PRESETS)}.")
        return cls(**{**PRESETS[name], **overrides})

    @property
    def num_hidden_layers(self) -> int:
        """Number of layer applications in one forward pass with the default iteration count (`num_layers *
        num_recurrences`); `output_hidden_states` returns one more (the initial state)."""
        return self.num_layers * self.num_recurrences

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def mask_token_id(self) -> int:
        """The input id of the masked visual token (`input_type="visual_tokens"`): one past the last code, always
        `codebook_size`. Giving it (`HyperSETConfig(mask_token_id=...)`, a `config.json` key, an assignment) is
        accepted with that value only: any other id is refused by a `ValueError` (an id inside the codebook would be
        a real code)."""
        return self.codebook_size

    @mask_token_id.setter
    def mask_token_id(self, value) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value != self.codebook_size:
            raise ValueError(
                f"`mask_token_id` is one past the last code, config.codebook_size = {self.codebook_size}, and cannot be "
                f"another id; got {value!r} (an id inside the codebook would be a real code). Set `codebook_size`."
            )

    @property
    def num_visual_tokens(self) -> int:
        """Tokens of one code grid (`input_type="visual_tokens"`): `token_grid_size ** 2`."""
        return self.token_grid_size**2

    def validate_architecture(self):
        """The `@strict` class validator (run on construction, after `from_pretrained` overrides, on save): every
        field in range and the fields consistent with each other; raises `ValueError` naming the bad value."""
        def positive(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")

        for name in (
            "hidden_size",
            "num_attention_heads",
            "intermediate_size",
            "num_layers",
            "num_recurrences",
            "time_embedding_size",
            "image_size",
            "patch_size",
            "num_channels",
            "bisoftmax_chunk_size",
            "deep_supervision_num_iterations",
            "codebook_size",
            "token_grid_size",
        ):
            positive(name)
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) must be divisible by `num_attention_heads` "
                f"({self.num_attention_heads})."
            )
        if self.hidden_act not in FEEDFORWARD_ACTIVATIONS:
            raise ValueError(f"`hidden_act` must be one of {FEEDFORWARD_ACTIVATIONS}, got {self.hidden_act!r}.")
        if self.step_size_conditioning not in STEP_SIZE_CONDITIONINGS:
            raise ValueError(
                f"`step_size_conditioning` must be one of {STEP_SIZE_CONDITIONINGS}, got "
                f"{self.step_size_conditioning!r}."
            )
        for name, allowed in (
            ("input_type", INPUT_TYPES),
            ("layer_type", LAYER_TYPES),
            ("step_size_network_type", STEP_SIZE_NETWORK_TYPES),
            ("attention_type", ATTENTION_TYPES),
            ("attention_feature_map", FEATURE_MAPS),
            ("feedforward_type", FEEDFORWARD_TYPES),
            ("feedforward_feature_map", FEATURE_MAPS),
            ("step_size_type", STEP_SIZE_TYPES),
            ("adaptive_exit_criterion", ADAPTIVE_EXIT_CRITERIA),
            ("bisoftmax_implementation", BISOFTMAX_IMPLEMENTATIONS),
            ("position_embedding_type", POSITION_EMBEDDING_TYPES),
            ("step_size_activation", STEP_SIZE_ACTIVATIONS),
            ("deep_supervision", DEEP_SUPERVISION_MODES),
            ("deep_supervision_weighting", DEEP_SUPERVISION_WEIGHTINGS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}.")
        if not 0.0 <= self.embedding_dropout_prob < 1.0:
            raise ValueError(f"`embedding_dropout_prob` must be in [0, 1), got {self.embedding_dropout_prob}.")
        if self.time_embedding_size % 2 != 0 or self.time_embedding_size < 4:
            raise ValueError(
                f"`time_embedding_size` must be an even number >= 4 (sines and cosines), got {self.time_embedding_size}."
            )
        if self.step_size_network_type == "sinusoidal" and self.time_embedding_size != self.hidden_size:
            raise ValueError(
                f"`time_embedding_size` ({self.time_embedding_size}) must equal `hidden_size` ({self.hidden_size}) "
                "with step_size_network_type='sinusoidal': the iteration embedding is added to the state unprojected."
            )
        if self.input_type == "visual_tokens" and self.hidden_size % 4 != 0:
            raise ValueError(
                f"`hidden_size` ({self.hidden_size}) must be divisible by 4 with input_type='visual_tokens': the 2-D "
                "sin-cos positions give a quarter of the channels to each of sin/cos of the column/row index."
            )
        if self.image_size % self.patch_size != 0:
            raise ValueError(
                f"`image_size` ({self.image_size}) must be divisible by `patch_size` ({self.patch_size})."
            )
        if not self.initializer_range > 0:
            raise ValueError(f"`initializer_range` must be positive, got {self.initializer_range}.")
        if not self.layer_norm_eps > 0:
            raise ValueError(f"`layer_norm_eps` must be positive, got {self.layer_norm_eps}.")
        if self.rms_norm_eps is not None and not self.rms_norm_eps > 0:
            raise ValueError(f"`rms_norm_eps` must be positive or None, got {self.rms_norm_eps}.")
        self._validate_variants()
        super().validate_architecture()

    def _validate_variants(self):
        def non_negative(name):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be a non-negative integer, got {value!r}.")

        non_negative("depthwise_lora_rank")
        non_negative("detach_interval")
        if self.input_type != "sudoku":
            for name, default in (("position_embedding_type", "learned"), ("deep_supervision", "last")):
                if getattr(self, name) != default:
                    raise ValueError(
                        f"`{name}={getattr(self, name)!r}` is a Sudoku option; this config has input_type="
                        f"{self.input_type!r} (use {name}={default!r})."
                    )
        decoding = self.sudoku_decoding
        allowed = ("decoding", "reveal_fraction", "confidence_threshold", "num_rounds", "schedule", "warm_start",
                   "rule_mask", "num_copies", "selection")  # fmt: skip
        if decoding is not None and (not isinstance(decoding, dict) or set(decoding) - set(allowed)):
            raise ValueError(f"`sudoku_decoding` must be a dict with keys among {allowed}, got {decoding!r}.")
        weight = self.energy_descent_loss_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"`energy_descent_loss_weight` must be a finite number >= 0, got {weight!r}.")
        if weight and (self.input_type != "sudoku" or self.layer_type != "hyperset"):
            raise ValueError(
                f"`energy_descent_loss_weight={weight!r}` is a Sudoku option of the energy-based model; this config "
                f"has input_type={self.input_type!r}, layer_type={self.layer_type!r} (use 0.0)."
            )
        value = self.step_size_initial_value
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"`step_size_initial_value` must be a finite number or None, got {value!r}.")
            if self.step_size_activation == "softplus" and not value > 0:
                raise ValueError(
                    f"`step_size_initial_value` must be positive with step_size_activation='softplus', got {value!r}."
                )
        if self.step_size_type == "fixed" and (self.step_size_activation != "identity" or value is not None):
            raise ValueError(
                "`step_size_activation` and `step_size_initial_value` shape the learned step-size network; "
                "step_size_type='fixed' has none (set fixed_step_size instead)."
            )
        if isinstance(self.adaptive_exit_min_recurrences, bool) or self.adaptive_exit_min_recurrences < 1:
            value = self.adaptive_exit_min_recurrences
            raise ValueError(f"`adaptive_exit_min_recurrences` must be a positive integer, got {value!r}.")
        non_negative("num_gradient_free_iterations")
        if not (math.isfinite(self.fixed_step_size) and self.fixed_step_size > 0):
            raise ValueError(
                f"`fixed_step_size` must be a finite positive number (a descent step), got {self.fixed_step_size}."
            )
        if not math.isfinite(self.depthwise_lora_scale):
            raise ValueError(f"`depthwise_lora_scale` must be finite, got {self.depthwise_lora_scale}.")
        if self.adaptive_exit_threshold is not None and not self.adaptive_exit_threshold >= 0:
            raise ValueError(
                f"`adaptive_exit_threshold` must be a non-negative number or None, got {self.adaptive_exit_threshold}."
            )
        if self.layer_type != "hyperset":
            hyperset_only = {
                "attention_type": "bisoftmax",
                "feedforward_type": "activation",
                "step_size_type": "learned",
                "depthwise_lora_rank": 0,
            }
            for name, default in hyperset_only.items():
                if getattr(self, name) != default:
                    raise ValueError(
                        f"`{name}={getattr(self, name)!r}` is a Hyper-SET variant; the Transformer baseline "
                        f"(layer_type={self.layer_type!r}) needs {name}={default!r}."
                    )
            if self.adaptive_exit_threshold is not None and self.adaptive_exit_criterion == "energy":
                raise ValueError(
                    "`adaptive_exit_criterion='energy'` needs an energy-based layer; the Transformer baseline "
                    "has no energy: use adaptive_exit_criterion='state'."
                )
        bounds = (self.training_num_recurrences_min, self.training_num_recurrences_max)
        if (bounds[0] is None) != (bounds[1] is None):
            raise ValueError(
                "Set both `training_num_recurrences_min` and `training_num_recurrences_max` (or neither), got "
                f"{bounds[0]!r} and {bounds[1]!r}."
            )
        smallest = self.num_recurrences
        if bounds[0] is not None:
            for name, value in zip(("training_num_recurrences_min", "training_num_recurrences_max"), bounds):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
            if bounds[0] > bounds[1]:
                raise ValueError(
                    f"`training_num_recurrences_min` ({bounds[0]}) must not exceed `training_num_recurrences_max` "
                    f"({bounds[1]})."
                )
            if self.depthwise_lora_rank > 0 and bounds[1] > self.num_recurrences:
                raise ValueError(
                    f"`training_num_recurrences_max` ({bounds[1]}) exceeds `num_recurrences` ({self.num_recurrences}): "
                    "depth-wise LoRA has weight deltas for `num_recurrences` iterations only."
                )
            smallest = min(smallest, bounds[0])
        if self.num_gradient_free_iterations >= smallest:
            raise ValueError(
                f"`num_gradient_free_iterations` ({self.num_gradient_free_iterations}) must be smaller than the number "
                f"of iterations of every training step ({smallest}), or no iteration would receive a gradient."
            )


__all__ = ["HyperSETConfig", "PRESETS"]
