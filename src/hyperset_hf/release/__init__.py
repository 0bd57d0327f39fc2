# Copyright 2026 The hyperset-hf Authors. Licensed under the Apache License, Version 2.0.
"""Release tooling: what turns a trained or original checkpoint into a published model folder.

- `hyperset_hf.release.convert`: converts checkpoints of the reference implementation (`python -m
  hyperset_hf.release.convert --task ...`);
- `hyperset_hf.release.model_card`: model cards rendered from `model_card_template.md` and a run folder, and the
  `run_metadata.json` that training scripts record (`hyperset-hf card`);
- `hyperset_hf.release.hub`: stages and pushes a model folder (weights, config, remote code, processor, card) to the
  Hub (`hyperset-hf push`).

None of it is imported by the models, the pipelines or `from_pretrained`.
"""
