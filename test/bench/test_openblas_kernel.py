#!/usr/bin/env python3
"""bench/openblas_kernel.py: the choice of the peers' OpenBLAS kernels.

    test_openblas_kernel.py           made-up probe results: a kernel that crashes, hangs
                                      or computes wrong is never chosen, however fast
    test_openblas_kernel.py --probe   the real probe of every candidate on this machine
                                      (exit 77, a skip, when this Python lacks numpy)
"""
import json
import math
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import openblas_kernel as ok  # noqa: E402

FAMILY = {c.name: c for c in ok.FAMILIES}
EVERY_FLAG = "flags\t: " + " ".join(sorted({f for c in ok.FAMILIES for f in c.flags}))
failures = []
passed = 0


def check(name, condition, detail=""):
    global passed
    if condition:
        passed += 1
        print(f"ok: {name}")
    else:
        failures.append(name)
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""))


def report(ratios=(0.01, 0.2), finite=True, gflops=100.0, core="SkylakeX"):
    """A probe child's line, with one checked product per ratio."""
    return json.dumps({"core": core, "library": "/lib/libopenblas.so", "gflops": gflops,
                       "cases": [{"shape": [7, 13, 5], "threads": 1, "transposed": "A B",
                                  "finite": finite, "error_ratio": r} for r in ratios]})


def result(candidate, status, gflops=None):
    return ok.Result(candidate, status, "" if status == "correct" else "made up", "X", gflops, 0.1)


def test_classify():
    c = FAMILY["SkylakeX"]
    r = ok.classify(c, 0, report())
    check("a report within the bound is correct", r.status == "correct" and r.gflops == 100.0, r)
    r = ok.classify(c, 0, "noise\n" + report())
    check("the report is the last JSON line", r.status == "correct", r)
    r = ok.classify(c, 0, report(ratios=(0.01, 37.0)))
    check("an error over the bound is wrong", r.status == "wrong" and "37x" in r.reason, r)
    r = ok.classify(c, 0, report(ratios=(0.01, 1.0000001)))
    check("just over the bound is wrong", r.status == "wrong", r)
    r = ok.classify(c, 0, report(ratios=(0.01, float("nan"))))
    check("a NaN ratio is wrong", r.status == "wrong", r)
    r = ok.classify(c, 0, report(finite=False))
    check("non-finite values are wrong", r.status == "wrong" and "non-finite" in r.reason, r)
    r = ok.classify(c, -11, "")
    check("a segfault is a crash", r.status == "crashed" and "SIGSEGV" in r.reason, r)
    r = ok.classify(c, 1, "", "Traceback ...\nRuntimeError: boom")
    check("an exit status is a crash, with the error's last line",
          r.status == "crashed" and "boom" in r.reason, r)
    r = ok.classify(c, 0, "not json")
    check("no report is a crash", r.status == "crashed", r)
    r = ok.classify(c, 0, json.dumps({"gflops": 9.0, "cases": []}))
    check("a report that checked nothing is not correct", r.status != "correct", r)
    r = ok.classify(c, 0, report(gflops=0))
    check("a report without a timing is not correct", r.status != "correct", r)
    r = ok.classify(c, None, "", timed_out=True, timeout=60)
    check("a hang is a time-out", r.status == "timed out" and "60" in r.reason, r)
    r = ok.classify(FAMILY["Cooperlake"], 0, report(), "Core not found: Cooperlake\n")
    check("an unknown forced name is noted", r.status == "correct" and "fallback" in r.note, r)


def test_select():
    detection, sky, cooper, sapphire, zen, haswell = [ok.DETECTION, *ok.FAMILIES]
    chosen, why = ok.select([result(detection, "wrong", 300.0), result(sky, "correct", 150.0),
                             result(cooper, "crashed"), result(sapphire, "timed out"),
                             result(zen, "correct", 100.0), result(haswell, "not run")])
    check("a fast wrong kernel is rejected for the fastest correct one",
          chosen is not None and chosen.candidate == sky, chosen)
    check("why says the detection was rejected", "rejected" in why and "wrong" in why, why)
    chosen, why = ok.select([result(detection, "correct", 146.0), result(sky, "correct", 150.0)])
    check("OpenBLAS's detection is kept within the noise", chosen.candidate == detection, why)
    chosen, _ = ok.select([result(detection, "correct", 100.0), result(sky, "correct", 150.0)])
    check("a clearly faster family replaces the detection", chosen.candidate == sky, chosen)
    chosen, why = ok.select([result(detection, "wrong", 300.0), result(sky, "crashed"),
                             result(zen, "timed out")])
    check("nothing correct: nothing chosen, and why says so",
          chosen is None and "no candidate" in why, why)


