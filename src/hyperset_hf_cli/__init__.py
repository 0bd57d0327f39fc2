# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""The `hyperset-hf` command line (also `python -m hyperset_hf`).

Subcommands:

- `hyperset-hf solve PUZZLE [--model DIR] [--num-recurrences N] [--decoding {iterative,one_pass}] [--rule-mask]
  [--device DEVICE] [--json]`: solves one Sudoku with a Hyper-SET Sudoku model through the `"sudoku-solving"` pipeline
  (`HyperSETForSudoku.solve()`) and prints the puzzle, the solved grid, whether it is valid, the decoding used with
  its rounds and iterations, and the energy of every iteration of the last round.

- `hyperset-hf push --model-dir DIR --repo-id ORG/NAME [...]`: uploads a saved model folder to the Hub (weights,
  config, remote code, image processor and model card) with `hyperset_hf.release.hub.push_model_folder`; `--dry-run`
  only lists the files it would upload.
- `hyperset-hf card --model-dir DIR [--kind KIND] [--notes ...] [--output PATH]`: renders the model card of a
  training output folder (its config, metrics and `run_metadata.json`) with
  `hyperset_hf.release.model_card.model_card_from_output_dir` (e.g. to regenerate `model_cards/*.md`).

New subcommands are added as further `add_*_parser` functions registered in `build_parser`.

This module lives beside the `hyperset_hf` package, not in it, so that the command starts without running
`import hyperset_hf` (which imports torch and transformers and registers the models): the subcommands import the
package when they need a model, and `hyperset-hf --help` starts at once. `hyperset_hf.cli` is this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path


__all__ = ["MODEL_ENV_VARIABLE", "build_parser", "default_model_candidates", "main", "resolve_default_model"]

MODEL_ENV_VARIABLE = "HYPERSET_SUDOKU_MODEL"
CHECKPOINT_NAME = "hyperset-sudoku"

EXIT_VALID = 0
EXIT_INVALID_SOLUTION = 1
EXIT_USAGE = 2  # argparse's own exit status for usage errors

DECODINGS = ("iterative", "one_pass")  # `HyperSETForSudoku.solve(decoding=...)`
SELECTIONS = ("confidence", "energy", "vote")  # `HyperSETForSudoku.solve(selection=...)`


# ---------------------------------------------------------------------------------------------------------------------
# Default model
# ---------------------------------------------------------------------------------------------------------------------


def default_model_candidates() -> list[Path]:
    """The folders searched, in order, for the default Sudoku checkpoint when `--model` and `$HYPERSET_SUDOKU_MODEL`
    are not given: the package data folder `hyperset_hf/checkpoints/hyperset-sudoku`, then, for a source checkout
    (src layout), `checkpoints/hyperset-sudoku` at the repository root."""
    from importlib.util import find_spec

    package_dir = Path(find_spec("hyperset_hf").submodule_search_locations[0]).resolve()  # not imported: no torch
    candidates = [package_dir / "checkpoints" / CHECKPOINT_NAME]
    if package_dir.parent.name == "src":
        candidates.append(package_dir.parent.parent / "checkpoints" / CHECKPOINT_NAME)
    return candidates


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def resolve_default_model() -> str:
    """The model used when `--model` is not given.

    Order: the environment variable `HYPERSET_SUDOKU_MODEL` if set (a folder or a Hub id, used as given), else the
    first of [`default_model_candidates`] that holds a `config.json`.

    Raises:
        `FileNotFoundError`: with a message listing the places searched.
    """
    configured = os.environ.get(MODEL_ENV_VARIABLE, "").strip()
    if configured:
        return configured
    candidates = default_model_candidates()
    for candidate in candidates:
        if _is_model_folder(candidate):
            return str(candidate)
    searched = "\n".join(f"  - {candidate}" for candidate in candidates)
    raise FileNotFoundError(
        f"no Sudoku model given and no default checkpoint found. Pass --model DIR (a folder saved with "
        f"save_pretrained) or set the environment variable {MODEL_ENV_VARIABLE}. Searched:\n{searched}"
    )


