"""examples/sudoku/run_sudoku.py: a few Trainer steps on a tiny generated set, evaluation at T, 1.5T and 2T."""

import json
from pathlib import Path

import pytest
import torch
from conftest import activate_step_sizes, load_example
from transformers import AutoModelForTokenClassification


from hyperset_hf import HyperSETConfig, HyperSETForSudoku
from _shared.configs import config_overrides


SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "sudoku" / "run_sudoku.py"


def load_script():
    return load_example(SCRIPT)


@pytest.mark.parametrize("name", ["max_train_minutes", "max_train_cpu_minutes"])
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_time_budgets_are_validated(name, value):
    module = load_script()
    with pytest.raises(ValueError, match=f"--{name} must be a number of minutes >= 0, got {value!r}"):
        module.SudokuTrainingArguments(output_dir="unused", **{name: value})


@pytest.mark.parametrize(
    "budgets, stops", [((None, None), False), ((0.0, None), True), ((None, 0.0), True), ((60.0, 60.0), False)]
)
def test_time_budgets_stop_training(budgets, stops):
    from transformers import TrainerControl, TrainerState

    module = load_script()
    callback = module.WallTimeCallback(*budgets)
    control = callback.on_step_end(None, TrainerState(), TrainerControl())
    assert control.should_training_stop is stops and control.should_save is stops  # a stopped run ends with a save


def test_paper_recipe_is_the_default():
    module = load_script()
    arguments = module.SudokuTrainingArguments(output_dir="unused")
    assert arguments.learning_rate == 1e-4 and (arguments.adam_beta1, arguments.adam_beta2) == (0.9, 0.95)
    assert arguments.weight_decay == 0.1 and arguments.max_grad_norm == 1.0
    assert arguments.lr_scheduler_type.value == "cosine" and arguments.per_device_train_batch_size == 16
    assert module.ModelArguments().preset == "sudoku"


@pytest.mark.parametrize("preset", ["sudoku", "sudoku-transformer"])
def test_trains_saves_and_reports_extrapolation(preset, tmp_path):
    module = load_script()
    output_dir = tmp_path / "run"
    module.main(
        [
            "--preset", preset,
            "--config_overrides", "hidden_size=32,num_attention_heads=2,intermediate_size=64,num_recurrences=2",
            "--cache_dir", str(tmp_path / "cache"),
            "--max_train_samples", "16",
            "--max_eval_samples", "8",
            "--augment",
            "--do_train", "--do_eval",
            "--max_steps", "2",
            "--per_device_train_batch_size", "8",
            "--eval_strategy", "no", "--save_strategy", "no",
            "--output_dir", str(output_dir),
        ]
    )
    rows = json.loads((output_dir / "extrapolation.json").read_text())
    assert [row["iterations"] for row in rows] == [2, 3, 4]
    for row in rows:
        assert 0.0 <= row["board_accuracy"] <= row["validity"] + 100.0 and 0.0 <= row["cell_accuracy"] <= 100.0
    model = AutoModelForTokenClassification.from_pretrained(output_dir)
    assert isinstance(model, HyperSETForSudoku) and model.config.layer_type == (
        "transformer" if preset == "sudoku-transformer" else "hyperset"
    )
    assert (output_dir / "extrapolation.md").read_text().startswith("| iterations |")


def test_bad_arguments_raise(tmp_path):
    module = load_script()
    preset = HyperSETConfig.from_preset("sudoku")
    with pytest.raises(ValueError, match="key=value"):
        config_overrides("hidden_size", preset)
    with pytest.raises(ValueError, match="has no field 'hiden_size'"):
        config_overrides("hiden_size=8", preset)
    with pytest.raises(ValueError, match="cannot set 'hidden_size=abc'"):
        config_overrides("hidden_size=abc", preset)
    # typed by the config's fields (transformers' update_from_string); None-valued fields take numbers
    assert config_overrides(
        "hidden_size=8,hidden_act=relu,share_qkv_norm=false,embedding_dropout_prob=0,step_size_initial_value=0.5", preset
    ) == {"hidden_size": 8, "hidden_act": "relu", "share_qkv_norm": False, "embedding_dropout_prob": 0.0,
          "step_size_initial_value": 0.5}  # fmt: skip
    with pytest.raises(ValueError, match="`num_recurrences` must be a positive integer, got 0"):
        module.main(["--config_overrides", "num_recurrences=0", "--output_dir", str(tmp_path), "--do_train"])
    with pytest.raises(ValueError, match="--eval_iteration_multipliers"):
        module.main(["--eval_iteration_multipliers", "0", "--output_dir", str(tmp_path)])


