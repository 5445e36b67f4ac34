#!/usr/bin/env python3
"""Checks run.py's budget on made-up compiler output: a message that keeps it
passes, and each way of breaking it is caught."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import budget_problems  # noqa: E402

KILN = ("x.hpp:4:5: error: static assertion failed: kiln: linear<0> has no outputs. "
        "Fix: give it a size.")
NOTE = "x.cpp:9:1:   required from here"
EXPECT = ["kiln::layer<2, kiln::linear<0>>"]
FACTS = "x.hpp: In instantiation of 'report() [with Layer = kiln::layer<2, kiln::linear<0> >]':"


def check(name: str, output: str, expect_ok: bool) -> bool:
    problems = budget_problems(output, EXPECT, 10, 25)
    if (not problems) == expect_ok:
        print(f"ok: {name}")
        return True
    print(f"FAIL: {name}: {problems or 'no problem found'}")
    return False


def main() -> int:
    good = "\n".join([FACTS, NOTE, KILN])
    cases = [
        ("a message within the budget", good, True),
        ("a cascade of errors", good + "\n" + "y.hpp:1:1: error: 'holds' is not a member", False),
        ("someone else's error first",
         "\n".join([FACTS, "y.hpp:1:1: error: no matching function for call", KILN]), False),
        ("kiln's error after line 10", "\n".join([FACTS] + [NOTE] * 10 + [KILN]), False),
        ("the facts missing", "\n".join([NOTE, KILN]), False),
        ("more than 25 lines", good + "\n" + "\n".join(["  note"] * 23), False),
        ("no fix in the message", "\n".join([FACTS, KILN.replace("Fix:", "")]), False),
    ]
    return 0 if all([check(*case) for case in cases]) else 1


if __name__ == "__main__":
    sys.exit(main())
