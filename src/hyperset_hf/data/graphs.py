# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Graph data for node-level anomaly detection with the Energy Transformer: the YelpChi review-spam graph built from
the copy inside the UGFraud wheel, and generated attributed graphs with injected outliers.

Both loaders return a `torch_geometric.data.Data` with the same fields:

- `x` (`float32`, `(num_nodes, num_features)`): node features.
- `y` (`int64`, `(num_nodes,)`): 1 = anomaly (spam review / injected outlier), 0 = normal.
- `edge_index` (`int64`, `(2, num_edges)`): undirected (both directions present), without self-loops, without
  duplicate edges within a relation. The model adds its own self-loop policy.
- `edge_type` (`int64`, `(num_edges,)`): the relation of each edge (`YELPCHI_EDGE_TYPES`; the injected graph has the
  single type 0).
- `train_mask`, `val_mask`, `test_mask` (`bool`, `(num_nodes,)`): a stratified split (`stratified_masks`): in each
  class, `train_fraction` of the nodes go to training and the rest is split validation : test = 1 : 2 (the
  supervised protocol of BWGNN, Tang et al., ICML 2022: 40% training). The masks are disjoint and cover every node.

YelpChi (UGFraud copy)
----------------------
YelpChi (Rayana and Akoglu, KDD 2015) has 67,395 reviews of 201 Chicago hotels and restaurants by 38,063 users;
8,919 (13.23%) were filtered by Yelp's spam filter. The UGFraud wheel (`pip install UGFraud==0.1.1.3`, no dependencies,
Apache-2.0, https://github.com/safe-graph/UGFraud) ships it as `UGFraud/Yelp_Data/YelpChi/metadata.gz`, one review per
line, `user_id product_id rating label date`, with the ratings and dates replaced by `None` (its md5 differs from the
checksum of the intact file in UGFraud's `Demo/demo_pre.py`). `load_yelpchi_ugfraud` reads only that file (never
`priors.pkl`, never UGFraud's code, whose helpers import scikit-learn and networkx) and builds the review graph of
CARE-GNN (Dou et al., CIKM 2020) as far as the stripped file allows. See its docstring for the counts.

Injected outliers
-----------------
`make_injected_outlier_graph` draws a stochastic block model with community-dependent Gaussian features and injects
the structural and contextual outliers of Ding et al. (SDM 2019, "Deep Anomaly Detection on Attributed Networks"),
as implemented by PyGOD's `gen_structural_outlier` / `gen_contextual_outlier`. PyGOD itself (BSD-2) is not used: it
pulls in scipy and scikit-learn and seeds the global RNG; the generators here take a `torch.Generator`.

torch_geometric is imported inside the functions that need it (`pip install -e '.[graph]'`). The metrics of the
protocol (AUC, macro-F1, the validation threshold) are scikit-learn's, called by the graph example
(`examples/_shared/graph_metrics.py`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import operator
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..input_checks import as_fraction, as_seed
from . import data_cache_dir


if TYPE_CHECKING:
    from torch_geometric.data import Data


__all__ = [
    "MAX_INJECTED_EDGES",
    "MAX_INJECTED_FEATURE_VALUES",
    "MAX_INJECTED_NUM_NODES",
    "YELPCHI_EDGE_TYPES",
    "YELPCHI_FEATURE_NAMES",
    "YELPCHI_NUM_EDGES",
    "YELPCHI_NUM_PRODUCTS",
    "YELPCHI_NUM_REVIEWS",
    "YELPCHI_NUM_SPAM",
    "YELPCHI_NUM_USERS",
    "load_yelpchi_ugfraud",
    "make_injected_outlier_graph",
    "stratified_masks",
    "ugfraud_yelpchi_path",
]

YELPCHI_NUM_REVIEWS = 67_395
YELPCHI_NUM_USERS = 38_063
YELPCHI_NUM_PRODUCTS = 201
YELPCHI_NUM_SPAM = 8_919
YELPCHI_EDGE_TYPES = ("R-U-R", "R-P-R")
# Directed edge counts (both directions counted) of the default construction: product_neighbors=10, graph_seed=0.
YELPCHI_NUM_EDGES = {"R-U-R": 220_224, "R-P-R": 1_328_604}
YELPCHI_FEATURE_NAMES = (
    "log_user_review_count",
    "log_product_review_count",
    "user_has_single_review",
    "user_mean_log_product_review_count",
    "product_single_review_user_fraction",
)
# v1 (up to hyperset-hf 0.2): torch.save pickles named .pt, never read again; v2: safetensors with a checksum.
_CACHE_VERSION = "v2"


# ------------------------------------------------------------------------------------------------------------------
# Validation and splits
# ------------------------------------------------------------------------------------------------------------------


# Above this many nodes `make_injected_outlier_graph` refuses: its block model draws every pair of nodes (time and
# memory grow as num_nodes^2: about 0.3 s at 2,000 nodes, 1.6 s at 10,000 and 6 s at 20,000 on the 2-core dev CPU).
MAX_INJECTED_NUM_NODES = 20_000
# and above these sizes of its outputs (memory: 400 MB of features, 160 MB per 10 million directed edges)
MAX_INJECTED_FEATURE_VALUES = 100_000_000  # num_nodes * num_features
MAX_INJECTED_EDGES = 10_000_000  # expected undirected edges: num_nodes * average_degree / 2 + the cliques' edges


def _is_bool(value: object) -> bool:
    """A Python, NumPy or 0-d torch bool (which `operator.index` would otherwise take for 0 / 1)."""
    return (
        isinstance(value, bool) or type(value).__name__ == "bool_"
        or (isinstance(value, torch.Tensor) and value.dtype == torch.bool)
    )  # fmt: skip


def _check_integer(name: str, value: object, minimum: int) -> int:
    """`value` as a Python int: Python and NumPy integers and 0-d integer tensors of at least `minimum` are accepted;
    bools, floats (even integral ones such as 2.0), strings and anything else raise a `ValueError` naming `name`, the
    value and the accepted range (the one integer check of this module's public functions)."""
    accepted = f"an integer >= {minimum}"
    if _is_bool(value) or isinstance(value, float) or getattr(value, "ndim", 0) != 0:  # ndim: an array or tensor
        raise ValueError(f"{name} must be an integer, got {value!r} (accepted: {accepted})")
    try:
        integer = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r} (accepted: {accepted})") from None
    if integer < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {integer} (accepted: {accepted})")
    return integer


def _check_number(name: str, value: object, accepted: str, inside) -> float:
    """`value` as a finite Python float: Python and NumPy integers and floats and 0-d real tensors for which
    `inside(value)` holds are accepted; bools, strings, nan, inf and values outside raise a `ValueError` that names
    `name`, the value and `accepted` (what follows "must be": "in (0, 1)", "a positive number")."""
    if _is_bool(value) or isinstance(value, (str, bytes, complex)) or getattr(value, "ndim", 0) != 0:
        raise ValueError(f"{name} must be a real number, got {value!r} (accepted: {accepted})")
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of more than one element
        raise ValueError(f"{name} must be a real number, got {value!r} (accepted: {accepted})") from None
    if not math.isfinite(number) or not inside(number):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return number


def _check_train_fraction(train_fraction: float) -> float:
    """The training share of a split: a number in (0, 1) (`_check_number`)."""
    return _check_number("train_fraction", train_fraction, "in (0, 1)", lambda number: 0.0 < number < 1.0)


def _check_node_labels(labels) -> torch.Tensor:
    """Class labels of the nodes for a split: a 1-D tensor, NumPy array or list of non-negative integer classes
    (integer or bool dtype, or floats holding whole numbers such as 0.0 / 1.0) -> an `int64` tensor. A nan, inf,
    fractional or negative label (e.g. -1 or -100 for "unlabelled") raises a `ValueError` naming the node: such a
    node would otherwise land in no split, or in a split of its own class, without a word."""
    if not isinstance(labels, torch.Tensor):
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(
                f"labels must be a 1-D tensor, NumPy array or list of class indices, got {type(labels).__name__}"
            ) from None
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (num_nodes,), got {tuple(labels.shape)}")
    if labels.is_complex():
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.is_floating_point():
        bad = ~torch.isfinite(labels) | (labels != labels.round())
        if bad.any():
            node = int(bad.nonzero()[0])
            raise ValueError(
                f"labels must be whole-number class indices (>= 0); node {node} has {labels[node].item()} "
                f"(select the labelled nodes before splitting)"
            )
    labels = labels.long()
    if labels.numel() and int(labels.min()) < 0:
        node = int((labels < 0).nonzero()[0])
        raise ValueError(
            f"labels must be class indices >= 0; node {node} has {int(labels[node])} (a negative label such as -1 or "
            f"-100 marks an unlabelled node: select the labelled nodes before splitting)"
        )
    return labels


def stratified_masks(
    labels: torch.Tensor, train_fraction: float = 0.4, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded stratified train / validation / test masks.

    In each class (in increasing label order) the nodes are shuffled with a `torch.Generator` seeded by `seed`; the
    first `round(n * train_fraction)` go to training, the next `round((n - n_train) / 3)` to validation and the rest
    to test (validation : test = 1 : 2; the proportions of `sklearn.model_selection.train_test_split` with
    `stratify=` applied twice, without needing scikit-learn, though not its exact draws or rounding). So every split's
    class rates match the whole graph's up to one node per class.

    Args:
        labels (`torch.Tensor`, NumPy array or list, of shape `(num_nodes,)`): class labels >= 0 of every node, of an
            integer or bool dtype, or floats holding whole numbers (0.0, 1.0). Every node gets a split, so a nan,
            fractional or negative label (-1 or -100 for "unlabelled") is refused with a `ValueError` naming the node:
            select the labelled nodes first.
        train_fraction (`float`, *optional*, defaults to 0.4): share of each class in training, a finite number in
            (0, 1) (Python or NumPy; a bool is refused).
        seed (`int`, *optional*, defaults to 0): seed of the shuffle, an integer from 0 to 2**63 - 1 (Python or NumPy
            integers; 1.7, "0" or True are refused, never truncated).

    Returns:
        `(train_mask, val_mask, test_mask)`, boolean tensors of shape `(num_nodes,)`, disjoint and covering all nodes.

    Raises:
        `ValueError` naming the argument, its value and what is accepted, or when a split would be empty.
    """
    train_fraction = _check_train_fraction(train_fraction)
    seed = as_seed(seed, "seed")
    labels = _check_node_labels(labels).cpu()
    generator = torch.Generator().manual_seed(seed)
    masks = [torch.zeros(labels.numel(), dtype=torch.bool) for _ in range(3)]
    for value in torch.unique(labels):
        members = (labels == value).nonzero().flatten()
        members = members[torch.randperm(members.numel(), generator=generator)]
        num_train = math.floor(members.numel() * train_fraction + 0.5)
        num_val = math.floor((members.numel() - num_train) / 3 + 0.5)
        masks[0][members[:num_train]] = True
        masks[1][members[num_train : num_train + num_val]] = True
        masks[2][members[num_train + num_val :]] = True
    sizes = [int(mask.sum()) for mask in masks]
    if min(sizes) == 0:
        raise ValueError(
            f"train_fraction={train_fraction} leaves an empty split for {labels.numel()} nodes "
            f"(train / val / test sizes {sizes[0]} / {sizes[1]} / {sizes[2]})"
        )
    return masks[0], masks[1], masks[2]


def _undirected_edges(source: torch.Tensor, target: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Both directions of the given pairs, self-loops removed, duplicates merged, sorted; shape `(2, num_edges)`."""
    from torch_geometric.utils import coalesce

    keep = source != target
    source, target = source[keep], target[keep]
    edge_index = torch.stack([torch.cat([source, target]), torch.cat([target, source])])
    return coalesce(edge_index, num_nodes=num_nodes)


# ------------------------------------------------------------------------------------------------------------------
# YelpChi from the UGFraud wheel
# ------------------------------------------------------------------------------------------------------------------


def ugfraud_yelpchi_path() -> Path:
    """The path of `Yelp_Data/YelpChi/metadata.gz` inside the installed UGFraud wheel (without importing UGFraud's
    modules: only its empty top-level package is located).

    Raises:
        `ModuleNotFoundError` if UGFraud is not installed, `FileNotFoundError` if the file is missing.
    """
    import importlib.util

    spec = importlib.util.find_spec("UGFraud")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "YelpChi is read from the UGFraud wheel, which is not installed: pip install UGFraud==0.1.1.3 "
            "(or pip install -e '.[graph]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "Yelp_Data" / "YelpChi" / "metadata.gz"
    if not path.is_file():
        raise FileNotFoundError(f"the UGFraud wheel has no YelpChi metadata at {path}")
    return path


def _read_yelpchi_metadata(path: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reads a YelpChi `metadata.gz` (lines `user_id product_id rating label date`). Returns the compact user and
    product indices (0-based, in order of first appearance) and the 0/1 spam labels, each of shape `(num_reviews,)`.

    Label convention: -1 = filtered (spam) -> 1, +1 = recommended -> 0, as UGFraud's `Utils/helper.py`
    (`create_ground_truth`) maps them."""
    users: dict[str, int] = {}
    products: dict[str, int] = {}
    user_indices, product_indices, labels = [], [], []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 5 or fields[3] not in ("1", "-1"):
                    raise ValueError(f"metadata_path {str(path)!r}, line {line_number}: expected 'user product rating "
                                     f"label(1/-1) date', got {line.strip()[:200]!r}")  # fmt: skip
                user_indices.append(users.setdefault(fields[0], len(users)))
                product_indices.append(products.setdefault(fields[1], len(products)))
                labels.append(1 if fields[3] == "-1" else 0)
    except (OSError, EOFError, UnicodeDecodeError) as error:  # not gzip, truncated, or not text
        raise ValueError(
            f"metadata_path {str(path)!r} cannot be read ({_one_line(error)}); accepted: a gzip-compressed text file "
            "of lines 'user product rating label(1/-1) date'"
        ) from None
    if not labels:
        raise ValueError(f"metadata_path {str(path)!r} has no reviews (accepted: lines 'user product rating "
                         "label(1/-1) date')")  # fmt: skip
    return torch.tensor(user_indices), torch.tensor(product_indices), torch.tensor(labels)


def _all_pairs_within_groups(groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All ordered pairs (i, j), i != j, of nodes with the same group index; two tensors of shape `(num_pairs,)`."""
    order = torch.argsort(groups, stable=True)
    sizes = torch.bincount(groups)
    starts = torch.cumsum(sizes, 0) - sizes
    node_sizes = sizes[groups[order]]  # the group size of each node, in sorted order
    source = torch.repeat_interleave(order, node_sizes)
    first_pair = torch.cumsum(node_sizes, 0) - node_sizes  # where each node's run of pairs starts in `source`
    offsets = torch.arange(source.numel()) - torch.repeat_interleave(first_pair, node_sizes)
    target = order[starts[groups[source]] + offsets]
    keep = source != target
    return source[keep], target[keep]


def _sampled_pairs_within_groups(
    groups: torch.Tensor, neighbors: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each node, `neighbors` distinct other nodes of its group drawn uniformly (all of them in a group of at most
    `neighbors + 1`); groups in increasing index order, nodes in index order. Two tensors of shape `(num_pairs,)`."""
    sources, targets = [], []
    for group in range(int(groups.max()) + 1):
        members = (groups == group).nonzero().flatten()
        size = members.numel()
        if size < 2:
            continue
        if size - 1 <= neighbors:
            local = torch.arange(size)
            local_source, local_target = local.repeat_interleave(size), local.repeat(size)
        else:
            scores = torch.rand(size, size, generator=generator)
            scores.fill_diagonal_(2.0)  # never pick oneself
            local_target = scores.topk(neighbors, dim=1, largest=False).indices.flatten()
            local_source = torch.arange(size).repeat_interleave(neighbors)
        sources.append(members[local_source])
        targets.append(members[local_target])
    if not sources:
        return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    return torch.cat(sources), torch.cat(targets)


def _yelpchi_features(users: torch.Tensor, products: torch.Tensor) -> torch.Tensor:
    """The structural features `YELPCHI_FEATURE_NAMES`, standardised per column over all reviews; `(num_reviews, 5)`."""
    user_counts = torch.bincount(users).double()
    product_counts = torch.bincount(products).double()
    log_user = user_counts.log()[users]
    log_product = product_counts.log()[products]
    single = (user_counts[users] == 1).double()
    user_mean_log_product = torch.zeros_like(user_counts).index_add_(0, users, log_product) / user_counts
    product_single_fraction = torch.zeros_like(product_counts).index_add_(0, products, single) / product_counts
    features = torch.stack(
        [log_user, log_product, single, user_mean_log_product[users], product_single_fraction[products]], dim=1
    )
    features = (features - features.mean(0)) / features.std(0).clamp_min(1e-12)
    return features.float()


def _build_yelpchi(path: Path, product_neighbors: int, graph_seed: int) -> dict[str, torch.Tensor]:
    users, products, labels = _read_yelpchi_metadata(path)
    num_reviews = labels.numel()
    same_user = _undirected_edges(*_all_pairs_within_groups(users), num_nodes=num_reviews)
    generator = torch.Generator().manual_seed(graph_seed)
    same_product = _undirected_edges(
        *_sampled_pairs_within_groups(products, product_neighbors, generator), num_nodes=num_reviews
    )
    return {
        "x": _yelpchi_features(users, products),
        "y": labels,
        "edge_index": torch.cat([same_user, same_product], dim=1),
        "edge_type": torch.cat(
            [torch.zeros(same_user.shape[1], dtype=torch.long), torch.ones(same_product.shape[1], dtype=torch.long)]
        ),
        "user_index": users,
        "product_index": products,
    }


_CACHE_FORMAT = "hyperset-hf yelpchi graph"
_CACHE_KEYS = ("edge_index", "edge_type", "product_index", "user_index", "x", "y")


def _tensors_checksum(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the names, dtypes, shapes and bytes of `tensors` (in name order): the cache's checksum."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"[:300]


def _read_graph_cache(path: Path) -> dict[str, torch.Tensor] | None:
    """The tensors of the graph cache file `path` (safetensors, no pickle), or `None` with a warning naming the file
    when it cannot be used: unreadable or truncated (a half-written or garbled file, or a pickle of an older version),
    of another format or format version, missing a tensor, or failing its SHA-256 checksum. The caller rebuilds it."""
    import warnings

    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as error:  # safetensors raises its own SafetensorError for a truncated or garbled file
        problem = f"it cannot be read ({_one_line(error)})"
    else:
        found = (metadata.get("format"), metadata.get("format_version"))
        if found != (_CACHE_FORMAT, _CACHE_VERSION):
            problem = f"it has format {found}, expected {(_CACHE_FORMAT, _CACHE_VERSION)}"
        elif tuple(sorted(tensors)) != _CACHE_KEYS:
            problem = f"it holds the tensors {sorted(tensors)}, expected {list(_CACHE_KEYS)}"
        elif metadata.get("sha256") != _tensors_checksum(tensors):
            problem = "its contents do not match its SHA-256 checksum (a corrupted file)"
        else:
            return tensors
    warnings.warn(f"The YelpChi graph cache {str(path)!r} is not usable: {problem}; rebuilding it.", stacklevel=3)
    return None


def _write_graph_cache(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Writes `tensors` to `path` as safetensors with the format, its version and the SHA-256 checksum in the header,
    atomically (a temporary file in the same folder, then `os.replace`: a reader never sees a half-written cache). A
    cache that cannot be written (read-only folder, full disk) is a warning, not an error: the graph is built."""
    import warnings

    from safetensors.torch import save_file

    metadata = {"format": _CACHE_FORMAT, "format_version": _CACHE_VERSION, "sha256": _tensors_checksum(tensors)}
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({name: tensor.contiguous() for name, tensor in tensors.items()}, str(temporary), metadata=metadata)
        os.replace(temporary, path)
    except Exception as error:  # OSError, or safetensors' own error type for a failed write
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        warnings.warn(f"The YelpChi graph cache {str(path)!r} could not be written ({_one_line(error)}); the graph "
                      "is built but not cached.", stacklevel=3)  # fmt: skip


def load_yelpchi_ugfraud(
    seed: int = 0,
    train_fraction: float = 0.4,
    product_neighbors: int = 10,
    graph_seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    metadata_path: str | os.PathLike | None = None,
) -> Data:
    """The YelpChi review graph for spam-review (node) detection, built from the UGFraud wheel's copy.

    Nodes are the 67,395 reviews in file order; `y` = 1 for the 8,919 filtered (spam) reviews. The file's label -1
    means spam: UGFraud's `Utils/helper.py::create_ground_truth` maps -1 to 1 ("1 (spam)"), and -1 is the minority
    (8,919 = 13.23%, the filtered rate of Rayana and Akoglu's Table 1). (UGFraud's `Demo/demo_pre.py` maps -1 to 0 in
    its edge attribute `label`, contradicting the helper and UGFraud's own `evaluate`, which takes 1 = spam.)

    Relations (`edge_type`):

    - 0 = R-U-R, reviews by the same user: all pairs, 220,224 directed edges.
    - 1 = R-P-R, reviews of the same product: capped. The full relation has 48,155,750 directed edges (products have
      up to 2,159 reviews), so each review is linked to `product_neighbors` other reviews of its product drawn
      uniformly without replacement (a `torch.Generator` seeded by `graph_seed`; all of them when the product has at
      most `product_neighbors + 1` reviews), and the links are made undirected, so every review has R-P-R degree at
      least min(`product_neighbors`, product size - 1), about 2 x `product_neighbors` on average. With the defaults
      (10, graph seed 0) R-P-R has 1,328,604 directed edges (mean R-P-R degree 19.7, at most 35), 1,548,828 edges in
      all. Nearest neighbours in file order are NOT used: within a product the file lists the filtered reviews
      mostly after the recommended ones (the labels form 367 runs over the 201 products; spam sits at mean relative
      position 0.92 within its product vs 0.44 for the rest), so file-order links would encode the label through an
      artefact of how the data were collected.

    The two relations never share an edge (a user reviews a product at most once). CARE-GNN's other two relations,
    R-S-R (same product, same star rating) and R-T-R (same product, same month), need the ratings and dates, which
    the UGFraud copy strips: they are not available. Graphs in CARE-GNN's `YelpChi.mat` (45,954 reviews after
    filtering, with 32 text and behaviour features) are therefore not reproduced.

    Features `x` (`(67395, 5)`, float32, `YELPCHI_FEATURE_NAMES`), from the graph structure only (no labels, ratings
    or file positions), each standardised to zero mean and unit variance over all reviews:

    0. `log_user_review_count`: log of the number of reviews by the review's user (= log(1 + R-U-R degree)).
    1. `log_product_review_count`: log of the number of reviews of the review's product.
    2. `user_has_single_review`: 1 if the user wrote only this review.
    3. `user_mean_log_product_review_count`: the mean of feature 1 over the user's reviews.
    4. `product_single_review_user_fraction`: the fraction of the product's reviews written by single-review users.

    Node order follows the file, which correlates with the label (see above): do not give a model node positions.

    The graph (everything but the masks) is cached as a safetensors file (no pickle) in `cache_dir`, else
    `$HYPERSET_HF_CACHE/graphs`, else `~/.cache/hyperset_hf/graphs`, keyed by the construction parameters and the
    file's SHA-256; building takes about 2.5 s on the 2-core dev CPU, reloading about 20 ms. The masks are recomputed
    from `seed`. The file carries its format version and the SHA-256 of its tensors and is written atomically (a
    temporary file, then a rename); a cache that is unreadable, truncated, of an older format (the pickled `.pt` files
    of hyperset-hf 0.2 are ignored) or fails its checksum is reported by a warning naming the file and rebuilt, with
    the same values as a fresh build.

    Args:
        seed (`int`, *optional*, defaults to 0): seed of the stratified split (`stratified_masks`), an integer from 0
            to 2**63 - 1 (Python or NumPy; 1.7 or True are refused).
        train_fraction (`float`, *optional*, defaults to 0.4): training share, a finite number in (0, 1); the rest is
            split validation : test = 1 : 2.
        product_neighbors (`int`, *optional*, defaults to 10): R-P-R links drawn per review, an integer >= 1.
        graph_seed (`int`, *optional*, defaults to 0): seed of the R-P-R sampling (kept apart from `seed` so that
            different splits see the same graph), an integer from 0 to 2**63 - 1.
        cache_dir (`str` or `os.PathLike`, *optional*): cache folder (created if missing; an existing file is refused).
        metadata_path (`str` or `os.PathLike`, *optional*): another file in the same format (e.g. the intact
            YelpChi `metadata` from ODDS, gzipped); defaults to `ugfraud_yelpchi_path()`. The counts above are checked
            only for the default file.

    Raises:
        `ValueError` for a bad argument (naming it, its value and what is accepted) or a malformed file (naming the
        file and line), `FileNotFoundError` for a missing `metadata_path`, `NotADirectoryError` for a `cache_dir` that
        is a file, `ModuleNotFoundError` without UGFraud (default file).

    Returns:
        `torch_geometric.data.Data` with `x`, `y`, `edge_index`, `edge_type`, `train_mask`, `val_mask`, `test_mask`
        (see the module docstring) and `user_index`, `product_index` (`int64`, `(num_nodes,)`, 0-based in order of
        first appearance).
    """
    from torch_geometric.data import Data

    seed = as_seed(seed, "seed")
    graph_seed = as_seed(graph_seed, "graph_seed")
    train_fraction = _check_train_fraction(train_fraction)
    product_neighbors = _check_integer("product_neighbors", product_neighbors, 1)
    for name, value in (("cache_dir", cache_dir), ("metadata_path", metadata_path)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ValueError(f"{name} must be a str or os.PathLike path (or None), got {value!r}")
    path = ugfraud_yelpchi_path() if metadata_path is None else Path(metadata_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"metadata_path {str(path)!r} is not a file (accepted: a gzipped YelpChi metadata file)"
        )
    root = Path(cache_dir).expanduser() if cache_dir is not None else data_cache_dir("graphs")
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"cache_dir {str(root)!r} is not a folder (accepted: a folder, created if missing)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    target = root / f"yelpchi-{_CACHE_VERSION}-{digest}-neighbors{product_neighbors}-graphseed{graph_seed}.safetensors"
    tensors = _read_graph_cache(target) if target.is_file() else None
    if tensors is None:
        tensors = _build_yelpchi(path, product_neighbors, graph_seed)
        if metadata_path is None:
            counts = (
                tensors["y"].numel(), int(tensors["user_index"].max()) + 1, int(tensors["product_index"].max()) + 1,
                int(tensors["y"].sum()),
            )  # fmt: skip
            expected = (YELPCHI_NUM_REVIEWS, YELPCHI_NUM_USERS, YELPCHI_NUM_PRODUCTS, YELPCHI_NUM_SPAM)
            if counts != expected:
                raise ValueError(f"{path}: expected (reviews, users, products, spam) = {expected}, got {counts}")
        _write_graph_cache(target, tensors)
    train_mask, val_mask, test_mask = stratified_masks(tensors["y"], train_fraction, seed)
    return Data(**tensors, train_mask=train_mask, val_mask=val_mask, test_mask=test_mask)


# ------------------------------------------------------------------------------------------------------------------
# Generated graphs with injected outliers
# ------------------------------------------------------------------------------------------------------------------


def _stochastic_block_model_edges(
    communities: torch.Tensor, within_probability: float, between_probability: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Independent Bernoulli edges i < j with probability `within_probability` inside a community and
    `between_probability` across; O(num_nodes^2) time, in row blocks of at most 2^22 entries."""
    num_nodes = communities.numel()
    rows_per_block = max(1, (1 << 22) // num_nodes)
    columns = torch.arange(num_nodes)
    sources, targets = [], []
    for start in range(0, num_nodes, rows_per_block):
        rows = torch.arange(start, min(start + rows_per_block, num_nodes))
        same = communities[rows, None] == communities[None, :]
        probabilities = torch.where(same, within_probability, between_probability)
        draws = torch.rand(rows.numel(), num_nodes, generator=generator) < probabilities
        draws &= columns[None, :] > rows[:, None]
        row, column = draws.nonzero(as_tuple=True)
        sources.append(rows[row])
        targets.append(column)
    return torch.cat(sources), torch.cat(targets)


def make_injected_outlier_graph(
    num_nodes: int = 2000,
    num_features: int = 32,
    num_contextual: int = 60,
    num_structural: int = 60,
    clique_size: int = 15,
    num_candidates: int = 50,
    num_communities: int = 5,
    average_degree: float = 10.0,
    within_community_fraction: float = 0.9,
    noise_std: float = 1.0,
    train_fraction: float = 0.4,
    seed: int = 0,
) -> Data:
    """A generated attributed graph with injected structural and contextual outliers (Ding et al. 2019 / PyGOD).

    Base graph: `num_communities` contiguous communities of (nearly) equal size; a stochastic block model whose edge
    probabilities give each node an expected degree of `average_degree`, a `within_community_fraction` of it inside
    its community (all of it when there is one community). Features: each community has a mean drawn from N(0, I);
    a node's features are its community's mean plus N(0, `noise_std`^2 I) noise.

    Outliers (disjoint sets of nodes, drawn by one random permutation):

    - Structural (PyGOD `gen_structural_outlier`): `num_structural / clique_size` cliques of `clique_size` random nodes,
      every pair inside a clique connected (edges added to the base graph; features unchanged).
    - Contextual (PyGOD `gen_contextual_outlier`): for each of `num_contextual` random nodes, `num_candidates`
      distinct candidates are drawn and the node's features are replaced by those of the candidate farthest in
      Euclidean distance (edges unchanged). Unlike PyGOD, which draws candidates from all nodes and overwrites in
      place one node after another, the candidates are drawn from the nodes that are not contextual outliers and
      distances use the original features, so every contextual outlier ends with a copy of a normal node's features
      whatever the order.

    Ding et al. use cliques of 15 nodes, 50 candidates and as many contextual as structural outliers, the defaults.
    Everything is drawn from one `torch.Generator` seeded by `seed` (the global RNG is untouched), so a seed gives the
    same graph on every machine. Time and memory grow as `num_nodes`^2 (the block model), about 0.3 s at the default
    2,000 nodes, 1.6 s at 10,000 and 6 s at 20,000 on the 2-core dev CPU, so more than `MAX_INJECTED_NUM_NODES`
    (20,000) nodes are refused rather than left running for minutes, and so are graphs of more than 10 million expected
    edges (`MAX_INJECTED_EDGES`) or 100 million feature values (`MAX_INJECTED_FEATURE_VALUES`).

    Every count below is a Python or NumPy integer (a bool, a float such as 2.0 or 1.5, or a string is refused), every
    other number a finite Python or NumPy real (bools, nan and inf refused); a bad value raises a `ValueError` naming
    the argument, the value and what is accepted.

    Args:
        num_nodes (`int`, *optional*, defaults to 2000): number of nodes, 2 to 20,000 (`MAX_INJECTED_NUM_NODES`).
        num_features (`int`, *optional*, defaults to 32): feature dimension, at least 1.
        num_contextual (`int`, *optional*, defaults to 60): contextual outliers, at least 0.
        num_structural (`int`, *optional*, defaults to 60): structural outlier nodes, a multiple of `clique_size`.
        clique_size (`int`, *optional*, defaults to 15): nodes per clique, 2 to `num_nodes`.
        num_candidates (`int`, *optional*, defaults to 50): candidates per contextual outlier, 1 to
            `num_nodes - num_contextual`.
        num_communities (`int`, *optional*, defaults to 5): communities, 1 to `num_nodes`.
        average_degree (`float`, *optional*, defaults to 10.0): expected degree in the base graph, > 0.
        within_community_fraction (`float`, *optional*, defaults to 0.9): expected share of a node's base edges inside
            its community, in [0, 1].
        noise_std (`float`, *optional*, defaults to 1.0): standard deviation of the feature noise, >= 0.
        train_fraction (`float`, *optional*, defaults to 0.4): training share of the stratified split, in (0, 1).
        seed (`int`, *optional*, defaults to 0): seed of everything, the split included; an integer from 0 to
            2**63 - 1 (1.7 is refused, never truncated).

    Returns:
        `torch_geometric.data.Data` with `x` (`(num_nodes, num_features)`), `y` (1 = outlier), `edge_index`,
        `edge_type` (all 0), the three masks (see the module docstring) and `outlier_type` (`int64`, `(num_nodes,)`:
        0 = normal, 1 = contextual, 2 = structural), `clique` (`int64`, `(num_nodes,)`: the clique of a structural
        outlier, -1 elsewhere), `community` (`int64`, `(num_nodes,)`).
    """
    from torch_geometric.data import Data

    num_nodes = _check_integer("num_nodes", num_nodes, 2)
    if num_nodes > MAX_INJECTED_NUM_NODES:
        raise ValueError(
            f"num_nodes must be at most {MAX_INJECTED_NUM_NODES}, got {num_nodes} (accepted: an integer from 2 to "
            f"{MAX_INJECTED_NUM_NODES}; the block model draws every pair of nodes, so time and memory grow as "
            f"num_nodes^2: about 6 s at {MAX_INJECTED_NUM_NODES} nodes)"
        )
    num_features = _check_integer("num_features", num_features, 1)
    num_contextual = _check_integer("num_contextual", num_contextual, 0)
    num_structural = _check_integer("num_structural", num_structural, 0)
    clique_size = _check_integer("clique_size", clique_size, 2)
    num_candidates = _check_integer("num_candidates", num_candidates, 1)
    num_communities = _check_integer("num_communities", num_communities, 1)
    seed = as_seed(seed, "seed")
    train_fraction = _check_train_fraction(train_fraction)
    average_degree = _check_number("average_degree", average_degree, "a positive number", lambda number: number > 0)
    within_community_fraction = as_fraction(within_community_fraction, "within_community_fraction", allow_zero=True)
    noise_std = _check_number("noise_std", noise_std, "a non-negative number", lambda number: number >= 0)
    if clique_size > num_nodes:
        raise ValueError(f"clique_size={clique_size} is larger than num_nodes={num_nodes} (accepted: 2 to num_nodes)")
    if num_structural % clique_size:
        raise ValueError(
            f"num_structural={num_structural} is not a multiple of clique_size={clique_size} (accepted: 0, "
            f"{clique_size}, {2 * clique_size}, ...)"
        )
    if num_contextual + num_structural > num_nodes:
        raise ValueError(
            f"num_contextual + num_structural = {num_contextual} + {num_structural} exceeds num_nodes={num_nodes} "
            "(accepted: at most num_nodes outliers)"
        )
    if num_candidates > num_nodes - num_contextual:
        raise ValueError(
            f"num_candidates={num_candidates} exceeds the {num_nodes - num_contextual} nodes that are not contextual "
            f"outliers (accepted: 1 to num_nodes - num_contextual)"
        )
    if num_communities > num_nodes:
        raise ValueError(
            f"num_communities={num_communities} is larger than num_nodes={num_nodes} (accepted: 1 to num_nodes)"
        )
    if num_nodes * num_features > MAX_INJECTED_FEATURE_VALUES:
        raise ValueError(
            f"num_features={num_features} is too large for num_nodes={num_nodes}: {num_nodes * num_features} feature "
            f"values (accepted: num_nodes * num_features at most {MAX_INJECTED_FEATURE_VALUES})"
        )
    expected_edges = num_nodes * average_degree / 2 + num_structural * (clique_size - 1) / 2
    if expected_edges > MAX_INJECTED_EDGES:
        raise ValueError(
            f"average_degree={average_degree}, num_structural={num_structural} and clique_size={clique_size} give "
            f"about {expected_edges:.0f} edges for num_nodes={num_nodes} (accepted: num_nodes * average_degree / 2 + "
            f"num_structural * (clique_size - 1) / 2 at most {MAX_INJECTED_EDGES})"
        )

    generator = torch.Generator().manual_seed(seed)
    communities = torch.arange(num_nodes) * num_communities // num_nodes
    sizes = torch.bincount(communities, minlength=num_communities).double()
    within_pairs_per_node = float((sizes * (sizes - 1)).sum()) / num_nodes
    between_pairs_per_node = float(num_nodes**2 - (sizes**2).sum()) / num_nodes
    within_share = 1.0 if num_communities == 1 else float(within_community_fraction)
    if within_pairs_per_node == 0 and within_share > 0:
        raise ValueError(
            f"within_community_fraction={within_community_fraction} needs communities of at least 2 nodes, got "
            f"num_communities={num_communities} for num_nodes={num_nodes}"
        )
    within_probability = average_degree * within_share / within_pairs_per_node if within_share > 0 else 0.0
    between_probability = average_degree * (1 - within_share) / between_pairs_per_node if within_share < 1 else 0.0
    if max(within_probability, between_probability) > 1:
        raise ValueError(
            f"average_degree={average_degree} is too large for num_nodes={num_nodes}, "
            f"num_communities={num_communities} and within_community_fraction={within_community_fraction} "
            f"(an edge probability would exceed 1)"
        )
    source, target = _stochastic_block_model_edges(communities, within_probability, between_probability, generator)
    means = torch.randn(num_communities, num_features, generator=generator)
    features = means[communities] + noise_std * torch.randn(num_nodes, num_features, generator=generator)

    permutation = torch.randperm(num_nodes, generator=generator)
    contextual = permutation[:num_contextual]
    structural = permutation[num_contextual : num_contextual + num_structural]
    outlier_type = torch.zeros(num_nodes, dtype=torch.long)
    outlier_type[contextual] = 1
    outlier_type[structural] = 2

    num_cliques = num_structural // clique_size
    cliques = structural.view(num_cliques, clique_size)
    clique = torch.full((num_nodes,), -1, dtype=torch.long)
    clique[structural] = torch.arange(num_cliques).repeat_interleave(clique_size)
    pairs = torch.combinations(torch.arange(clique_size), r=2)
    source = torch.cat([source, cliques[:, pairs[:, 0]].flatten()])
    target = torch.cat([target, cliques[:, pairs[:, 1]].flatten()])

    if num_contextual:
        pool = (outlier_type != 1).nonzero().flatten()
        draws = torch.rand(num_contextual, pool.numel(), generator=generator)
        candidates = pool[draws.topk(num_candidates, dim=1).indices]  # (num_contextual, num_candidates), distinct
        distances = (features[contextual, None, :] - features[candidates]).norm(dim=-1)
        farthest = candidates[torch.arange(num_contextual), distances.argmax(dim=1)]
        features[contextual] = features[farthest]

    edge_index = _undirected_edges(source, target, num_nodes)
    labels = (outlier_type > 0).long()
    train_mask, val_mask, test_mask = stratified_masks(labels, train_fraction, seed)
    return Data(
        x=features,
        y=labels,
        edge_index=edge_index,
        edge_type=torch.zeros(edge_index.shape[1], dtype=torch.long),
        train_mask=train_mask,
        val_mask=val_mask,
        test_mask=test_mask,
        outlier_type=outlier_type,
        clique=clique,
        community=communities,
    )
