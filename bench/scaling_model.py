#!/usr/bin/python3
"""Data-parallel scaling, measured and modelled (docs/distributed.md).

Fits t(n) = alpha + beta * n to bench/allreduce's 2-rank JSON, and projects the time
per step and the parallel efficiency of data-parallel training (each rank computes its
share of the global batch, one allreduce of the flat float32 gradient buffer, every
rank applies the same update) to 8, 64 and 512 ranks over an assumed 10 and 100 Gbit/s
network, with the global batch below which communication would take longer than compute.

Two commands:

  scaling_model.py collect --gpt B FILE... [--gpt B FILE...] --mlp-wide FILE...
                           --update FILE... --out steps.json
      turns Google Benchmark JSON (bench/gpt_step built at batch B, bench/mlp_step's
      training_step_wide/inference_wide, and a flat-update benchmark named
      update/adamw/N and update/sgd/N) into steps.json, taking the median over all
      repetitions of all files.

  scaling_model.py model --allreduce allreduce.json --steps steps.json [--markdown out.md]
      prints (or writes) the markdown tables.

steps.json (each model a key; "gpt" and "mlp_wide" are the ones projected):
  {"machine": "...",
   "gpt": {"params": 209729,
           "batch": [1, 2, 4, 8, 16, 32, 64],           # global batch of the step
           "seconds_per_step": [...],                   # median time of one step
           "ranks": [1, 1, ...],                        # optional, default 1 each
           "forward_batch": [...], "forward_seconds": [...],  # optional: forward + loss
           "update_seconds": 8.6e-5},                   # optional: flat optimizer update
   "mlp_wide": {...}}
Entries with ranks 1 must be one rank on one core (KILN_THREADS=1): they are the compute
model. Entries with more ranks are compared with the model's prediction for this machine.
"""

import argparse
import glob
import json
import math
import statistics
import sys

import numpy as np

GPT_PARAMS = 209_729
MLP_WIDE_PARAMS = 795_010
MIB = 1 << 20


# ---------------------------------------------------------------- collect
def benchmark_rows(paths):
    for pattern in paths:
        for path in sorted(glob.glob(pattern)) or [pattern]:
            with open(path) as f:
                for row in json.load(f)["benchmarks"]:
                    if row.get("run_type") != "aggregate":
                        yield row


def seconds(row):
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[row.get("time_unit", "ns")]
    return row["real_time"] * unit


def medians(rows, name_of):
    samples = {}
    for row in rows:
        key = name_of(row.get("run_name", row["name"]))
        if key is not None:
            samples.setdefault(key, []).append(seconds(row))
    return {k: statistics.median(v) for k, v in samples.items()}


def collect(args):
    steps = {"machine": args.machine, "source": "scaling_model.py collect: median over repetitions"}
    updates = medians(benchmark_rows(args.update or []),
                      lambda name: name if name.startswith("update/") else None)
    if args.gpt:
        batch, step, forward = [], [], []
        for entry in sorted(args.gpt, key=lambda e: int(e[0])):
            m = medians(benchmark_rows(entry[1:]), lambda name: name)
            batch.append(int(entry[0]))
            step.append(m["gpt_training_step"])
            forward.append(m["gpt_evaluation_batch"])
        steps["gpt"] = {"params": GPT_PARAMS, "batch": batch, "seconds_per_step": step,
                        "forward_batch": batch, "forward_seconds": forward}
        if f"update/adamw/{GPT_PARAMS}" in updates:
            steps["gpt"]["update_seconds"] = updates[f"update/adamw/{GPT_PARAMS}"]
    if args.mlp_wide:
        m = medians(benchmark_rows(args.mlp_wide), lambda name: name)
        train = sorted((int(k.split("/")[1]), v) for k, v in m.items()
                       if k.startswith("training_step_wide/"))
        infer = sorted((int(k.split("/")[1]), v) for k, v in m.items()
                       if k.startswith("inference_wide/"))
        steps["mlp_wide"] = {"params": MLP_WIDE_PARAMS,
                             "batch": [b for b, _ in train],
                             "seconds_per_step": [t for _, t in train],
                             "forward_batch": [b for b, _ in infer],
                             "forward_seconds": [t for _, t in infer]}
        if f"update/sgd/{MLP_WIDE_PARAMS}" in updates:
            steps["mlp_wide"]["update_seconds"] = updates[f"update/sgd/{MLP_WIDE_PARAMS}"]
    write_or_print(json.dumps(steps, indent=2), args.out)