def test_candidates_and_flags():
    calls = []

    def fake(python, candidate, timeout, base):
        calls.append(candidate.name)
        return result(candidate, "correct", 100.0)

    flags = set(ok.SKYLAKEX) | {"avx2", "fma"}  # a Skylake-X: no BF16, no AMX
    results = ok.probe_all("python", 1.0, {}, flags, lambda m: None, fake)
    skipped = {r.candidate.name for r in results if r.status == "not run"}
    check("families the CPU cannot run are not probed",
          skipped == {"Cooperlake", "SapphireRapids"} and not skipped & set(calls), results)
    results = ok.probe_all("python", 1.0, {}, {"neon", "asimd"}, lambda m: None, fake)
    check("on a CPU without x86 flags only the detection runs",
          [r.candidate for r in results if r.status != "not run"] == [ok.DETECTION], results)
    environ = {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_L2_SIZE": "1048576"}
    names = [c.name for c in ok.candidates(environ)]
    check("what the environment sets is a candidate too",
          names[1].startswith("the environment's") and "Prescott" in names[1], names)


def test_environ():
    base = {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_L2_SIZE": "1048576", "HOME": "/root"}
    choice = ok.Choice([], result(FAMILY["SkylakeX"], "correct", 1.0), "")
    env = choice.environ(base)
    check("a chosen family sets OPENBLAS_CORETYPE and drops OPENBLAS_L2_SIZE",
          env.get("OPENBLAS_CORETYPE") == "SkylakeX" and "OPENBLAS_L2_SIZE" not in env
          and env["HOME"] == "/root" and ok.APPLIED_VARIABLE in env, env)
    check("its command-line prefix says so",
          choice.shown_env() == "env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX ",
          choice.shown_env())
    env = ok.Choice([], result(ok.DETECTION, "correct", 1.0), "").environ(base)
    check("OpenBLAS's detection unsets both",
          "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env, env)
    own = ok.candidates(base)[1]
    env = ok.Choice([], result(own, "correct", 1.0), "").environ(base)
    check("the environment's own setting keeps both", env["OPENBLAS_CORETYPE"] == "Prescott" and
          env["OPENBLAS_L2_SIZE"] == "1048576", env)
    env = ok.Choice([], None, "").environ(base)
    check("no choice leaves the environment as it is",
          env["OPENBLAS_CORETYPE"] == "Prescott", env)
    check("the base is not changed", base["OPENBLAS_CORETYPE"] == "Prescott", base)


def test_cache():
    calls = []

    def fake(python, candidate, timeout, base):
        calls.append(candidate.name)
        fast = {"OpenBLAS's detection": 30.0, "Cooperlake": 150.0}.get(candidate.name, 60.0)
        return result(candidate, "wrong" if candidate.name == "Zen" else "correct", fast)

    with tempfile.TemporaryDirectory() as folder:
        environ = {ok.CACHE_VARIABLE: os.path.join(folder, "choice.json")}
        cpu = "model name\t: Some CPU\n" + EVERY_FLAG
        first = ok.choose("python", environ=environ, cpuinfo=cpu, probe_one=fake, log=print)
        probed = len(calls)
        again = ok.choose("python", environ=environ, cpuinfo=cpu, probe_one=fake, log=print)
        check("the first choice probes every candidate", probed == 1 + len(ok.FAMILIES), calls)
        check("the second is read from the cache", len(calls) == probed, calls)
        check("the cached choice is the same", again == first and
              first.chosen.candidate == FAMILY["Cooperlake"], (first.chosen, again.chosen))
        ok.choose("python", environ=environ, cpuinfo=cpu.replace("Some", "Another"),
                  probe_one=fake, log=print)
        check("another machine's cache is not used", len(calls) == 2 * probed, calls)
        table = first.table()
        check("the table marks the chosen and the wrong",
              "**chosen**" in table and "**no**" in table, table)


def test_real_probe():
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("numpy is missing: skipped")
        sys.exit(77)
    environ = {k: v for k, v in os.environ.items() if k != ok.CACHE_VARIABLE}
    started = time.monotonic()
    choice = ok.choose(sys.executable, environ=environ)
    seconds = time.monotonic() - started
    print(choice.report())
    print(f"probed in {seconds:.1f} s")
    _, flags = ok.cpu_facts()
    for r in choice.results:
        runnable = all(f in flags for f in r.candidate.flags)
        check(f"{r.candidate.name}: probed exactly when the CPU can run it",
              (r.status != "not run") == runnable, r)
    # The setting the tests themselves run under is the machine's trusted one.
    trusted = choice.results[1] if choice.results[1].candidate.as_environment else \
        choice.results[0]
    check(f"{trusted.candidate.name} computes sgemm correctly", trusted.status == "correct",
          trusted)
    check("its error is within the bound", trusted.worst is not None and trusted.worst <= 1.0,
          trusted)
    try:
        import threadpoolctl  # noqa: F401
        check("OpenBLAS names the core it runs", bool(trusted.core), trusted)
    except ImportError:
        pass
    correct = [r.gflops for r in choice.results if r.status == "correct"]
    check("the chosen is correct and among the fastest",
          choice.chosen is not None and choice.chosen.status == "correct" and
          choice.chosen.gflops >= (1 - ok.TIE) * max(correct) and
          math.isfinite(choice.chosen.gflops), choice.chosen)


def main():
    if "--probe" in sys.argv[1:]:
        test_real_probe()
    else:
        test_classify()
        test_select()
        test_candidates_and_flags()
        test_environ()
        test_cache()
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
