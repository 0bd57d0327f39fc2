# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The input embeddings of Hyper-SET: images (patches, CLS token, fixed sinusoidal positions), Sudoku cells (digits
plus learned cell positions) and VQ image tokens (codes plus fixed 2-D sin-cos positions), each producing the initial
state x_0 `(batch_size, tokens, hidden_size)` of the recurrence, with the checks of its input.

This module imports only torch, transformers and `input_checks`; it travels with `modeling_hyperset.py` as Hub remote
code.
"""

import torch
from torch import nn
from transformers.utils.import_utils import is_torchdynamo_compiling

from .configuration_hyperset import HyperSETConfig
from .input_checks import embed_patches, shape_of


def sinusoidal_position_embedding(num_positions: int, hidden_size: int, device=None) -> torch.Tensor:
    """Fixed 1-D sinusoidal positions (interleaved): `PE[pos, 2i] = sin(pos / 10000^(2i/d))`,
    `PE[pos, 2i+1] = cos(pos / 10000^(2i/d))`. Shape `(num_positions, hidden_size)`."""
    positions = torch.arange(num_positions, dtype=torch.float32, device=device)[:, None]
    even_dims = torch.arange(0, hidden_size, 2, dtype=torch.float32, device=device)
    angles = positions / torch.pow(10000.0, even_dims / hidden_size)
    embedding = torch.zeros(num_positions, hidden_size, device=device)
    embedding[:, 0::2] = angles.sin()
    embedding[:, 1::2] = angles.cos()[:, : hidden_size // 2]
    return embedding


def sincos_2d_position_embedding(grid_size: int, hidden_size: int, device=None) -> torch.Tensor:
    """Fixed 2-D sin-cos positions of a `grid_size` x `grid_size` grid in row-major order (the MAE convention of the
    reference MIM model): for the token at (row r, column c), channels [0, d/4) = sin(c w), [d/4, d/2) = cos(c w),
    [d/2, 3d/4) = sin(r w), [3d/4, d) = cos(r w), with w_i = 10000^(-i / (d/4)); the first half encodes the COLUMN.
    Computed in float64 (as the reference's NumPy code), returned as float32 of shape `(grid_size**2, hidden_size)`."""
    quarter = hidden_size // 4
    frequencies = 1.0 / 10000.0 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    coordinates = torch.arange(grid_size, dtype=torch.float64)
    rows, columns = torch.meshgrid(coordinates, coordinates, indexing="ij")  # token index = row * grid_size + column

    def encode(positions):
        angles = positions.reshape(-1, 1) * frequencies
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    return torch.cat([encode(columns), encode(rows)], dim=1).to(device=device, dtype=torch.float32)


class HyperSETPatchEmbeddings(nn.Module):
    """Cuts `(batch_size, num_channels, height, width)` images into patches flattened in (row, column, channel) order
    (channels last, as the reference implementation) and embeds them with LayerNorm -> Linear -> LayerNorm into
    `(batch_size, num_patches, hidden_size)`."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.patch_size = config.patch_size
        self.num_channels = config.num_channels
        patch_dim = config.num_channels * config.patch_size**2
        self.input_norm = nn.LayerNorm(patch_dim, eps=config.layer_norm_eps)
        self.projection = nn.Linear(patch_dim, config.hidden_size)
        self.output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        batch_size, num_channels, height, width = pixel_values.shape
        size = self.patch_size
        patches = pixel_values.reshape(batch_size, num_channels, height // size, size, width // size, size)
        patches = patches.permute(0, 2, 4, 3, 5, 1).reshape(batch_size, (height // size) * (width // size), -1)
        return self.output_norm(self.projection(self.input_norm(patches)))


class HyperSETEmbeddings(nn.Module):
    """Patch embeddings, optional mask token, CLS token and fixed 1-D sinusoidal positions (not stored)."""

    def __init__(self, config: HyperSETConfig, use_mask_token: bool = False):
        super().__init__()
        self.config = config
        self.patch_embeddings = HyperSETPatchEmbeddings(config)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size)) if use_mask_token else None
        self.register_buffer("positions", self.default_positions(), persistent=False)  # (tokens, hidden_size)

    def default_positions(self) -> torch.Tensor:
        num_tokens = (self.config.image_size // self.config.patch_size) ** 2 + 1
        return sinusoidal_position_embedding(num_tokens, self.config.hidden_size)

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        interpolate_pos_encoding: bool = False,
    ) -> torch.Tensor:
        embeddings = embed_patches(self, pixel_values, bool_masked_pos, interpolate_pos_encoding)
        batch_size, num_patches, _ = embeddings.shape
        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        embeddings = torch.cat((cls_tokens, embeddings), dim=1)
        positions = self.positions
        if positions.shape[0] != num_patches + 1:  # another image size (interpolate_pos_encoding)
            positions = sinusoidal_position_embedding(num_patches + 1, embeddings.shape[-1], device=embeddings.device)
        return embeddings + positions.to(embeddings.dtype)


SUDOKU_NUM_CELLS = 81
SUDOKU_VOCAB_SIZE = 10  # 0 = blank, 1-9 = given digit
SUDOKU_NUM_DIGITS = 9


class HyperSETSudokuEmbeddings(nn.Module):
    """Digit embeddings of the 81 cells plus cell positions, then dropout (paper App. D): `(batch_size, 81)` ids in
    0-9 -> x_0 of shape `(batch_size, 81, hidden_size)`. Positions are 81 learned vectors (the paper) or, with
    `config.position_embedding_type="row_column_box"`, the sum of the cell's row, column and box embeddings."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.digit_embeddings = nn.Embedding(SUDOKU_VOCAB_SIZE, config.hidden_size)
        if config.position_embedding_type == "row_column_box":
            self.row_embeddings, self.column_embeddings, self.box_embeddings = (
                nn.Embedding(9, config.hidden_size) for _ in range(3)
            )
        else:
            self.position_embeddings = nn.Parameter(torch.zeros(1, SUDOKU_NUM_CELLS, config.hidden_size))
        self.dropout = nn.Dropout(config.embedding_dropout_prob)

    def cell_positions(self) -> torch.Tensor:
        """(1, 81, hidden_size): the position term of every cell (row-major)."""
        if not hasattr(self, "row_embeddings"):
            return self.position_embeddings
        cells = torch.arange(SUDOKU_NUM_CELLS, device=self.row_embeddings.weight.device)
        rows, columns = cells // 9, cells % 9
        boxes = (rows // 3) * 3 + columns // 3
        return (self.row_embeddings(rows) + self.column_embeddings(columns) + self.box_embeddings(boxes))[None]

    @staticmethod
    def check_input_ids(input_ids: torch.Tensor) -> None:
        if not isinstance(input_ids, torch.Tensor):
            raise ValueError(
                f"`input_ids` must be a tensor of shape (batch_size, {SUDOKU_NUM_CELLS}), got a "
                f"{type(input_ids).__name__}: convert it with torch.tensor(...)."
            )
        if input_ids.shape[0] == 0:
            raise ValueError("`input_ids` is an empty batch; pass at least one puzzle.")
        if input_ids.ndim != 2 or input_ids.shape[1] != SUDOKU_NUM_CELLS:
            shape = tuple(input_ids.shape)
            raise ValueError(
                f"`input_ids` must be a tensor of shape (batch_size, {SUDOKU_NUM_CELLS}) with one digit per cell, "
                f"got {shape}."
            )
        if input_ids.is_floating_point() or input_ids.is_complex():
            raise ValueError(f"`input_ids` must be an integer tensor, got dtype {input_ids.dtype}.")
        if is_torchdynamo_compiling():  # value checks need the data: not inside a compiled graph
            return
        bad = (input_ids < 0) | (input_ids >= SUDOKU_VOCAB_SIZE)
        if bad.any():
            board, cell = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`input_ids` must hold digits 0-9 (0 = blank); board {board}, cell {cell} has "
                f"{int(input_ids[board, cell])}."
            )

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        self.check_input_ids(input_ids)
        return self.dropout(self.digit_embeddings(input_ids) + self.cell_positions())


def _visual_token_shapes(config: HyperSETConfig) -> str:
    grid = config.token_grid_size
    return (f"(batch_size, {config.num_visual_tokens}) or (batch_size, {grid}, {grid}) (a {grid}x{grid} grid of codes, "
            "config.token_grid_size)")  # fmt: skip


def check_visual_token_ids(input_ids: torch.Tensor, config: HyperSETConfig) -> torch.Tensor:
    """VQ code ids `(batch_size, num_tokens)` or `(batch_size, grid, grid)`, integers in 0 ... `codebook_size` (the
    last is the mask id) of any integer dtype; returns them as int64 `(batch_size, num_tokens)` (row-major). Raises
    `ValueError` naming the bad value: a bool or float tensor, a wrong shape, an empty batch, an id out of range (the
    value checks are skipped inside a compiled graph)."""
    if not isinstance(input_ids, torch.Tensor):
        raise ValueError(
            f"`input_ids` must be a tensor of shape {_visual_token_shapes(config)}, got a {type(input_ids).__name__}: "
            "convert it with torch.tensor(...)."
        )
    grid, shape = config.token_grid_size, tuple(input_ids.shape)
    if input_ids.ndim not in (2, 3) or shape[1:] not in ((config.num_visual_tokens,), (grid, grid)):
        raise ValueError(f"`input_ids` must have shape {_visual_token_shapes(config)}, got {shape}.")
    if shape[0] == 0:
        raise ValueError("`input_ids` is an empty batch; pass at least one code grid.")
    if input_ids.dtype == torch.bool or input_ids.is_floating_point() or input_ids.is_complex():
        raise ValueError(
            f"`input_ids` must be an integer tensor of code ids (int64, int32, int16, int8 or uint8), got dtype "
            f"{input_ids.dtype}."
        )
    input_ids = input_ids.reshape(shape[0], -1).long()  # (any integer dtype: the embedding takes int64)
    if not is_torchdynamo_compiling():
        bad = (input_ids < 0) | (input_ids > config.mask_token_id)
        if bad.any():
            sample, token = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"`input_ids` must hold codebook ids 0-{config.codebook_size - 1} or the mask id "
                f"{config.mask_token_id} (config.codebook_size = {config.codebook_size}); sample {sample}, token "
                f"{token} has {int(input_ids[sample, token])}."
            )
    return input_ids


