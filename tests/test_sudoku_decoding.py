"""Iterative (MaskGIT-style) decoding of Sudoku grids: `HyperSETForSudoku.solve()` on the package's one decoding engine
(`hyperset_hf.maskgit.maskgit_decode`), and the image-token decoding it shares, pinned bit for bit."""

import json
from pathlib import Path

import pytest
import torch
from conftest import activate_step_sizes

from hyperset_hf import HyperSETConfig, HyperSETForMaskedTokenModeling, HyperSETForSudoku
from hyperset_hf.data.sudoku import generate_puzzle
from hyperset_hf.input_checks import sudoku_peer_digits
from hyperset_hf.maskgit import maskgit_decode
from hyperset_hf.modeling_hyperset import (
    SUDOKU_DECODING_DEFAULTS,
    map_copies_back,
    select_copies,
    sudoku_rule_mask,
    symmetric_copies,
)


def small_model(preset="sudoku", **overrides):
    values = dict(hidden_size=32, num_attention_heads=4, intermediate_size=128, num_recurrences=3, time_embedding_size=16)
    values.update(overrides)
    model = HyperSETForSudoku(HyperSETConfig.from_preset(preset, **values))
    return (activate_step_sizes(model) if preset == "sudoku" else model).eval()


@pytest.fixture(scope="module")
def puzzles():
    rng = __import__("numpy").random.default_rng(0)
    return torch.tensor([generate_puzzle(num_givens, rng)[0].tolist() for num_givens in (30, 36, 45, 27)])


def test_solution_keeps_the_givens_and_reports_every_field(puzzles):
    solution = small_model().solve(puzzles, return_dict=True)
    given = puzzles > 0
    assert torch.equal(solution.grids[given], puzzles[given]) and solution.grids.min() >= 1
    assert torch.equal(solution.committed_round[given], torch.full_like(puzzles[given], -1))
    assert (solution.committed_round[~given] >= 0).all()
    assert torch.equal(solution.num_rounds, solution.committed_round.max(1).values + 1)  # a puzzle leaves once full
    assert torch.equal(solution.iterations_used, 3 * solution.num_rounds)
    assert solution.energy.shape == (4,) and torch.isfinite(solution.energy).all()
    assert ((solution.confidence > 0) & (solution.confidence <= 1)).all() and solution.rule_mask is False
    assert solution.is_valid.dtype == torch.bool


def test_default_decoding_commits_its_fraction_of_the_remaining_blanks_per_round(puzzles):
    """The tiny model is never 99% sure of a digit, so the default threshold commits nothing by itself and every round
    commits ceil(reveal_fraction x the blanks left), at least one."""
    model = small_model()
    fraction, threshold = SUDOKU_DECODING_DEFAULTS["reveal_fraction"], SUDOKU_DECODING_DEFAULTS["confidence_threshold"]
    with torch.no_grad():
        assert model(puzzles).logits.softmax(-1).max() < threshold
    solution = model.solve(puzzles, return_dict=True)
    for grid_round, puzzle in zip(solution.committed_round, puzzles):
        remaining = int((puzzle == 0).sum())
        for round_index in range(int(grid_round.max()) + 1):
            committed = int((grid_round == round_index).sum())
            share = int(torch.ceil(torch.tensor(remaining) * fraction))  # float32, as the decoder computes it
            assert committed == max(1, share), (round_index, remaining)
            remaining -= committed
        assert remaining == 0


def test_the_confidence_threshold_commits_every_sure_blank(puzzles):
    """With a threshold every round commits at least the blanks whose digit is that probable (here: a threshold below
    the tiny model's confidences commits every blank in the first round)."""
    model = small_model()
    with torch.no_grad():
        lowest = model(puzzles).logits.softmax(-1).max(-1).values.min().item()
    solution = model.solve(puzzles, confidence_threshold=lowest * 0.99, reveal_fraction=0.01, return_dict=True)
    assert torch.equal(solution.num_rounds, torch.ones_like(solution.num_rounds))


def test_decoding_never_changes_a_committed_cell(puzzles):
    model = small_model()
    decoded = maskgit_decode(model, puzzles, temperature=0.0, mask_token_id=0, reveal_fraction=0.3, id_offset=1,
                             return_intermediate=True, num_recurrences=3)  # fmt: skip
    states = [puzzles, *decoded.intermediate_ids]
    for before, after in zip(states, states[1:]):
        kept = before > 0
        assert torch.equal(after[kept], before[kept])
    assert torch.equal(states[-1], decoded.sequences)


def test_one_round_committing_everything_equals_one_pass_and_forward(puzzles):
    model = small_model()
    everything = model.solve(puzzles, reveal_fraction=1.0)
    one_pass = model.solve(puzzles, decoding="one_pass")
    with torch.no_grad():
        forward = torch.where(puzzles > 0, puzzles, model(puzzles).logits.argmax(-1) + 1)
    assert torch.equal(everything, one_pass) and torch.equal(one_pass, forward)


