"""What the example programs' command-line tests share: check() records a failed
expectation with the run's exit code and the ends of its output, and failures
holds them for the script's summary and exit code."""

failures = []


def text(data):
    """A run's output as text, whether it was captured as bytes or as text."""
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def check(condition, what, result=None, say_ok=False):
    if not condition:
        detail = ""
        if result is not None:
            detail = (f"\n  exit {result.returncode}\n  stderr: {text(result.stderr).strip()[-600:]}"
                      f"\n  stdout tail: {text(result.stdout).strip()[-400:]}")
        failures.append(what + detail)
        print("FAIL:", what + detail)
    elif say_ok:
        print("ok:", what)
    return condition