def check_visual_token_labels(labels: torch.Tensor, input_ids: torch.Tensor, config: HyperSETConfig) -> torch.Tensor:
    """Targets of the shape of `input_ids`: code ids 0 ... `codebook_size - 1` where scored, -100 elsewhere; returns
    them as `(batch_size, num_tokens)`. The mask id is an input, never a target: it is refused by name."""
    if not isinstance(labels, torch.Tensor) or tuple(labels.shape) != tuple(input_ids.shape):
        shape = shape_of(labels)
        raise ValueError(f"`labels` must have the shape of `input_ids` {tuple(input_ids.shape)}, got {shape}.")
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"`labels` must be an integer tensor (code ids, -100 = not scored), got dtype {labels.dtype}.")
    labels = labels.reshape(labels.shape[0], -1)
    if not is_torchdynamo_compiling():
        bad = (labels != -100) & ((labels < 0) | (labels >= config.codebook_size))
        if bad.any():
            sample, token = (int(i) for i in bad.nonzero()[0])
            value = int(labels[sample, token])
            is_mask = value == config.mask_token_id
            note = ", the mask id: it marks masked inputs and is never a target" if is_mask else ""
            raise ValueError(
                f"`labels` must be codebook ids 0-{config.codebook_size - 1} or -100 (not scored); sample {sample}, "
                f"token {token} has {value}{note}."
            )
    return labels


class HyperSETVisualTokenEmbeddings(nn.Module):
    """Code embeddings of a grid of VQ tokens plus fixed 2-D sin-cos positions (reference `mim/models.py`; the
    positions are not stored): `(batch_size, num_tokens)` or `(batch_size, grid, grid)` ids in 0 ... codebook_size
    (the last = the learned [MASK] embedding) -> x_0 of shape `(batch_size, num_tokens, hidden_size)`, then dropout
    (`config.embedding_dropout_prob`, 0 in the paper)."""

    def __init__(self, config: HyperSETConfig):
        super().__init__()
        self.config = config
        self.token_embeddings = nn.Embedding(config.codebook_size + 1, config.hidden_size)  # row codebook_size: [MASK]
        self.register_buffer("positions", self.default_positions(), persistent=False)  # (num_tokens, hidden_size)
        self.dropout = nn.Dropout(config.embedding_dropout_prob)

    def default_positions(self) -> torch.Tensor:
        return sincos_2d_position_embedding(self.config.token_grid_size, self.config.hidden_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        embeddings = self.token_embeddings(check_visual_token_ids(input_ids, self.config))
        return self.dropout(embeddings + self.positions.to(embeddings.dtype))