def test_batched_equals_single_and_runs_are_reproducible(puzzles):
    model = small_model()
    batched = model.solve(puzzles, return_dict=True)
    for index in range(len(puzzles)):
        single = model.solve(puzzles[index : index + 1], return_dict=True)
        assert torch.equal(single.grids[0], batched.grids[index])
        assert torch.equal(single.committed_round[0], batched.committed_round[index])
    again = model.solve(puzzles, return_dict=True)
    assert torch.equal(again.grids, batched.grids) and torch.equal(again.energy, batched.energy)


def test_rule_mask_never_commits_a_digit_that_clashes_with_a_committed_peer(puzzles):
    model = small_model()
    decoded = maskgit_decode(model, puzzles, temperature=0.0, mask_token_id=0, reveal_fraction=0.2, id_offset=1,
                             logits_processor=sudoku_rule_mask, return_intermediate=True, num_recurrences=3)  # fmt: skip
    states = [puzzles, *decoded.intermediate_ids]
    for before, after in zip(states, states[1:]):
        new = (after > 0) & (before == 0)
        peers = sudoku_peer_digits(before)  # digits standing in each cell's units before this round
        clashing = peers.gather(-1, (after.clamp_min(1) - 1)[..., None])[..., 0]
        no_choice = peers.all(-1)  # a cell whose every digit is taken keeps its logits
        assert not (new & clashing & ~no_choice).any()
    assert model.solve(puzzles, rule_mask=True, return_dict=True).rule_mask is True


def test_warm_start_and_threshold_options_run_and_keep_givens(puzzles):
    model = small_model()
    for options in (dict(warm_start=True), dict(confidence_threshold=0.5), dict(num_rounds=5, schedule="cosine")):
        grids = model.solve(puzzles, **options)
        assert torch.equal(grids[puzzles > 0], puzzles[puzzles > 0]) and (grids > 0).all(), options


def test_checkpoint_decoding_defaults_are_saved_and_used(tmp_path, puzzles):
    model = small_model(sudoku_decoding={"reveal_fraction": 1.0})
    model.save_pretrained(tmp_path)
    reloaded = HyperSETForSudoku.from_pretrained(tmp_path).eval()
    assert reloaded.config.sudoku_decoding == {"reveal_fraction": 1.0}
    assert torch.equal(reloaded.solve(puzzles, return_dict=True).num_rounds, torch.ones(4, dtype=torch.long))
    assert reloaded.solve(puzzles, reveal_fraction=0.5, return_dict=True).num_rounds.max() > 1  # arguments win


def test_transformer_baseline_solves_with_nan_energy(puzzles):
    solution = small_model("sudoku-transformer").solve(puzzles, return_dict=True)
    assert torch.isnan(solution.energy).all() and (solution.grids > 0).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(decoding="beam"), "`decoding` must be 'iterative' or 'one_pass', got 'beam'"),
        (dict(reveal_fraction=0.0), "`reveal_fraction` must be a number in (0, 1] or None, got 0.0"),
        (dict(confidence_threshold=1.5), "`confidence_threshold` must be a number in (0, 1] or None, got 1.5"),
        (dict(num_copies=0), "`num_copies` must be a positive integer, got 0."),
        (dict(num_copies=2.0), "`num_copies` must be a positive integer, got 2.0."),
        (dict(num_copies=True), "`num_copies` must be a positive integer, got True."),
        (dict(num_copies=5000), "`num_copies` must be at most 1,024"),
        (dict(num_copies=2, selection="lowest"), "`selection` must be one of 'confidence', 'energy', 'vote', got 'lowest'"),
        (dict(num_copies=2, seed=-1), "`seed` must be an integer in [0, 2**63), got -1."),
    ],
)
def test_bad_decoding_options_are_named(puzzles, options, message):
    with pytest.raises(ValueError) as error:
        small_model().solve(puzzles, **options)
    assert message in str(error.value)


def test_symmetric_copies_map_back_exactly(puzzles):
    copies, sources, digit_maps = symmetric_copies(puzzles, 5, seed=3)
    assert copies.shape == (20, 81) and torch.equal(copies[:4], puzzles)  # copy 0: the puzzles themselves
    assert all(not torch.equal(copies[4 * k : 4 * k + 4], puzzles) for k in range(1, 5))
    assert torch.equal((copies > 0).sum(-1), (puzzles > 0).sum(-1).repeat(5))  # as many givens
    assert torch.equal(map_copies_back(copies, sources, digit_maps), puzzles.repeat(5, 1))
    positions = torch.arange(81).repeat(20, 1)  # per-cell values move without relabelling
    assert torch.equal(map_copies_back(positions.gather(1, sources), sources), positions)
    assert torch.equal(symmetric_copies(puzzles[2:3], 5, seed=3)[0], copies[2::4])  # alone or in a batch
    assert not torch.equal(symmetric_copies(puzzles, 5, seed=4)[0], copies)


