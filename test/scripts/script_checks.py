"""What the tests of scripts/ share: the scripts folder on the import path, the
skip (exit 77, meson's "skipped") when matplotlib is missing, and check(), which
records a failed expectation for the script's summary and exit code."""
import importlib
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

failures = []


def import_or_skip(*names):
    """The modules of scripts/ named, or exit 77 when one needs what is not installed."""
    try:
        return [importlib.import_module(name) for name in names]
    except ImportError as missing:
        print(f"skipped: {missing.name} is missing (python3-matplotlib)")
        sys.exit(77)


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def summary():
    """Prints the outcome; the script's exit code."""
    print(f"{len(failures)} failures" if failures else "all checks passed")
    return 1 if failures else 0