# ---------------------------------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _one_line(error: BaseException) -> str:
    """An error's message on one line (the command line prints every error as one line)."""
    return " ".join(str(error).split())


def _refuse(parser: argparse.ArgumentParser, message: str):
    """Exits with status 2 and `message` as the one line on stderr: a bad input file or folder, where argparse's
    usage lines would say nothing."""
    parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")


SOLVE_DESCRIPTION = """\
Solve one Sudoku with a Hyper-SET Sudoku model and print the puzzle, the solved grid, whether the solution is a valid
Sudoku that keeps the givens, the decoding used (its rounds and iterations) and the energy of every iteration of the
last round (total, attention and feedforward; iteration 0 is the initial state).

Decoding: 'iterative' (the default unless the model's config.sudoku_decoding recommends otherwise) decodes the grid
the way MaskGIT decodes image tokens: every round runs the model on the puzzle with the digits committed so far and
commits the most confident blanks, until the grid is full. 'one_pass' fills every blank from one forward pass (the
paper's protocol). No Sudoku rule is used unless --rule-mask is given.

PUZZLE is 81 characters in row-major order, '0' or '.' for blanks; whitespace and the grid-drawing characters | - +
are ignored, so a drawn 9x9 grid (quoted) works too. Use '-' to read the puzzle from standard input.
"""

SOLVE_EPILOG = f"""\
default model:
  without --model, the folder or Hub id in ${MODEL_ENV_VARIABLE} is used, else the checkpoint folder
  '{CHECKPOINT_NAME}' in the package data (hyperset_hf/checkpoints/{CHECKPOINT_NAME}) or, in a source checkout,
  checkpoints/{CHECKPOINT_NAME} at the repository root.

exit status:
  {EXIT_VALID}  the prediction is a valid, complete Sudoku that keeps the givens
  {EXIT_INVALID_SOLUTION}  the model ran but its prediction is not a valid Sudoku (the grid and the first problem are
     still printed)
  {EXIT_USAGE}  usage error: bad arguments, a malformed puzzle (e.g. a wrong character or length, or givens that repeat
     a digit), or no model found / the model could not be loaded

examples:
  hyperset-hf solve .147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61 \\
      --model checkpoints/{CHECKPOINT_NAME} --num-recurrences 32
  hyperset-hf solve .147..63..9..32.873..9..4.2729645.1.53..217.48.1..95.6.632.4...9581.724347259..61 \\
      --decoding one_pass --json
"""


