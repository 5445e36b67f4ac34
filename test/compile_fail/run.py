#!/usr/bin/env python3
"""Must-not-compile test: compiles one program with one compiler and checks that
it fails with kiln's diagnostic.

Each program lists, in `// expect: TEXT` comments, the text the compiler's
output must contain within its first --lines lines (spaces before '>' are
dropped first, since g++ writes `linear<10> >` and clang++ `linear<10>>`).
A program without expectations must compile: the control for the flags.
"""
import argparse
import pathlib
import re
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cxx", required=True, help="the compiler to run")
    parser.add_argument("--include", action="append", default=[], help="include directory")
    parser.add_argument("--lines", type=int, default=16,
                        help="the expected text must appear within this many first lines")
    parser.add_argument("source", type=pathlib.Path)
    args = parser.parse_args()

    expected = re.findall(r"^// expect: (.*)$", args.source.read_text(), re.MULTILINE)
    command = [args.cxx, "-std=c++20", "-fsyntax-only", "-fno-diagnostics-color"]
    command += [f"-I{d}" for d in args.include] + [str(args.source)]
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    normalized = re.sub(r" +>", ">", output)
    head = "\n".join(normalized.splitlines()[: args.lines])

    if not expected:
        if result.returncode != 0:
            print(f"FAIL: {args.source.name} must compile with {args.cxx}:\n{output}")
            return 1
        print(f"ok: {args.source.name} compiles with {args.cxx}")
        return 0
    if result.returncode == 0:
        print(f"FAIL: {args.source.name} compiled with {args.cxx}, but must not")
        return 1
    missing = [text for text in expected if text not in head]
    if missing:
        print(f"FAIL: {args.source.name} with {args.cxx}: the first {args.lines} lines lack:")
        for text in missing:
            print(f"  {text}")
        print("--- compiler output ---")
        print(output)
        return 1
    print(f"ok: {args.source.name} fails with {args.cxx} as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