def test_recipe_options_continue_a_model_and_record_the_history(tmp_path):
    module = load_script()
    common = [
        "--cache_dir", str(tmp_path / "cache"), "--max_train_samples", "16", "--max_eval_samples", "8",
        "--do_train", "--do_eval", "--per_device_train_batch_size", "8", "--save_strategy", "no",
        "--eval_iteration_multipliers", "1",
    ]  # fmt: skip
    recipe = (
        "hidden_size=32,num_attention_heads=2,intermediate_size=64,num_recurrences=3,"
        "position_embedding_type=row_column_box,step_size_activation=softplus,step_size_initial_value=0.5,"
        "deep_supervision=all,detach_interval=2"
    )
    first = tmp_path / "stage-1"
    module.main(common + ["--config_overrides", recipe, "--max_steps", "2", "--eval_strategy", "steps",
                          "--eval_steps", "1", "--output_dir", str(first)])  # fmt: skip
    model = AutoModelForTokenClassification.from_pretrained(first)
    assert model.config.position_embedding_type == "row_column_box" and model.config.deep_supervision == "all"
    curve = json.loads((first / "curve.json").read_text())
    assert [point["step"] for point in curve][:2] == [1, 2] and all(point["wall_seconds"] >= 0 for point in curve)
    assert "eval_cell_accuracy" in curve[0]

    second = tmp_path / "stage-2"  # continue from the saved model under a CPU-time budget that ends it at once
    module.main(common + ["--model_name_or_path", str(first), "--max_train_cpu_minutes", "0", "--max_steps", "50",
                          "--eval_strategy", "no", "--output_dir", str(second)])  # fmt: skip
    metadata = json.loads((second / "run_metadata.json").read_text())
    history = metadata["stages"]
    assert [stage["stage"] for stage in history] == [1, 2]
    assert history[0]["steps"] == 2 and history[1]["steps"] == 1  # the budget stopped stage 2 after one step
    assert history[1]["started_from"] == str(first) and history[0]["started_from"].startswith("scratch")
    assert all(stage["wall_minutes"] >= 0 and stage["command"].startswith("python ") for stage in history)
    assert all(0 <= stage["cpu_minutes"] < 5 for stage in history)
    assert metadata["dataset"] == history[1]["dataset"]  # the card's facts


@pytest.fixture
def cheap_hard_set(monkeypatch):
    """The `hard` set without its rating threshold: tests build it in milliseconds (the real one takes seconds per
    puzzle); its columns, including `search_effort`, are the same."""
    from hyperset_hf.data import sudoku as sudoku_data

    monkeypatch.setitem(
        sudoku_data.SUDOKU_BENCHMARKS, "hard", {**sudoku_data.SUDOKU_BENCHMARKS["hard"], "min_search_effort": 0}
    )


def test_mixture_arguments_are_validated(tmp_path):
    module = load_script()
    names, probabilities = module.parse_mixture(" hard, palm-like,mixed", "2,1,1")
    assert names == ["hard", "palm-like", "mixed"] and probabilities == [0.5, 0.25, 0.25]
    assert module.parse_mixture("palm-like", None) == (["palm-like"], None)
    assert module.describe_mixture(names, [0.4, 0.3, 0.3], [1, 1, 1]) == "hard:0.4,palm-like:0.3,mixed:0.3"
    assert module.describe_mixture(["hard", "mixed"], None, [10, 30]) == "hard:0.25,mixed:0.75"  # concatenation
    assert module.describe_mixture(["hard"], None, [10]) == "hard"  # one set: its name, as before
    bad = [
        (("hard,palm-lik", None), "unknown Sudoku benchmark 'palm-lik'"),
        (("hard,,mixed", None), "unknown Sudoku benchmark ''"),
        (("hard,hard", None), "names 'hard' more than once"),
        (("hard,mixed", "0.5"), "gives 1 probabilities .* for 2 --dataset_name sets"),
        (("hard,mixed", "0.5,0.3,0.2"), "gives 3 probabilities"),
        (("hard,mixed", "0.5,-0.1"), "non-negative numbers, got '-0.1'"),
        (("hard,mixed", "0.5,nan"), "non-negative numbers, got 'nan'"),
        (("hard,mixed", "0.5,abc"), "comma-separated numbers, got 'abc'"),
        (("hard,mixed", "0,0"), "must not all be zero, got '0,0'"),
    ]
    for arguments, message in bad:
        with pytest.raises(ValueError, match=message):
            module.parse_mixture(*arguments)
    # `main` raises before building any data or model
    common = ["--output_dir", str(tmp_path), "--cache_dir", str(tmp_path / "cache"), "--do_train"]
    with pytest.raises(ValueError, match="got '-1'"):
        module.main(common + ["--dataset_name", "hard,mixed", "--dataset_probabilities", "1,-1"])
    with pytest.raises(ValueError, match="unknown Sudoku benchmark 'hardest'"):
        module.main(common + ["--dataset_name", "hardest"])
    with pytest.raises(ValueError, match="--eval_dataset_name must be one generated set.*'hard,mixed'"):
        module.main(common + ["--dataset_name", "hard", "--eval_dataset_name", "hard,mixed"])
    assert not (tmp_path / "cache").exists()


