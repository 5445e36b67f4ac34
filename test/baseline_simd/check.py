#!/usr/bin/env python3
"""kiln's note that a program was compiled for x86-64's baseline (SSE2): it appears,
once, when the compiler is given no -march, without failing a -Werror build; it does
not appear with -march=x86-64-v2 or when KILN_ALLOW_BASELINE_SIMD is defined. For
AArch64, whose baseline is NEON, no note is due without flags. Skipped (77) for
compilers of other targets.
"""
import argparse
import pathlib
import subprocess
import sys

PROGRAM = pathlib.Path(__file__).with_name("program.cpp")
NOTE = "kiln: compiled for SSE2, x86-64's baseline"


def compile_output(cxx: str, includes: list, flags: list) -> tuple:
    command = [cxx, "-std=c++20", "-fsyntax-only", "-fno-diagnostics-color", *flags]
    command += [f"-I{d}" for d in includes] + [str(PROGRAM)]
    result = subprocess.run(command, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cxx", required=True)
    parser.add_argument("--include", action="append", default=[])
    args = parser.parse_args()

    target = subprocess.run([args.cxx, "-dumpmachine"], capture_output=True, text=True).stdout
    if target.startswith("x86_64"):
        cases = [  # flags, whether the note is due
            ([], True),
            (["-Werror", "-Wall", "-Wextra"], True),
            (["-DKILN_ALLOW_BASELINE_SIMD"], False),
            (["-march=x86-64-v2"], False),
        ]
    elif target.startswith("aarch64"):
        cases = [([], False)]
    else:
        print(f"skip: {args.cxx} targets {target.strip()}, neither x86-64 nor AArch64")
        return 77
    failures = []
    for flags, due in cases:
        status, output = compile_output(args.cxx, args.include, flags)
        shown = " ".join(flags) or "no flags"
        if status != 0:
            failures.append(f"{shown}: the program does not compile:\n{output}")
        elif due and output.count(NOTE) != 1:
            failures.append(f"{shown}: the note is due once, got {output.count(NOTE)}:\n{output}")
        elif not due and "kiln:" in output:
            failures.append(f"{shown}: no note is due, got:\n{output}")
        else:
            print(f"ok: {shown}: {'the note, once' if due else 'no note'}")
    for failure in failures:
        print(f"FAIL: {args.cxx}, {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
