"""The Sudoku recipe options: deep supervision, row/column/box cell embeddings, non-negative step sizes with a chosen
initial value, segment-wise training with detached states."""

import pytest
import torch
from conftest import activate_step_sizes, tiny_sudoku_config

from hyperset_hf import HyperSETForSudoku
from hyperset_hf.data.sudoku import generate_sudoku_dataset, to_model_inputs


_config = tiny_sudoku_config


def _boards(num_boards=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    puzzles = torch.randint(1, 10, (num_boards, 81), generator=generator)
    puzzles = puzzles * (torch.rand(num_boards, 81, generator=generator) < 0.4)
    labels = torch.randint(0, 9, (num_boards, 81), generator=generator).masked_fill(puzzles > 0, -100)
    return puzzles, labels


@pytest.mark.parametrize(
    ("mode", "k", "weighting", "expected_iterations", "expected_weights"),
    [
        ("all", 1, "uniform", [1, 2, 3, 4], [1, 1, 1, 1]),
        ("last_k", 2, "uniform", [3, 4], [1, 1]),
        ("all", 1, "linear", [1, 2, 3, 4], [1, 2, 3, 4]),
        ("last_k", 3, "linear", [2, 3, 4], [2, 3, 4]),
    ],
)
def test_deep_supervision_loss_is_the_weighted_mean_over_the_chosen_iterations(
    mode, k, weighting, expected_iterations, expected_weights
):
    torch.manual_seed(0)
    config = _config(deep_supervision=mode, deep_supervision_num_iterations=k, deep_supervision_weighting=weighting)
    model = activate_step_sizes(HyperSETForSudoku(config), std=0.1).double().train()
    puzzles, labels = _boards()
    loss = model(puzzles, labels=labels).loss
    with torch.no_grad():
        states = model(puzzles, output_hidden_states=True).hidden_states
        per_iteration = [
            torch.nn.functional.cross_entropy(
                model.classifier(model.readout_norm(states[t])).reshape(-1, 9), labels.reshape(-1), ignore_index=-100
            )
            for t in expected_iterations
        ]
    expected = sum(w * l for w, l in zip(expected_weights, per_iteration)) / sum(expected_weights)
    torch.testing.assert_close(loss.detach(), expected)
    assert abs(per_iteration[0] - per_iteration[-1]) > 1e-4  # the iterations really differ
    # evaluation scores the last iteration only and needs no hidden states; training returns the states its loss read
    model.eval()
    with torch.no_grad():
        evaluated = model(puzzles, labels=labels)
    torch.testing.assert_close(evaluated.loss, per_iteration[-1] if expected_iterations[-1] == 4 else None)
    assert evaluated.hidden_states is None
    trained = model.train()(puzzles, labels=labels).hidden_states
    assert len(trained) == len(states) and all(torch.equal(a, b) for a, b in zip(trained, states))


def test_random_deep_supervision_always_includes_the_last_iteration():
    model = HyperSETForSudoku(_config(deep_supervision="random_k", deep_supervision_num_iterations=3))
    torch.manual_seed(0)
    draws = [model.deep_supervision_iterations(8) for _ in range(50)]
    assert all(len(draw) == 3 and draw[-1] == 7 and len(set(draw)) == 3 for draw in draws)
    assert len({tuple(draw) for draw in draws}) > 5  # drawn anew every step


def test_row_column_box_embeddings_share_their_terms():
    torch.manual_seed(0)
    model = HyperSETForSudoku(_config(position_embedding_type="row_column_box"))
    embeddings = model.hyperset.embeddings
    assert not hasattr(embeddings, "position_embeddings")
    assert sum(p.numel() for n, p in embeddings.named_parameters() if "digit" not in n) == 27 * 16
    terms = {"row": embeddings.row_embeddings, "column": embeddings.column_embeddings, "box": embeddings.box_embeddings}
    unit_of = {
        "row": lambda cell: cell // 9,
        "column": lambda cell: cell % 9,
        "box": lambda cell: (cell // 27) * 3 + (cell % 9) // 3,
    }
    for kept in terms:
        with torch.no_grad():
            saved = {name: module.weight.clone() for name, module in terms.items()}
            for name, module in terms.items():
                if name != kept:
                    module.weight.zero_()
            positions = embeddings.cell_positions()[0]
            for name, module in terms.items():
                module.weight.copy_(saved[name])
        for a in range(81):
            for b in (0, 40, 80):
                same_unit = unit_of[kept](a) == unit_of[kept](b)
                assert torch.equal(positions[a], positions[b]) == same_unit, (kept, a, b)


def test_non_negative_step_sizes_start_at_the_initial_value_and_stay_non_negative():
    config = _config(step_size_activation="softplus", step_size_initial_value=0.5)
    model = HyperSETForSudoku(config).eval()
    network = model.hyperset.encoder.step_size_network
    x0 = model.hyperset.embeddings(_boards()[0])
    alpha, beta = network(0, x0, network.prepare(x0))
    torch.testing.assert_close(alpha, torch.full_like(alpha, 0.5))  # zero weights: the bias sets the step
    activate_step_sizes(model, std=2.0)
    for iteration in range(6):
        alpha, beta = network(iteration, x0, network.prepare(x0))
        assert (alpha >= 0).all() and (beta >= 0).all() and (alpha > 0.1).any()
    signed = activate_step_sizes(HyperSETForSudoku(_config()), std=2.0).hyperset.encoder.step_size_network
    assert (signed(0, x0, signed.prepare(x0))[0] < 0).any()  # the paper's step sizes are signed


def test_segment_wise_training_detaches_the_state_between_segments():
    puzzles, labels = _boards()
    for interval, connected in ((2, False), (0, True)):
        torch.manual_seed(0)
        model = activate_step_sizes(HyperSETForSudoku(_config(detach_interval=interval)), std=0.1).train()
        outputs = model(puzzles, labels=labels, output_hidden_states=True)
        (gradient,) = torch.autograd.grad(outputs.loss, outputs.hidden_states[2], allow_unused=True)
        assert (gradient is not None) == connected
        assert outputs.hidden_states[4].requires_grad


def test_trained_model_with_small_non_negative_steps_lowers_its_energy_at_every_iteration():
    easy = generate_sudoku_dataset(48, 50, 60, seed=3, num_proc=1)
    batch = to_model_inputs(easy[:])
    puzzles, labels = torch.as_tensor(batch["input_ids"]), torch.as_tensor(batch["labels"])
    torch.manual_seed(0)
    config = _config(hidden_size=32, intermediate_size=64, num_recurrences=8, step_size_activation="softplus",
                     step_size_initial_value=0.02)  # fmt: skip
    model = HyperSETForSudoku(config).double()  # float64: the same trajectory on any number of threads
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = model(puzzles[:32], labels=labels[:32]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05  # it learned something
    with torch.no_grad():
        energies = model.eval()(puzzles[32:], output_energies=True).energies[0]
    assert (energies[:, 1:] - energies[:, :-1]).max() < -1.0, energies  # every iteration, with a margin


def test_energy_descent_loss_adds_the_weighted_mean_energy_rise():
    torch.manual_seed(0)
    model = activate_step_sizes(HyperSETForSudoku(_config(energy_descent_loss_weight=0.5)), std=0.3).double().train()
    puzzles, labels = _boards()
    outputs = model(puzzles, labels=labels)
    assert len(outputs.energies) == 1  # the energies the loss read are returned as computed
    with torch.no_grad():
        plain = model(puzzles, output_energies=True)
        energies = plain.energies[0]
        cross_entropy = torch.nn.functional.cross_entropy(plain.logits.reshape(-1, 9), labels.reshape(-1))
    rises = (energies[:, 1:] - energies[:, :-1]).clamp(min=0)
    assert rises.max() > 0  # this random model does raise its energy somewhere
    torch.testing.assert_close(outputs.loss.detach(), cross_entropy + 0.5 * rises.mean() / 81)
    # the term reaches the weights, and evaluation reports the plain cross-entropy
    outputs.loss.backward()
    assert model.hyperset.encoder.layers[0].attention.projection.weight.grad.abs().sum() > 0
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(puzzles, labels=labels).loss, cross_entropy)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"energy_descent_loss_weight": -0.1}, "energy_descent_loss_weight` must be a finite number >= 0, got -0.1"),
        ({"energy_descent_loss_weight": float("nan")}, "finite number >= 0, got nan"),
        ({"energy_descent_loss_weight": 1.0, "layer_type": "transformer"}, "layer_type='transformer'"),
    ],
)
def test_energy_descent_loss_weight_is_validated(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        _config(**overrides)
