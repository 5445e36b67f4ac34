#!/usr/bin/env python3
"""Every file the example programs write, attacked as a careless or hostile user
would: for each program (mlp, ood, mini_cnn, perceptron, gpt) and each option
that names where it writes,

- a location that cannot be written (a folder the user may not write in) is
  refused before any work, with one line naming the option and the reason;
- a symbolic link planted at the results file's name, or at the fixed
  temporary name programs once used (<file>.tmp), redirects nothing: the files
  they point to keep their contents, and the results file is a regular file;
- a write that fails (the file system refuses to let a file grow, as a full disk
  would) leaves nothing behind in the folder, is reported in one line, and the
  results are printed on stdout instead, so they are not lost;
- every results file is strict JSON (UTF-8, no NaN), including gpt's samples
  from a text of control characters and bytes that are not UTF-8: those bytes
  become U+FFFD, as Python's decode(errors="replace") makes them.

Usage: outputs.py --mlp P --ood P --mini_cnn P --perceptron P --gpt P [--data_dir DIR]
(programs that need Fashion-MNIST are skipped without it; exit 77 when nothing ran).
"""

import argparse
import json
import os
import random
import resource
import signal
import stat
import subprocess
import sys
import tempfile

from checks import check, failures, text

ran = 0


def strict_json(raw):
    """The value of raw bytes that must be strict JSON: UTF-8, no NaN or Infinity."""
    def no_constant(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(raw.decode("utf-8"), parse_constant=no_constant)


# Each program: quick arguments, the option naming its results and whether that
# is a folder (the file name inside it) or the file, other options that write.
def programs(paths, data_dir, work):
    text_file = os.path.join(work, "hostile.txt")
    return {
        "mlp": dict(exe=paths.mlp, data=True,
                    args=["--data_dir", data_dir, "--minibatch_size", "50", "--num_epoch", "1"],
                    out=("--out_dir", "MLP_lr0.01_b50.json"), more=["--save"]),
        "ood": dict(exe=paths.ood, data=True,
                    args=["--data_dir", data_dir, "--models", "mlp", "--num_epoch", "1",
                          "--minibatch_size", "50"],
                    out=("--out", None), more=[]),
        "mini_cnn": dict(exe=paths.mini_cnn, data=False,
                         args=["--train_count", "20", "--test_count", "20", "--num_epoch", "1"],
                         out=("--out", None), more=[]),
        "perceptron": dict(exe=paths.perceptron, data=True,
                           args=["--data_dir", data_dir, "--num_epoch", "1", "--kernel_epochs",
                                 "1", "--kernel_train", "20", "--kernels", "polynomial"],
                           out=("--out", None), more=[]),
        "gpt": dict(exe=paths.gpt, data=False,
                    args=["--text", text_file, "--iterations", "2", "--eval_interval", "2",
                          "--eval_iters", "1", "--batch", "2", "--sample_length", "300"],
                    out=("--out_dir", "GPT_block32_heads4.json"), more=[]),
    }


def hostile_text(path):
    """65 distinct bytes (gpt's vocabulary): every control character but NUL, the
    quote and the backslash, DEL, and 31 bytes that never start UTF-8."""
    alphabet = [bytes([b]) for b in range(1, 32)] + [b'"', b"\\", b"\x7f"] + \
        [bytes([b]) for b in range(0x80, 0x9f)]
    assert len(set(alphabet)) == 65
    rng = random.Random(5)
    body = alphabet + [rng.choice(alphabet) for _ in range(3000)]
    with open(path, "wb") as f:
        f.write(b"".join(body))


def run(program, extra, limit_file_size=None, timeout=600):
    def limits():
        if limit_file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))
    return subprocess.run([program["exe"]] + program["args"] + extra, capture_output=True,
                          timeout=timeout, preexec_fn=limits)


def place(program, folder):
    """The option and value that send the results into folder, and the file."""
    option, name = program["out"]
    if name is None:
        path = os.path.join(folder, "results.json")
        return [option, path], path
    return [option, folder], os.path.join(folder, name)


def unwritable_folders(work):
    """Folders this user cannot create a file in: /sys for anyone, root included,
    and one of our own without write permission when permissions bind us."""
    folders = ["/sys"] if os.path.isdir("/sys") else []
    mine = os.path.join(work, "read-only")
    os.mkdir(mine)
    os.chmod(mine, stat.S_IRUSR | stat.S_IXUSR)
    try:
        open(os.path.join(mine, "probe"), "w").close()
        os.unlink(os.path.join(mine, "probe"))  # root: permissions do not bind
    except OSError:
        folders.append(mine)
    return folders