def test_mix_datasets_keeps_common_columns_and_is_seeded(tmp_path):
    from hyperset_hf.data import sudoku as sudoku_data

    module = load_script()
    rated = sudoku_data.generate_sudoku_dataset(6, 30, 34, seed=1)
    assert "search_effort" in rated.column_names
    csv = tmp_path / "palm.csv"
    sudoku_data.save_palm_csv(sudoku_data.generate_sudoku_dataset(6, 40, 44, seed=2), csv)
    unrated = sudoku_data.load_palm_csv(csv)  # a Palm CSV file has no search_effort column
    assert "search_effort" not in unrated.column_names

    def puzzles(dataset):
        return list(dataset["puzzle"])

    concatenated = module.mix_datasets([rated, unrated], None, seed=0)
    assert concatenated.column_names == ["puzzle", "solution", "num_givens"] and len(concatenated) == 12
    assert puzzles(concatenated) == puzzles(rated) + puzzles(unrated)

    mixed = module.mix_datasets([rated, unrated], [0.5, 0.5], seed=0)
    assert mixed.column_names == ["puzzle", "solution", "num_givens"]
    assert puzzles(mixed) == puzzles(module.mix_datasets([rated, unrated], [0.5, 0.5], seed=0))  # seeded
    drawn = set(puzzles(mixed))
    assert drawn & set(puzzles(rated)) and drawn & set(puzzles(unrated))
    # first_exhausted: sampling stops once one set has given all its puzzles
    assert any(set(puzzles(part)) <= drawn for part in (rated, unrated)) and len(mixed) < 12
    assert puzzles(module.mix_datasets([rated, unrated], [1.0, 0.0], seed=0)) == puzzles(rated)


def test_trains_on_a_mixture_and_continues_from_a_checkpoint(tmp_path, cheap_hard_set):
    module = load_script()
    common = [
        "--config_overrides", "hidden_size=32,num_attention_heads=2,intermediate_size=64,num_recurrences=2",
        "--cache_dir", str(tmp_path / "cache"), "--preprocessing_num_workers", "1",
        "--max_train_samples", "3", "--max_eval_samples", "4", "--eval_iteration_multipliers", "1",
        "--do_train", "--do_eval", "--max_steps", "2", "--per_device_train_batch_size", "4",
        "--eval_strategy", "no", "--save_strategy", "no", "--augment",
    ]  # fmt: skip
    first = tmp_path / "stage-1"
    module.main(common + ["--dataset_name", "hard,palm-like,mixed", "--dataset_probabilities", "0.4,0.3,0.3",
                          "--output_dir", str(first)])  # fmt: skip
    stage = json.loads((first / "run_metadata.json").read_text())["stages"][0]
    assert stage["dataset"] == "hard:0.4,palm-like:0.3,mixed:0.3"
    assert stage["test_set"] == "hard"  # the first set of the mixture, without --eval_dataset_name
    assert 3 <= stage["train_puzzles"] < 9 and stage["augment"] is True and stage["steps"] == 2
    assert (first / "extrapolation.json").is_file()

    second = tmp_path / "stage-2"  # continue the saved model on a concatenated mixture, evaluated on palm-like
    module.main(common + ["--model_name_or_path", str(first), "--dataset_name", "hard,palm-like",
                          "--eval_dataset_name", "palm-like", "--output_dir", str(second)])  # fmt: skip
    metadata = json.loads((second / "run_metadata.json").read_text())
    assert [stage["stage"] for stage in metadata["stages"]] == [1, 2]
    latest = metadata["stages"][1]
    assert latest["started_from"] == str(first) and latest["dataset"] == "hard:0.5,palm-like:0.5"
    assert latest["test_set"] == "palm-like" and latest["train_puzzles"] == 6
    assert metadata["dataset"] == latest["dataset"] and metadata["test_set"] == "palm-like"