def add_solve_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "solve",
        help="solve a Sudoku and show the energy of every iteration",
        description=SOLVE_DESCRIPTION,
        epilog=SOLVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("puzzle", metavar="PUZZLE", help="the puzzle: 81 characters, '0' or '.' = blank; '-' = stdin")
    parser.add_argument(
        "--model",
        metavar="DIR",
        default=None,
        help=f"a saved Hyper-SET Sudoku model (folder or Hub id); default: ${MODEL_ENV_VARIABLE}, else the shipped "
        f"'{CHECKPOINT_NAME}' checkpoint (see below)",
    )
    parser.add_argument(
        "--num-recurrences",
        metavar="N",
        type=_positive_int,
        default=None,
        help="iterations of the energy descent (a positive integer), per round in iterative decoding; default: the "
        "model's config.num_recurrences. More iterations than in training continue the same descent (test-time "
        "extrapolation)",
    )
    parser.add_argument(
        "--decoding",
        choices=DECODINGS,
        default=None,
        help="'iterative' (MaskGIT-style rounds, each committing the most confident blanks) or 'one_pass' (every "
        "blank from one forward pass, the paper's protocol); default: the model's recommendation "
        "(config.sudoku_decoding), else iterative",
    )
    parser.add_argument(
        "--copies",
        metavar="K",
        type=_positive_int,
        default=None,
        help="test-time selection: decode K copies of the puzzle under random symmetries and keep one by "
        "--selection (K times the iterations); default: the model's recommendation, else 1",
    )
    parser.add_argument(
        "--selection",
        choices=SELECTIONS,
        default=None,
        help="how --copies keeps one grid: the most confident copy, the lowest energy of the completed grid, or a vote "
        "per cell; default: the model's recommendation, else confidence",
    )
    parser.add_argument(
        "--rule-mask",
        action="store_true",
        help="use the Sudoku rules while decoding: mask out the digits that clash with a given or committed digit in "
        "the same row, column or box (off by default: the model alone)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="torch device, e.g. 'cpu', 'cuda' or 'cuda:1'; default: the first GPU if there is one, else the CPU",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the pipeline's result as one JSON object instead of the report"
    )
    parser.set_defaults(handler=lambda args: run_solve(args, parser))
    return parser


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    __version__ = version("hyperset-hf")

    parser = argparse.ArgumentParser(
        prog="hyperset-hf",
        description="Hyper-SET energy-based, recurrent-depth Transformers on Hugging Face Transformers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_solve_parser(subparsers)
    add_push_parser(subparsers)
    add_card_parser(subparsers)
    return parser


# ---------------------------------------------------------------------------------------------------------------------
# solve
# ---------------------------------------------------------------------------------------------------------------------


def _energy_table(result: dict, num_layers: int) -> list[str]:
    energies = result.get("energies")
    if energies is None:
        return ["Energy: not available (the Transformer baseline has no energy function)"]
    attention = result["attention_energies"]
    feedforward = result["feedforward_energies"]
    if num_layers == 1 or not energies or not isinstance(energies[0], list):
        per_layer = [(energies, attention, feedforward)]
    else:
        per_layer = list(zip(energies, attention, feedforward))
    rounds = result.get("num_rounds") or 1
    lines = []
    for layer, (total, attention_values, feedforward_values) in enumerate(per_layer, start=1):
        title = "Energy per iteration" + (f" of the last round (round {rounds})" if rounds > 1 else "")
        title += f" (layer {layer} of {len(per_layer)})" if len(per_layer) > 1 else ""
        lines += ["", f"{title}:", f"{'iteration':>9}  {'total':>16}  {'attention':>16}  {'feedforward':>16}"]
        for iteration, values in enumerate(zip(total, attention_values, feedforward_values)):
            lines.append(f"{iteration:>9}  " + "  ".join(f"{value:>16.6f}" for value in values))
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _decoding_line(result: dict) -> str:
    """`Decoding: ...`: the decoding used, its rounds and iterations, and whether the Sudoku rules were used."""
    iterations, rounds, used = result["num_recurrences"], result["num_rounds"], result["iterations_used"]
    if result["decoding"] == "one_pass":
        line = f"Decoding: one pass (the paper's protocol), {_plural(used, 'iteration')}"
    else:
        line = (f"Decoding: iterative, {_plural(rounds, 'round')} of {_plural(iterations, 'iteration')} "
                f"({used} iterations in all)")
    if result["num_copies"] > 1:
        line += f"; the grid kept by {result['selection']} from {result['num_copies']} symmetric copies"
    return line + ("; Sudoku rules used (--rule-mask)" if result["rule_mask"] else "; no Sudoku rules used")


def _format_report(result: dict, model_name: str, config) -> str:
    from hyperset_hf.pipeline_sudoku import format_grid

    puzzle = result["puzzle"]
    num_givens = sum(character != "0" for character in puzzle)
    num_blanks = len(puzzle) - num_givens
    num_layers = int(getattr(config, "num_layers", 1))
    layers = f"{num_layers} layer{'s' if num_layers != 1 else ''}"
    decoding = "one pass" if result["decoding"] == "one_pass" else "iterative decoding"
    lines = [
        f"Model: {model_name} ({getattr(config, 'layer_type', 'hyperset')}, {layers})",
        "",
        f"Puzzle ({num_givens} givens):",
        format_grid(puzzle),
        "",
        f"Solution ({decoding}):",
        result["grid"],
        "",
        "Valid: yes" if result["is_valid"] else f"Valid: no ({result['problem']})",
        _decoding_line(result),
        f"Confidence: {result['confidence']:.4f} (mean probability of each blank's digit when it was committed, over "
        f"{num_blanks} blank cells)",
        f"Solution string: {result['solution']}",
    ]
    lines += _energy_table(result, num_layers)
    return "\n".join(lines)


def _decoding_used(config, given: dict) -> dict:
    """`{"decoding": ..., "rule_mask": ..., "num_copies": ..., "selection": ...}` that `HyperSETForSudoku.solve()` ran
    with: the options given, else the checkpoint's recommendation (`config.sudoku_decoding`), else
    `SUDOKU_DECODING_DEFAULTS`."""
    from hyperset_hf.modeling_hyperset import SUDOKU_DECODING_DEFAULTS

    options = {**SUDOKU_DECODING_DEFAULTS, **(getattr(config, "sudoku_decoding", None) or {}), **given}
    return {"decoding": options["decoding"], "rule_mask": bool(options["rule_mask"]),
            "num_copies": int(options["num_copies"]), "selection": options["selection"]}  # fmt: skip


def _looks_like_local_path(name: str) -> bool:
    """Whether `--model` names a local folder rather than a Hub id (`owner/name`)."""
    return (
        os.path.isabs(name)
        or name.startswith((".", "~"))
        or name.count("/") != 1
        or os.sep != "/" and os.sep in name
    )


def run_solve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from hyperset_hf import register

    register()  # the models and the pipeline task (not imported for `--help`)
    from hyperset_hf.pipeline_sudoku import SUDOKU_SOLVING_TASK, SudokuSolvingPipeline, parse_puzzle

    text = sys.stdin.read() if args.puzzle == "-" else args.puzzle
    try:
        parse_puzzle(text)  # fail fast, before loading the model; the pipeline checks the givens
    except ValueError as error:
        parser.error(str(error))

    model_name, source = args.model, "--model"
    if model_name is None:
        try:
            model_name = resolve_default_model()
        except FileNotFoundError as error:
            parser.error(str(error))
        source = f"${MODEL_ENV_VARIABLE}" if os.environ.get(MODEL_ENV_VARIABLE, "").strip() else "the default"
    model_name = os.path.expanduser(model_name)
    if _looks_like_local_path(model_name) and not os.path.exists(model_name):
        parser.error(f"model folder not found: {model_name} (from {source})")
    if os.path.exists(model_name):  # a local folder: its config.json is checked before transformers reads it
        from hyperset_hf.input_checks import read_saved_config

        try:
            read_saved_config(model_name, ("hyperset",), parameter="--model")
        except (OSError, ValueError) as error:
            _refuse(parser, f"{_one_line(error)} (from {source})")

    import transformers
    from transformers import pipeline

    from hyperset_hf import HyperSETForSudoku

    transformers.utils.logging.disable_progress_bar()
    try:
        # loaded here, not by `pipeline()`, whose loading errors run to many lines with the tracebacks of every class
        # it tried; and an explicit pipeline_class: a folder saved by `Pipeline.save_pretrained` names its own
        # (remote) pipeline code in config.custom_pipelines, which transformers would otherwise only run with
        # trust_remote_code=True
        model = HyperSETForSudoku.from_pretrained(model_name)
        solver = pipeline(SUDOKU_SOLVING_TASK, model=model, device=args.device, pipeline_class=SudokuSolvingPipeline)
    except Exception as error:  # noqa: BLE001 - any loading failure is reported as a usage error
        where = "" if os.path.isdir(model_name) else " (no such local folder; tried it as a Hub id)"
        _refuse(parser, f"could not load a Hyper-SET Sudoku model from {model_name!r}{where}: {_one_line(error)}")

    decoding = {"rule_mask": args.rule_mask}  # the Sudoku rules only when asked for
    for name, value in (("decoding", args.decoding), ("num_copies", args.copies), ("selection", args.selection)):
        if value is not None:  # else the model's recommendation
            decoding[name] = value
    try:
        result = solver(text, num_recurrences=args.num_recurrences, **decoding)
    except ValueError as error:
        parser.error(str(error))
    result = {**result, **_decoding_used(solver.model.config, decoding)}

    if args.json:
        print(json.dumps(result))
    else:
        print(_format_report(result, model_name, solver.model.config))
    return EXIT_VALID if result["is_valid"] else EXIT_INVALID_SOLUTION


# ---------------------------------------------------------------------------------------------------------------------
# push and card
# ---------------------------------------------------------------------------------------------------------------------


class _CardKinds:
    """The `--kind` choices, `hyperset_hf.release.model_card.CARD_KINDS`, read when argparse first checks or shows
    them (a subcommand's own help or its arguments), so that the top-level `--help` does not import the package."""

    def __iter__(self):
        from hyperset_hf.release.model_card import CARD_KINDS

        return iter(sorted(CARD_KINDS))

    def __contains__(self, kind) -> bool:
        return kind in list(self)


def _card_kinds() -> _CardKinds:
    return _CardKinds()


def _add_card_options(parser: argparse.ArgumentParser) -> None:
    """Run facts that add to or override the folder's run_metadata.json (`hyperset_hf.release.model_card.RUN_FACTS`)."""
    parser.add_argument("--dataset", default=None,
                        help="dataset (a --dataset_name value such as fashion-mnist-local, or a Hub id)")
    parser.add_argument("--evaluation", default=None, help="what the metrics were measured on")
    parser.add_argument("--test-set", default=None, help="Sudoku: the generated test set of extrapolation.json")
    parser.add_argument("--results-file", metavar="MD", default=None,
                        help="the results file of the run in the repository (benchmarks/results/*.md), linked")
    parser.add_argument("--base-model", default=None, help="Hub id of the model this one was fine-tuned from")
    parser.add_argument("--notes", default=None, help="machine, wall time, anything needed to read the numbers")


def _card_kwargs(args: argparse.Namespace) -> dict:
    from hyperset_hf.release.model_card import RUN_FACTS

    return {fact: getattr(args, fact) for fact in RUN_FACTS}


def add_push_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "push",
        help="upload a saved model folder (weights, config, remote code, image processor, card) to the Hub",
        description="Upload a saved model folder to a Hub model repository in one commit: config.json, the weights, "
        "the remote code named in config.auto_map (copied from the package if the folder lacks it), the image "
        "processor, the run's metrics files and the model card README.md (the folder's own, --card, or one generated "
        "from the training outputs). The token comes from --token, $HF_TOKEN or `hf auth login`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model-dir", required=True, metavar="DIR", help="folder written by save_pretrained/Trainer")
    parser.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="the Hub repository (created if missing)")
    parser.add_argument("--kind", choices=_card_kinds(), default=None, metavar="KIND",
                        help="model kind for a generated card, one of %(choices)s; default: inferred from config.json")
    parser.add_argument("--card", metavar="PATH", default=None, help="upload this card file as README.md")
    parser.add_argument("--regenerate-card", action="store_true",
                        help="generate the card even if the folder has a README.md")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument("--token", default=None, help="Hub token (default: $HF_TOKEN or the stored login)")
    parser.add_argument("--dry-run", action="store_true",
                        help="do not upload: list the files the commit would hold (no network, no token needed)")
    _add_card_options(parser)
    parser.set_defaults(handler=lambda args: run_push(args, parser))
    return parser


