"""Operator profile of one training step (forward + backward) of a `benchmarks/speed.py` row: the 25 operators with
the most self CPU time, with their call counts. Used to tell a real difference between two engines (different
operators or call counts) from timing noise (the same operators, the same counts).

    OMP_NUM_THREADS=1 python benchmarks/profile_step.py checkpointed image 12
    OMP_NUM_THREADS=1 python benchmarks/profile_step.py previous_checkpointed image 12

Arguments: implementation (see `speed.IMPLEMENTATIONS`), model (`sudoku`, `image`, `energy_transformer`), iterations.
"""

import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile


sys.path.insert(0, str(Path(__file__).parent))
import speed  # noqa: E402


def main():
    implementation = sys.argv[1]
    model_name = sys.argv[2] if len(sys.argv) > 2 else "image"
    num_recurrences = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    torch.set_num_threads(1)
    model, loss = speed.build(model_name, implementation, num_recurrences, str(speed.REPOSITORY / "outputs" / "hyper-set"),
                              "941eb13")  # fmt: skip
    model.train()
    loss(model).backward()  # warm-up
    model.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        loss(model).backward()
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=45))


if __name__ == "__main__":
    main()
