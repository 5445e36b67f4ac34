#!/usr/bin/env python3
"""examples/char_rnn as a user runs it, in a few seconds: a short run on the
repository's text trains (its validation loss falls from the untrained one),
writes strict JSON holding what it printed, and samples the asked length; bad
flags and inputs are one-line errors; a rate that diverges stops with exit code 3.

Usage: char_rnn_cli.py PROGRAM
"""

import json
import math
import os
import re
import sys
import tempfile

from checks import check, failures
from programs_cli import diverged, refused, run


def short_run(program, tmp, steps, name):
    """A run of `steps` steps at batch 4; its results file, or None."""
    out = os.path.join(tmp, name)
    result = run(program, ["--steps", str(steps), "--eval_interval", "5", "--batch", "4",
                           "--samples", "40", "--out", out])
    if not check(result.returncode == 0 and os.path.exists(out),
                 f"char_rnn --steps {steps} runs and writes {name}", result):
        return None, result
    with open(out, encoding="utf-8") as f:
        return json.load(f, parse_constant=lambda c: float("nan")), result


def main():
    program = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="kiln_char_rnn_") as tmp:
        untrained, _ = short_run(program, tmp, 0, "untrained.json")
        trained, result = short_run(program, tmp, 10, "trained.json")
        if untrained and trained:
            check(math.isfinite(untrained["final_val"]) and math.isfinite(trained["final_val"])
                  and trained["final_val"] < untrained["final_val"] - 0.3,
                  f"10 steps lower the validation loss: {untrained['final_val']:.4f} -> "
                  f"{trained['final_val']:.4f}")
            check(trained["step"] == [5, 10] and len(trained["val"]) == 2,
                  "a loss report every 5 steps", result)
            printed = re.search(r"final val loss (\d+\.\d+)", result.stdout)
            check(printed is not None and
                  abs(float(printed.group(1)) - trained["final_val"]) < 1e-4,
                  "the printed final validation loss is the file's", result)
            check(len(trained["sample"]) == 40 and trained["sample"] in result.stdout,
                  "the sample has the asked length and is the printed one", result)

        refused(program, ["--sequence", "100"], "--sequence 100 is not built in")
        refused(program, ["--text", os.path.join(tmp, "missing.txt")], "no such text file")
        refused(program, ["--batch", "0"], "--batch: must be a whole number >= 1")
        refused(program, ["--batch", str(1 << 50)], f"--batch {1 << 50}")
        refused(program, ["--samples", str((1 << 64) - 1)], "--samples")
        refused(program, ["--temperature", "0"], "--temperature: must be in [0.001, 100]")
        refused(program, ["--out", os.path.join(tmp, "no", "such.json")], "--out")
        small = os.path.join(tmp, "small.txt")
        with open(small, "w") as f:
            f.write("to be or not to be\n")
        refused(program, ["--text", small], "distinct characters")
        diverged(program, ["--learning_rate", "1e30", "--max_gradient_norm", "0", "--steps", "4",
                           "--eval_interval", "2", "--batch", "2", "--samples", "1",
                           "--out", os.path.join(tmp, "diverged.json")])
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