def run_push(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import transformers

    from hyperset_hf import register
    from hyperset_hf.release.hub import push_model_folder

    register()
    transformers.utils.logging.disable_progress_bar()  # stderr keeps to the one line of an error

    api = getattr(args, "hf_api", None)
    if args.repo_id.count("/") != 1 or not all(args.repo_id.split("/")):
        parser.error(f"--repo-id must look like ORG/NAME (a namespace and a name), got {args.repo_id!r}")
    if args.dry_run:
        api = _DryRunApi()
    try:
        info = push_model_folder(
            args.model_dir,
            args.repo_id,
            api=api,
            token=args.token,
            private=args.private or None,
            revision=args.revision,
            create_pr=args.create_pr,
            commit_message=args.commit_message,
            card=args.card,
            kind=args.kind,
            regenerate_card=args.regenerate_card,
            **_card_kwargs(args),
        )
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError, TypeError) as error:
        _refuse(parser, _one_line(error))  # the folder, its files or the options: before anything is uploaded
    except Exception as error:  # offline, no token, no permission, network: the Hub's own message, no traceback
        if not (isinstance(error, OSError) or type(error).__module__.startswith("huggingface_hub")):
            raise
        parser.exit(1, f"hyperset-hf push: could not upload to {args.repo_id!r}: {_one_line(error)}\n")
    if args.dry_run:
        print(f"would push {args.model_dir} to {args.repo_id} in one commit:\n  " + "\n  ".join(info))
    else:
        print(f"pushed {args.model_dir} to {args.repo_id}: {getattr(info, 'commit_url', info)}")
    return 0