def write_or_print(text, path):
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


# ---------------------------------------------------------------- fits
def relative_fit(x, y):
    """Least squares of y = a + b x on relative residuals ((a + b x - y) / y), since the
    points span decades and each should count alike. Returns a, b, residuals, R^2."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    design = np.stack([np.ones_like(x), x], axis=1) / y[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
    predicted = a + b * x
    r2 = 1.0 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)
    return a, b, (predicted - y) / y, r2


class compute_curve:
    """One rank's step time at a share of b examples, from the one-rank measurements:
    interpolated between measured batches, the linear fit outside them (or everywhere
    with linear=True). Includes the optimizer update, which is not divided by P."""

    def __init__(self, entry, linear=False):
        ranks = entry.get("ranks", [1] * len(entry["batch"]))
        pairs = sorted((b, t) for b, t, r in zip(entry["batch"], entry["seconds_per_step"], ranks)
                       if r == 1)
        if len(pairs) < 2:
            raise SystemExit("steps.json: need one-rank step times at two batches at least")
        self.batch = np.array([b for b, _ in pairs], float)
        self.time = np.array([t for _, t in pairs], float)
        self.intercept, self.per_example, self.residual, self.r2 = relative_fit(self.batch,
                                                                              self.time)
        self.update = entry.get("update_seconds")
        self.fixed = self.update if self.update is not None else max(self.intercept, 0.0)
        self.linear = linear
        fb, ft = entry.get("forward_batch"), entry.get("forward_seconds")
        self.forward_fit = relative_fit(fb, ft)[:2] if fb and len(fb) >= 2 else None
        self.forward_points = (np.array(fb, float), np.array(ft, float)) if fb else None

    def step(self, b):
        if self.linear or b < self.batch[0] or b > self.batch[-1]:
            if not self.linear and b > self.batch[-1]:  # the last measured slope onward
                slope = (self.time[-1] - self.time[-2]) / (self.batch[-1] - self.batch[-2])
                return self.time[-1] + slope * (b - self.batch[-1])
            return self.intercept + self.per_example * b
        return float(np.interp(b, self.batch, self.time))

    def forward(self, b):
        """Forward and loss of b examples; a third of the step's compute when not measured
        (backward about twice the forward's products)."""
        if self.forward_points is None:
            return (self.step(b) - self.fixed) / 3.0
        fb, ft = self.forward_points
        if fb[0] <= b <= fb[-1]:
            return float(np.interp(b, fb, ft))
        a, slope = self.forward_fit
        return max(a + slope * b, 0.0)

    def backward(self, b):
        return max(self.step(b) - self.fixed - self.forward(b), 0.0)

    def share_for_time(self, t):
        """The share b (real, >= 0) at which one rank's step takes t; None if even an
        empty share (the update alone) takes longer."""
        if t <= self.fixed:
            return None
        lo, hi = 0.0, 1.0
        while self.step(hi) < t:
            hi *= 2.0
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if (self.step(mid) if mid > 0 else self.fixed) < t:
                lo = mid
            else:
                hi = mid
        return hi


# ---------------------------------------------------------------- model
def ring_allreduce(p, nbytes, alpha, beta, gamma_per_byte):
    """Ring: reduce-scatter then allgather, 2(P-1) messages of n/P bytes each way; the
    reduce-scatter adds (P-1)/P n bytes of floats on every rank."""
    if p == 1:
        return 0.0
    return (2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes * beta
            + (p - 1) / p * nbytes * gamma_per_byte)


def halving_doubling_allreduce(p, nbytes, alpha, beta, gamma_per_byte):
    """Rabenseifner (recursive halving then doubling, P a power of two): same bytes,
    2 log2 P messages; for comparison only."""
    if p == 1:
        return 0.0
    return (2 * math.log2(p) * alpha + 2 * (p - 1) / p * nbytes * beta
            + (p - 1) / p * nbytes * gamma_per_byte)


def ms(t):
    return f"{t * 1e3:.3f}" if t < 0.01 else f"{t * 1e3:.2f}" if t < 0.1 else f"{t * 1e3:.1f}"


def us(t):
    return f"{t * 1e6:.1f}" if t < 1e-3 else f"{t * 1e6:.0f}"


def size_name(nbytes):
    for unit, scale in (("MiB", MIB), ("KiB", 1024)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale} {unit}"
    return f"{nbytes} B"


def model(args):
    with open(args.allreduce) as f:
        measured = json.load(f)
    with open(args.steps) as f:
        steps = json.load(f)
    out = []
    w = out.append

    rows = measured["allreduce"]
    by_bytes = {r["bytes"]: r for r in rows}
    nbytes = np.array([r["bytes"] for r in rows], float)
    median = np.array([r["median_s"] for r in rows], float)
    large = (nbytes >= args.fit_from) & (nbytes <= args.fit_to)
    small = nbytes <= args.small_to
    alpha, beta, residual, r2 = relative_fit(nbytes[large], median[large])
    alpha_small, beta_small, residual_small, _ = relative_fit(nbytes[small], median[small])
    sums = measured.get("local_sum", [])
    gamma = statistics.median(s["median_s"] / (4 * s["floats"]) for s in sums) if sums else 0.0

    # ---- measured allreduce
    w(f"### MPI_Allreduce measured: {measured['ranks']} ranks, {measured['mpi_library']}, "
      f"host {', '.join(sorted(set(measured['hosts'])))}\n")
    w(f"Slowest rank's time per call, {measured['rounds']} interleaved rounds after "
      f"{measured['warmup']} of warm-up; load average {measured['load_average_before']} "
      f"before, {measured['load_average_after']} after. Fit: alpha + beta n over "
      f"{size_name(args.fit_from)} <= n <= {size_name(args.fit_to)}.\n")
    w("| bytes | floats | buffer | median µs | min µs | GB/s (n / median) | fit µs | fit error |")
    w("|---:|---:|---|---:|---:|---:|---:|---:|")
    shown = {4, 1024, 16 * 1024, 64 * 1024, 256 * 1024, MIB, 4 * MIB, 16 * MIB}
    for r in rows:
        if r["bytes"] not in shown and not r["buffer"]:
            continue
        fit = alpha + beta * r["bytes"]
        error = f"{(fit - r['median_s']) / r['median_s'] * 100:+.1f}%" \
            if r["bytes"] >= args.fit_from else ""
        if error and r["bytes"] > args.fit_to:
            error += " (not fitted)"
        w(f"| {r['bytes']:,} | {r['floats']:,} | {r['buffer']} | {us(r['median_s'])} | "
          f"{us(r['min_s'])} | {r['bytes'] / r['median_s'] / 1e9:.2f} | "
          f"{us(fit) if error else ''} | {error} |")
    w("")
    w(f"- Large messages ({size_name(args.fit_from)} to {size_name(args.fit_to)}, "
      f"{int(large.sum())} sizes): "
      f"alpha = {alpha * 1e6:.1f} µs, beta = {beta * 1e9:.4f} ns/byte "
      f"({1 / beta / 1e9:.2f} GB/s); R² = {r2:.4f}, largest relative error "
      f"{np.max(np.abs(residual)) * 100:.1f}%.")
    w(f"- Small messages (n <= {size_name(args.small_to)}, {int(small.sum())} sizes): "
      f"alpha = {alpha_small * 1e6:.2f} µs, beta = {beta_small * 1e9:.3f} ns/byte; largest "
      f"relative error {np.max(np.abs(residual_small)) * 100:.1f}%.")
    w(f"- Reduction arithmetic (dst += src, every rank at once): gamma = "
      f"{gamma * 1e9:.4f} ns/byte ({gamma * 4e9:.3f} ns/float), median over the three "
      f"buffers.\n")

    buckets = measured.get("iallreduce_buckets", [])
    if buckets:
        w("MPI_Iallreduce of each bucket, then one MPI_Waitall, nothing computed in between "
          "(median µs; the blocking call on the whole buffer for comparison):\n")
        names = sorted({b["buffer"] for b in buckets}, key=lambda n: by_name_floats(buckets, n))
        sizes = sorted({b["bucket_bytes"] for b in buckets})
        w("| buffer | blocking, whole | " + " | ".join(
            f"buckets of {size_name(s)}" for s in sizes) + " |")
        w("|---|---:|" + "---:|" * len(sizes))
        for name in names:
            whole = next(r for r in rows if r["buffer"] == name)
            cells = []
            for s in sizes:
                b = next(b for b in buckets if b["buffer"] == name and b["bucket_bytes"] == s)
                cells.append(f"{us(b['median_s'])} ({b['buckets']})")
            w(f"| {name} | {us(whole['median_s'])} | " + " | ".join(cells) + " |")
        w("")

    # ---- compute
    models = [("gpt", "GPT (block 32, 4 heads)", args.gpt_batch),
              ("mlp_wide", "MLP 784-1000-10", args.mlp_batch)]
    curves = {}
    w(f"### One-core step times ({steps.get('machine', 'machine not given')})\n")
    for key, title, _ in models:
        if key not in steps:
            continue
        entry = steps[key]
        c = compute_curve(entry, linear=args.linear)
        curves[key] = c
        w(f"{title}, {entry['params']:,} parameters. Linear fit t = f + e b (relative least "
          f"squares): f = {us(c.intercept)} µs, e = {us(c.per_example)} µs/example, "
          f"largest error {np.max(np.abs(c.residual)) * 100:.1f}%. Flat optimizer update "
          f"over all parameters: "
          f"{us(c.update) + ' µs (measured)' if c.update is not None else 'not measured'}.\n")
        w("| batch | step ms | (step - update) / batch, µs | linear fit error | "
          "forward + loss ms |")
        w("|---:|---:|---:|---:|---:|")
        for b, t, e in zip(c.batch, c.time, c.residual):
            w(f"| {int(b)} | {ms(t)} | {us((t - c.fixed) / b)} | {e * 100:+.1f}% | "
              f"{ms(c.forward(b))} |")
        w("")

    # ---- this machine at its measured rank count: the model against measurements
    p_here = measured["ranks"]
    w(f"### {p_here} ranks on this machine (one core each), modelled with the allreduce "
      f"measured here\n")
    w("Measured: steps.json entries with ranks > 1, when given (the data-parallel trainer).\n")
    w("| model | global batch | share | T(1) ms | allreduce µs | T(P) no overlap ms | eff. | "
      "T(P) overlap ms | eff. | measured ms |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, title, batches in models:
        if key not in curves:
            continue
        entry, c = steps[key], curves[key]
        nb = 4 * entry["params"]
        ar = by_bytes[nb]["median_s"] if nb in by_bytes else alpha + beta * nb
        ranks = entry.get("ranks", [1] * len(entry["batch"]))
        multi = {b: t for b, t, r in zip(entry["batch"], entry["seconds_per_step"], ranks)
                 if r == p_here}
        for b in sorted(set(batches) | set(multi)):
            share = math.ceil(b / p_here)
            t1 = c.step(b)
            no = c.step(share) + ar
            ov = c.fixed + c.forward(share) + max(c.backward(share), ar)
            w(f"| {title} | {b} | {share} | {ms(t1)} | {us(ar)} | {ms(no)} | "
              f"{t1 / (p_here * no) * 100:.1f}% | {ms(ov)} | {t1 / (p_here * ov) * 100:.1f}% | "
              f"{ms(multi[b]) if b in multi else ''} |")
    w("")

    # ---- network model
    networks = [("10 Gbit/s", args.alpha_10g, 8 / 10e9), ("100 Gbit/s", args.alpha_100g,
                                                           8 / 100e9)]
    w("### Allreduce over a network (modelled)\n")
    w(f"alpha ASSUMED (not measured): {args.alpha_10g * 1e6:g} µs per message at 10 Gbit/s "
      f"(TCP), {args.alpha_100g * 1e6:g} µs at 100 Gbit/s (RDMA); beta = 8 bits / link rate; "
      f"gamma = {gamma * 1e9:.4f} ns/byte measured here. Ring, in ms "
      f"(Rabenseifner's halving-doubling in brackets):\n")
    buffers = [(title, 4 * steps[key]["params"]) for key, title, _ in models if key in steps]
    header = "| network | buffer | " + " | ".join(f"P = {p}" for p in args.ranks) + " |"
    w(header)
    w("|---|---|" + "---:|" * len(args.ranks))
    for net, a, b in networks:
        for title, n in buffers:
            cells = [f"{ms(ring_allreduce(p, n, a, b, gamma))} "
                     f"({ms(halving_doubling_allreduce(p, n, a, b, gamma))})" for p in args.ranks]
            w(f"| {net} | {title}, {n / MIB:.2f} MiB | " + " | ".join(cells) + " |")
    w("")

    # ---- projections
    w("### Time per step and efficiency (modelled)\n")
    w("Efficiency = T(1) / (P T(P)), T(1) the measured one-core step at the same global batch. "
      "No overlap: T(P) = step(share) + T_comm. Overlap: T(P) = update + forward(share) + "
      "max(backward(share), T_comm). share = ceil(B / P); † marks B < P (P - B ranks idle). "
      "Above 100%: one core's time per example grows with the batch (measured above), so "
      "a smaller share runs faster per example.\n")
    w("Summary: T(P) without overlap, its efficiency, and the efficiency with overlap in "
      "brackets.\n")
    # Every (network, model, batch, ranks) projected once, for both tables.
    rows = {}
    for net, a, b in networks:
        for key, title, batches in models:
            if key not in curves:
                continue
            c, n = curves[key], 4 * steps[key]["params"]
            for B in batches:
                for p in args.ranks:
                    rows[(net, title, B, p)] = (c.step(B), c) + projected_step(c, B, p, n, a, b,
                                                                               gamma)
    titles = [title for key, title, _ in models if key in curves]
    w("| model | B | T(1) ms | " + " | ".join(f"{net}, P = {p}" for net, _, _ in networks
                                             for p in args.ranks) + " |")
    w("|---|---:|---:|" + "---:|" * (len(networks) * len(args.ranks)))
    for key, title, batches in models:
        if title not in titles:
            continue
        for B in batches:
            cells = []
            for net, _, _ in networks:
                for p in args.ranks:
                    t1, _, share, comm, no, ov = rows[(net, title, B, p)]
                    cells.append(f"{ms(no)} ms, {t1 / (p * no) * 100:.0f}% "
                                 f"({t1 / (p * ov) * 100:.0f}%){'†' if B < p else ''}")
            w(f"| {title} | {B} | {ms(t1)} | " + " | ".join(cells) + " |")
    w("")
    w("| network | model | global batch B | P | share | T(1) ms | compute ms | T_comm ms | "
      "T(P) no overlap ms | eff. | T(P) overlap ms | eff. |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (net, title, B, p), (t1, c, share, comm, no, ov) in rows.items():
        mark = "†" if B < p else ""
        w(f"| {net} | {title} | {B} | {p} | {share}{mark} | {ms(t1)} | "
          f"{ms(c.step(share))} | {ms(comm)} | {ms(no)} | {t1 / (p * no) * 100:.1f}% "
          f"| {ms(ov)} | {t1 / (p * ov) * 100:.1f}% |")
    w("")

    w("### Global batch below which communication takes longer than compute\n")
    w("T_comm (ring) > step(B / P) of one rank, the update included: the global batch B* = P b* "
      "where one rank's step at b* examples takes T_comm (b* in brackets). "
      "\"never\": the update alone takes longer than T_comm. Beyond the largest measured "
      "batch the last measured slope is extended.\n")
    w("| network | model | " + " | ".join(f"P = {p}" for p in args.ranks) + " |")
    w("|---|---|" + "---:|" * len(args.ranks))
    for net, a, b in networks:
        for key, title, _ in models:
            if key not in curves:
                continue
            c, n = curves[key], 4 * steps[key]["params"]
            cells = []
            for p in args.ranks:
                share = c.share_for_time(ring_allreduce(p, n, a, b, gamma))
                cells.append("never" if share is None else f"{p * share:,.0f} ({share:.1f})")
            w(f"| {net} | {title} | " + " | ".join(cells) + " |")
    w("")

    write_or_print("\n".join(out), args.markdown)


def projected_step(curve, batch, ranks, n, alpha, beta, gamma):
    """One rank's share of the global batch, the ring allreduce's time, and the step's
    time without overlap and with perfect overlap of communication with backward."""
    share = math.ceil(batch / ranks)
    comm = ring_allreduce(ranks, n, alpha, beta, gamma)
    no_overlap = curve.step(share) + comm
    overlap = curve.fixed + curve.forward(share) + max(curve.backward(share), comm)
    return share, comm, no_overlap, overlap


def by_name_floats(buckets, name):
    return next(b["floats"] for b in buckets if b["buffer"] == name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="Google Benchmark JSON to steps.json")
    c.add_argument("--gpt", nargs="+", action="append", metavar=("BATCH", "FILE"),
                   help="the batch bench/gpt_step was built with, then its JSON files")
    c.add_argument("--mlp-wide", nargs="+", help="bench/mlp_step JSON files")
    c.add_argument("--update", nargs="+", help="flat optimizer update benchmark JSON files")
    c.add_argument("--machine", default="", help="where the step times were measured")
    c.add_argument("--out")
    m = sub.add_parser("model", help="fit and project")
    m.add_argument("--allreduce", required=True, help="bench/allreduce --out JSON")
    m.add_argument("--steps", required=True, help="steps.json (schema in this file's doc)")
    m.add_argument("--markdown", help="write the tables here instead of stdout")
    m.add_argument("--ranks", nargs="+", type=int, default=[8, 64, 512])
    m.add_argument("--gpt-batch", nargs="+", type=int, default=[16, 32, 64])
    m.add_argument("--mlp-batch", nargs="+", type=int, default=[500, 5000])
    m.add_argument("--alpha-10g", type=float, default=20e-6,
                   help="ASSUMED per-message latency at 10 Gbit/s, seconds (default 20 µs)")
    m.add_argument("--alpha-100g", type=float, default=2e-6,
                   help="ASSUMED per-message latency at 100 Gbit/s, seconds (default 2 µs)")
    m.add_argument("--fit-from", type=int, default=64 * 1024,
                   help="fit alpha + beta n on messages of at least this many bytes")
    m.add_argument("--fit-to", type=int, default=4 * MIB,
                   help="... and at most this many (the flat buffers are below 4 MiB)")
    m.add_argument("--small-to", type=int, default=1024,
                   help="the small-message fit's largest message, bytes")
    m.add_argument("--linear", action="store_true",
                   help="compute = f + e b everywhere instead of interpolating measured batches")
    args = parser.parse_args()
    if args.command == "collect":
        collect(args)
    else:
        model(args)


if __name__ == "__main__":
    sys.exit(main())