def test_ema_of_the_weights_ends_the_run(tmp_path):
    """--ema_decay 0.5 saves ema_3 = w1/4 + w2/4 + w3/2 (ema_1 = w1, ema_k = ema_(k-1)/2 + w_k/2, as
    `torch.optim.swa_utils.AveragedModel` starts), with w_k the weights after step k of the same seeded run without the
    average."""
    from safetensors.torch import load_file

    module = load_script()
    config = HyperSETConfig.from_preset("sudoku", hidden_size=16, num_attention_heads=2, intermediate_size=32,
                                        num_recurrences=2, time_embedding_size=8)  # fmt: skip
    activate_step_sizes(HyperSETForSudoku(config)).save_pretrained(tmp_path / "start")
    common = [
        "--model_name_or_path", str(tmp_path / "start"), "--cache_dir", str(tmp_path / "cache"), "--seed", "3",
        "--max_train_samples", "16", "--do_train", "--max_steps", "3", "--per_device_train_batch_size", "8",
        "--learning_rate", "1e-2", "--warmup_steps", "0", "--lr_scheduler_type", "constant",
    ]  # fmt: skip
    raw, averaged = tmp_path / "raw", tmp_path / "averaged"
    module.main(common + ["--save_strategy", "steps", "--save_steps", "1", "--save_total_limit", "5",
                          "--output_dir", str(raw)])  # fmt: skip
    module.main(common + ["--save_strategy", "no", "--ema_decay", "0.5", "--output_dir", str(averaged)])
    weights = [load_file(tmp_path / "start" / "model.safetensors")]
    weights += [load_file(raw / f"checkpoint-{step}" / "model.safetensors") for step in (1, 2, 3)]
    saved = load_file(averaged / "model.safetensors")
    assert not torch.allclose(weights[3]["classifier.weight"], weights[0]["classifier.weight"])  # it trained
    for name, value in saved.items():
        expected = weights[1][name] / 4 + weights[2][name] / 4 + weights[3][name] / 2
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6, msg=name)
    history = json.loads((averaged / "run_metadata.json").read_text())["stages"]
    assert history[-1]["ema_decay"] == 0.5 and history[-1]["steps"] == 3
    with pytest.raises(ValueError, match=r"--ema_decay must be a number in \(0, 1\), got 1.0"):
        module.SudokuTrainingArguments(output_dir="unused", ema_decay=1.0)


def test_revealing_part_of_the_solution_trains_and_is_recorded(tmp_path):
    module = load_script()
    common = [
        "--cache_dir", str(tmp_path / "cache"), "--max_train_samples", "16", "--do_train", "--max_steps", "1",
        "--per_device_train_batch_size", "8", "--save_strategy", "no",
        "--config_overrides", "hidden_size=16,num_attention_heads=2,intermediate_size=32,num_recurrences=2",
    ]  # fmt: skip
    module.main(common + ["--augment", "--max_reveal_fraction", "0.5", "--output_dir", str(tmp_path / "run")])
    history = json.loads((tmp_path / "run" / "run_metadata.json").read_text())["stages"]
    assert history[-1]["max_reveal_fraction"] == 0.5 and history[-1]["augment"] is True
    with pytest.raises(ValueError, match="--max_reveal_fraction 0.5 reveals during augmentation: add --augment"):
        module.main(common + ["--max_reveal_fraction", "0.5", "--output_dir", str(tmp_path / "bad")])
    with pytest.raises(ValueError, match=r"max_reveal_fraction must be a number in \[0, 1\), got 1.5"):
        module.main(common + ["--augment", "--max_reveal_fraction", "1.5", "--output_dir", str(tmp_path / "bad")])