class _DryRunApi:
    """`push --dry-run`: takes the calls `push_model_folder` makes and returns the files the commit would hold."""

    def create_repo(self, repo_id, **kwargs):
        return None

    def upload_folder(self, *, folder_path, ignore_patterns=None, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        return list(filter_repo_objects(sorted(os.listdir(folder_path)), ignore_patterns=ignore_patterns))


def add_card_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "card",
        help="render the model card of a training output folder",
        description="Render the model card (huggingface_hub ModelCard: metadata, model-index from the eval results, "
        "usage, the iteration knob, training command, limitations, citations) of a training output folder.",
    )
    parser.add_argument("--model-dir", required=True, metavar="DIR", help="the training run's --output_dir")
    parser.add_argument("--kind", choices=_card_kinds(), default=None, metavar="KIND",
                        help="model kind, one of %(choices)s; default: inferred from config.json")
    parser.add_argument("--repo-id", default=None, metavar="ORG/NAME",
                        help="Hub id used in the usage snippets (default: hyperset-hf/<folder name>)")
    parser.add_argument("--output", metavar="PATH", action="append", default=None,
                        help="where to write the card (repeat for several copies); default: print it")
    _add_card_options(parser)
    parser.set_defaults(handler=lambda args: run_card(args, parser))
    return parser