def test_copies_are_decoded_mapped_back_and_selected(puzzles):
    model = small_model()
    alone = model.solve(puzzles, return_dict=True)
    solution = model.solve(puzzles, num_copies=3, return_dict=True, seed=1)
    assert solution.copy_grids.shape == (4, 3, 81) and torch.equal(solution.copy_grids[:, 0], alone.grids)
    given = puzzles > 0
    for copy in range(3):  # every copy keeps the givens of the original puzzle once mapped back
        assert torch.equal(solution.copy_grids[:, copy][given], puzzles[given])
    assert torch.equal(solution.copy_confidences[:, 0], alone.confidence)
    with torch.no_grad():  # every completed grid is scored at the same depth, T iterations
        scored = model(solution.copy_grids.flatten(0, 1), output_energies=True).energies[-1][:, -1]
    torch.testing.assert_close(solution.copy_energies.flatten(), scored, rtol=1e-5, atol=1e-3)
    chosen = solution.copy_confidences.argmax(-1)  # the default selection
    assert torch.equal(solution.selected_copy, chosen)
    assert torch.equal(solution.grids, solution.copy_grids[torch.arange(4), chosen])
    assert torch.equal(solution.confidence, solution.copy_confidences[torch.arange(4), chosen])
    assert torch.equal(solution.committed_round[given], torch.full_like(puzzles[given], -1))
    assert solution.iterations_used.sum() > alone.iterations_used.sum()  # all copies' iterations are counted
    by_energy = model.solve(puzzles, num_copies=3, selection="energy", return_dict=True, seed=1)
    assert torch.equal(by_energy.selected_copy, solution.copy_energies.argmin(-1))
    single = model.solve(puzzles[1:2], num_copies=3, selection="energy", return_dict=True, seed=1)
    assert torch.equal(single.grids, by_energy.grids[1:2])  # batched == single
    assert torch.equal(model.solve(puzzles, num_copies=3, seed=1), solution.grids)  # seeded == reproducible


def test_vote_takes_the_most_frequent_digit_per_cell():
    grids = torch.tensor([[[1, 2, 3], [1, 5, 6], [4, 5, 6]]])  # (puzzles, copies, cells)
    confidences = torch.tensor([[0.1, 0.2, 0.9]])
    voted, chosen = select_copies(grids, confidences, selection="vote")
    assert voted.tolist() == [[1, 5, 6]] and chosen.tolist() == [-1]
    voted, _ = select_copies(grids[:, :2], confidences[:, :2], selection="vote")  # 1-1 ties go to the confident copy
    assert voted.tolist() == [[1, 5, 6]]


def test_transformer_baseline_selects_without_energy(puzzles):
    model = small_model("sudoku-transformer")
    solution = model.solve(puzzles, num_copies=2, selection="vote", return_dict=True)
    assert torch.isnan(solution.copy_energies).all() and (solution.selected_copy == -1).all()
    with pytest.raises(ValueError, match="one of 'confidence', 'vote' \\(the Transformer baseline has no energy\\), got 'energy'"):
        model.solve(puzzles, num_copies=2, selection="energy")


def test_saved_decoding_may_recommend_copies(tmp_path, puzzles):
    model = small_model(sudoku_decoding={"num_copies": 2, "selection": "vote"})
    model.save_pretrained(tmp_path)
    reloaded = HyperSETForSudoku.from_pretrained(tmp_path).eval()
    solution = reloaded.solve(puzzles, return_dict=True)
    assert solution.copy_grids.shape == (4, 2, 81) and (solution.selected_copy == -1).all()


def test_bad_saved_decoding_is_refused():
    with pytest.raises(ValueError, match="`sudoku_decoding` must be a dict with keys among"):
        HyperSETConfig.from_preset("sudoku", sudoku_decoding={"reveal_fractoin": 0.1})


def test_image_token_decoding_is_bit_identical_to_before_the_shared_engine():
    """Pinned outputs of `maskgit_decode` at 941eb13 (before it served Sudoku too) on a seeded tiny model."""
    torch.manual_seed(0)
    config = HyperSETConfig.from_preset("mim", hidden_size=32, num_attention_heads=4, intermediate_size=32,
                                        time_embedding_size=32, codebook_size=64, token_grid_size=4)  # fmt: skip
    model = HyperSETForMaskedTokenModeling(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
    codes = torch.randint(0, 64, (3, 16), generator=torch.Generator().manual_seed(1))
    masked = torch.rand(3, 16, generator=torch.Generator().manual_seed(2)) < 0.6
    ids = codes.masked_fill(masked, config.mask_token_id)
    pinned = json.loads((Path(__file__).parent / "fixtures" / "maskgit_decode_941eb13.json").read_text())
    settings = {"sampled-noise": dict(temperature=1.0, confidence_noise=4.5), "greedy": dict(temperature=0.0),
                "hot": dict(temperature=2.0, schedule="cosine", num_steps=5)}  # fmt: skip
    for name, options in settings.items():
        decoded = maskgit_decode(model, ids, generator=torch.Generator().manual_seed(3), num_recurrences=3, **options)
        assert decoded.sequences.tolist() == pinned[name]["sequences"], name
        assert decoded.num_masked.tolist() == pinned[name]["num_masked"], name
