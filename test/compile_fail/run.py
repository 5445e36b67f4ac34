#!/usr/bin/env python3
"""Must-not-compile test: compiles one program with one compiler and checks that
it fails with kiln's diagnostic, within the budget every diagnostic keeps.

Each program lists, in `// expect: TEXT` comments, the text the compiler's
output must contain (spaces before '>' are dropped first, since g++ writes
`linear<10> >` and clang++ `linear<10>>`). The budget, with default flags
(and kiln's SSE2 note silenced):
  - exactly one `error:`, and it is kiln's own ("kiln: ... Fix: ...");
  - it and every expected text (the layer's position and name, the shape it got
    and the shape it needs) appear within the first --lines lines (10);
  - the whole output is at most --max-lines lines (25).
A program without expectations must compile: the control for the flags.
"""
import argparse
import pathlib
import re
import subprocess
import sys

# A diagnostic line of either compiler, "file:line:col: error: text"; not the
# "kiln::error::..." names inside instantiation notes.
ERROR_LINE = re.compile(r"^\S.*?:\d+:\d+: (?:fatal )?error: ")


def compile_program(cxx: str, includes: list, source: pathlib.Path) -> subprocess.CompletedProcess:
    # No -march (the diagnostics do not depend on it): kiln's note that it was compiled
    # for SSE2 is silenced, or it would come before every error.
    command = [cxx, "-std=c++20", "-fsyntax-only", "-fno-diagnostics-color",
               "-DKILN_ALLOW_BASELINE_SIMD"]
    command += [f"-I{d}" for d in includes] + [str(source)]
    return subprocess.run(command, capture_output=True, text=True)


def budget_problems(output: str, expected: list, head_lines: int, max_lines: int) -> list:
    """What the output breaks of the budget; empty when it keeps it."""
    lines = re.sub(r" +>", ">", output).splitlines()
    problems = []
    errors = [i for i, line in enumerate(lines) if ERROR_LINE.match(line)]
    if len(errors) != 1:
        problems.append(f"{len(errors)} errors, not one")
    if errors:
        first = lines[errors[0]]
        if "error: static assertion failed: kiln:" not in first and \
                "error: static_assert failed due to requirement" not in first:
            problems.append(f"the first error is not kiln's: {first}")
        elif "kiln:" not in first or "Fix:" not in first:
            problems.append(f"the first error lacks 'kiln:' or 'Fix:': {first}")
        if errors[0] >= head_lines:
            problems.append(f"the first error is on line {errors[0] + 1}, not within "
                            f"{head_lines}")
    head = "\n".join(lines[:head_lines])
    problems += [f"the first {head_lines} lines lack: {text}" for text in expected
                 if text not in head]
    if len(lines) > max_lines:
        problems.append(f"{len(lines)} lines of output, more than {max_lines}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cxx", required=True, help="the compiler to run")
    parser.add_argument("--include", action="append", default=[], help="include directory")
    parser.add_argument("--lines", type=int, default=10,
                        help="kiln's error and the expected text must come within these lines")
    parser.add_argument("--max-lines", type=int, default=25, help="the most output allowed")
    parser.add_argument("source", type=pathlib.Path)
    args = parser.parse_args()

    expected = re.findall(r"^// expect: (.*)$", args.source.read_text(), re.MULTILINE)
    result = compile_program(args.cxx, args.include, args.source)
    output = result.stdout + result.stderr
    name = args.source.name

    if not expected:
        if result.returncode != 0:
            print(f"FAIL: {name} must compile with {args.cxx}:\n{output}")
            return 1
        print(f"ok: {name} compiles with {args.cxx}")
        return 0
    if result.returncode == 0:
        print(f"FAIL: {name} compiled with {args.cxx}, but must not")
        return 1
    problems = budget_problems(output, expected, args.lines, args.max_lines)
    if problems:
        print(f"FAIL: {name} with {args.cxx}:")
        for problem in problems:
            print(f"  {problem}")
        print("--- compiler output ---")
        print(output)
        return 1
    print(f"ok: {name} fails with {args.cxx} within the budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