def run_card(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`hyperset-hf card`: the card of `--model-dir` (a folder written by save_pretrained / Trainer with its
    `config.json` and, as far as the run wrote them, `run_metadata.json`, the metrics files and the weights; every file
    is checked by `model_card_from_output_dir`), printed or written to each `--output` (a file path; its folder is
    created). Every bad input exits with status 2 and one line on stderr."""
    from hyperset_hf.release.model_card import infer_card_kind, model_card_from_output_dir, read_model_config

    try:
        kind = infer_card_kind(read_model_config(args.model_dir))
        if args.kind not in (None, kind):
            raise ValueError(f"{args.model_dir} holds a {kind!r} model; --kind {args.kind} does not describe it")
        card = model_card_from_output_dir(args.model_dir, kind, repo_id=args.repo_id, **_card_kwargs(args))
    except (OSError, ValueError, TypeError) as error:
        _refuse(parser, _one_line(error))
    if not args.output:
        print(card)
        return 0
    for output in args.output:
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            card.save(output)
        except OSError as error:
            _refuse(parser, f"cannot write --output {output}: {error.strerror or _one_line(error)}")
        print(f"wrote {output}")
    return 0


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, hf_api=None) -> int:
    """Runs the command line with `argv` (default: `sys.argv[1:]`) and returns the exit status. `hf_api` replaces
    the `HfApi` that `push` uploads with (the tests pass a filesystem-backed stand-in)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.hf_api = hf_api
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
