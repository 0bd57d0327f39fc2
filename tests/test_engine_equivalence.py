"""The rebuilt engine gives the outputs of the previous one on the two checkpoints that shipped with it.

`fixtures/previous_engine_outputs.safetensors` holds the outputs of the engine of commit 14b064a (the remote code that
was then copied into both checkpoint folders, loaded with `trust_remote_code=True`) on fixed inputs: Sudoku logits and
energies at the trained depth T and at 2T, masked-image reconstructions and energies. The one-softmax bi-softmax and
the per-iteration step sizes round differently in float32, hence the 1e-4 tolerance. The Sudoku checkpoint of that
time has since been replaced in the package, so its weights are kept in `fixtures/previous-hyperset-sudoku`."""

from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForMaskedImageModeling, AutoModelForTokenClassification

import hyperset_hf


CHECKPOINTS = Path(hyperset_hf.__file__).parent / "checkpoints"
FIXTURES = Path(__file__).parent / "fixtures"
PREVIOUS = load_file(FIXTURES / "previous_engine_outputs.safetensors")


def test_previous_sudoku_checkpoint_gives_the_previous_outputs():
    model = AutoModelForTokenClassification.from_pretrained(FIXTURES / "previous-hyperset-sudoku").eval()
    depth = model.config.num_recurrences
    with torch.no_grad():
        for num_recurrences in (depth, 2 * depth):
            outputs = model(PREVIOUS["sudoku_input_ids"], num_recurrences=num_recurrences, output_energies=True)
            expected = PREVIOUS[f"sudoku_logits_T{num_recurrences}"]
            assert expected.abs().max() > 1.0  # a real comparison, not between zeros
            torch.testing.assert_close(outputs.logits, expected, rtol=1e-4, atol=1e-4)
            energies = PREVIOUS[f"sudoku_energies_T{num_recurrences}"]
            torch.testing.assert_close(outputs.energies[0], energies, rtol=1e-4, atol=1e-4)


def test_shipped_masked_image_checkpoint_gives_the_previous_outputs():
    model = AutoModelForMaskedImageModeling.from_pretrained(CHECKPOINTS / "hyperset-mim").eval()
    with torch.no_grad():
        outputs = model(
            PREVIOUS["mim_pixel_values"], bool_masked_pos=PREVIOUS["mim_bool_masked_pos"], output_energies=True
        )
    torch.testing.assert_close(outputs.reconstruction, PREVIOUS["mim_reconstruction"], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(outputs.energies[0], PREVIOUS["mim_energies"], rtol=1e-4, atol=1e-4)