def refuses_unwritable(name, program):
    for folder in unwritable_folders_cache:
        options = [program["out"][0]] + program["more"]
        for option in options:
            target = folder if option == "--out_dir" else os.path.join(folder, "results.json")
            result = run(program, [option, target], timeout=120)
            lines = [line for line in text(result.stderr).splitlines() if line.strip()]
            check(result.returncode != 0 and lines and option in lines[0] and
                  "denied" in lines[0] and text(result.stdout).strip() == "",
                  f"{name} {option} {target}: must be refused before any work, in one line "
                  f"naming {option} and why", result)


def redirects_nothing(name, program, work):
    folder = tempfile.mkdtemp(prefix=f"{name}_links_", dir=work)
    extra, results = place(program, folder)
    victims = {}
    for planted in (results, results + ".tmp"):
        victim = os.path.join(work, f"victim_{name}_{len(victims)}.txt")
        with open(victim, "w") as f:
            f.write("precious\n")
        os.symlink(victim, planted)
        victims[planted] = victim
    result = run(program, extra)
    if not check(result.returncode == 0, f"{name}: the run with planted links", result):
        return
    for planted, victim in victims.items():
        with open(victim, "rb") as f:
            check(f.read() == b"precious\n",
                  f"{name}: a link at {os.path.basename(planted)} redirected the results into "
                  f"{victim}")
    check(os.path.isfile(results) and not os.path.islink(results),
          f"{name}: {results} must be a regular file, the planted link replaced")
    try:
        values = strict_json(open(results, "rb").read())
    except (ValueError, OSError) as error:
        check(False, f"{name}: {results} is not strict JSON: {error}")
        return
    leftovers = [f for f in os.listdir(folder) if ".tmp-" in f]
    check(not leftovers, f"{name}: temporary files left behind: {leftovers}")
    if name == "gpt":
        samples_are_the_printed_ones(result.stdout, values)


def samples_are_the_printed_ones(stdout, values):
    """gpt's JSON samples are the printed samples, non-UTF-8 bytes as U+FFFD."""
    for when, rule in (("before", b"-" * 30), ("after", b"-" * 29)):
        head = f"--- sample {when} training ---\n".encode()
        start = stdout.index(head) + len(head)
        end = stdout.index(b"\n" + rule + b"\n", start)
        printed = stdout[start:end]
        check(any(b >= 0x80 for b in printed) and any(b < 0x20 and b != 0x0a for b in printed),
              f"gpt: the {when} sample should hold control characters and non-UTF-8 bytes "
              f"(the test's premise)")
        check(values.get(f"sample_{when}") == printed.decode("utf-8", errors="replace"),
              f"gpt: sample_{when} in the JSON must be the printed sample, invalid bytes "
              f"replaced by U+FFFD")


def failed_write_leaves_nothing(name, program, work):
    folder = tempfile.mkdtemp(prefix=f"{name}_full_", dir=work)
    extra, results = place(program, folder)
    result = run(program, extra, limit_file_size=64)
    lines = [line for line in text(result.stderr).splitlines() if line.strip()]
    check(result.returncode == 1 and len(lines) == 1 and "results not saved" in lines[0] and
          "File too large" in lines[0],
          f"{name}: a results file that cannot be written must be one error line", result)
    check(os.listdir(folder) == [],
          f"{name}: a failed write must leave nothing behind, found {os.listdir(folder)}")
    saved = [line for line in text(result.stdout).splitlines()
             if line.startswith("results (not saved): ")]
    try:
        check(len(saved) == 1 and isinstance(
            json.loads(saved[0][len("results (not saved): "):]), dict),
            f"{name}: the results must be printed when they cannot be saved", result)
    except ValueError:
        check(False, f"{name}: the results printed after a failed write are not JSON", result)


unwritable_folders_cache = []


def main():
    global ran
    parser = argparse.ArgumentParser()
    for name in ("mlp", "ood", "mini_cnn", "perceptron", "gpt"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist")
    paths = parser.parse_args()
    have_data = os.path.exists(os.path.join(paths.data_dir, "train-images-idx3-ubyte.gz"))

    with tempfile.TemporaryDirectory(prefix="kiln_outputs_") as work:
        hostile_text(os.path.join(work, "hostile.txt"))
        unwritable_folders_cache.extend(unwritable_folders(work))
        for name, program in programs(paths, paths.data_dir, work).items():
            if program["data"] and not have_data:
                print(f"skipped {name}: {paths.data_dir} has no Fashion-MNIST")
                continue
            print(f"--- {name}")
            ran += 1
            refuses_unwritable(name, program)
            redirects_nothing(name, program, work)
            failed_write_leaves_nothing(name, program, work)
        os.chmod(os.path.join(work, "read-only"), stat.S_IRWXU)

    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s) in {ran} programs")
    if failures:
        return 1
    return 0 if ran else 77


if __name__ == "__main__":
    sys.exit(main())
