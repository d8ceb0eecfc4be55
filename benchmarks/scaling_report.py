#!/usr/bin/python3
"""Scaling report from benchmarks/scaling.sh runs: phase shares, serial fraction, projections (docs/scaling.md)."""
import argparse
import heapq
import math
import os
import re

import h5py
import numpy as np

PHASES = ("simulate", "classify", "sample", "update_compute", "update_reduce", "evaluate", "write", "balance")
# Documented assumptions for ranks beyond this machine (override on the command line).
DEFAULT_LATENCY = 5e-6           # seconds per collective step (one of log2 P rounds)
DEFAULT_BANDWIDTH = 5e9          # bytes per second a rank sends and receives
DEFAULT_DRAW_SECONDS = 7.5e-9    # one replicated sampler draw: a Philox uniform and two comparisons


def runtime(path):
    """Means over the iterations after the first (warm-up), and the file for further reading."""
    f = h5py.File(path, "r")
    r = f["runtime"]
    rows = slice(1, None) if r["iteration_seconds"].shape[0] > 1 else slice(None)
    mean = {name: float(np.mean(r[name][rows])) for name in r}
    mean["ranks"] = int(r.attrs["ranks"])
    return f, mean


def repetitions(work, stem):
    """Every repetition of a timed run (stem.h5, stem_rep2.h5, ...): the first file, the medians of the
    per-run means, and how many runs."""
    names = sorted(n for n in os.listdir(work) if re.fullmatch(rf"{stem}(_rep\d+)?\.h5", n))
    runs = [runtime(os.path.join(work, name)) for name in names]
    if not runs:
        return None, None, 0
    medians = {key: float(np.median([m[key] for _, m in runs])) for key in runs[0][1]}
    return runs[0][0], medians, len(runs)


def rates(path):
    """The bytes per second dd reported, one line each run."""
    return [float(line) for line in open(path) if line.strip()]


def dd_median(path):
    """The median of dd's rates in `path` and how the report prints it with the runs."""
    runs = rates(path)
    median = float(np.median(runs))
    return median, f"{median / 1e6:.0f} MB/s (median of {' '.join(f'{x / 1e6:.0f}' for x in runs)})"


def rank_runs(work):
    """The single-repetition files rN.h5 for N ranks (bytes and memory), in rank order."""
    names = [n for n in os.listdir(work) if re.fullmatch(r"r\d+\.h5", n)]
    return sorted(names, key=lambda n: int(n[1:-3]))


def balanced_bounds(costs, parts):
    """The contiguous partition of manyworlds' balanced_bounds (src/core/partition.cpp), same algorithm."""
    costs = [c if c > 0 else 0.0 for c in costs]
    count = len(costs)

    def fill(capacity):
        bounds, load = [0], 0.0
        for i, cost in enumerate(costs):
            part = len(bounds) - 1
            if i > bounds[-1] and (load + cost > capacity or count - i == parts - 1 - part):
                if part + 1 == parts:
                    return None
                bounds.append(i)
                load = 0.0
            load += cost
            if load > capacity:
                return None
        return bounds + [count]

    low, high = 0.0, sum(costs)
    for _ in range(60):
        middle = low + (high - low) / 2
        if fill(middle) is None:
            low = middle
        else:
            high = middle
    return fill(high)


def largest_first_imbalance(costs, parts):
    """Imbalance if each world, largest first, went to the least loaded rank (not what the run does: its
    ranks own contiguous blocks of worlds); shows what non-contiguous ownership would gain."""
    loads = [(0.0, part) for part in range(parts)]
    for cost, _ in sorted(((max(c, 0.0), i) for i, c in enumerate(costs)), key=lambda t: (-t[0], t[1])):
        load, part = heapq.heappop(loads)
        heapq.heappush(loads, (load + cost, part))
    total = sum(load for load, _ in loads)
    return max(load for load, _ in loads) / (total / parts) if total > 0 else 1.0


def imbalance(costs, bounds):
    loads = [sum(costs[bounds[p]:bounds[p + 1]]) for p in range(len(bounds) - 1)]
    return max(loads) / (sum(loads) / len(loads)) if sum(loads) > 0 else 1.0


def world_costs(f):
    """Measured cost of each world in the last iteration: queries plus decisions (what the run balances)."""
    return list(f["worlds/stats/queries"][-1] + f["worlds/stats/decisions"][-1])


def validation_costs(f):
    """Estimated cost of each validation world (users x traffic; the run balances their expected queries over
    contiguous blocks): every validation round plays all of them."""
    params = f["validation_worlds/parameters"]
    return list(params["users"][:] * params["traffic"][:])


def machine_ceiling(work, t1, t2):
    """Two independent 1-rank copies at once: the throughput this machine gives two processes of the job."""
    _, a, count = repetitions(work, "copy_a")
    _, b, _ = repetitions(work, "copy_b")
    if count == 0:
        return
    times = [a["iteration_seconds"], b["iteration_seconds"]]
    ceiling = t1 * sum(1 / t for t in times) / 2
    print(f"machine ceiling: two independent 1-rank copies at once take {times[0]:.4f} s and {times[1]:.4f} s per "
          f"iteration (medians of {count}): {100 * ceiling:.1f}% of twice one copy's throughput; the 2-rank run "
          f"reaches {100 * t1 / (2 * t2) / ceiling:.1f}% of that")


def communication(calls, rank_bytes, ranks, latency, bandwidth):
    return calls * latency * math.ceil(math.log2(ranks)) + rank_bytes / bandwidth if ranks > 1 else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", help="folder with r1.h5, r2.h5 (and their _repK repetitions), optionally copy_a.h5, "
                        "copy_b.h5, rN.h5, write.h5, dd.txt")
    parser.add_argument("--latency", type=float, default=DEFAULT_LATENCY)
    parser.add_argument("--bandwidth", type=float, default=DEFAULT_BANDWIDTH)
    parser.add_argument("--draw-seconds", type=float, default=DEFAULT_DRAW_SECONDS)
    args = parser.parse_args()
    work = args.work

    f1, one, repeats = repetitions(work, "r1")
    _, two, _ = repetitions(work, "r2")
    t1, t2 = one["iteration_seconds"], two["iteration_seconds"]
    print(f"job {f1.attrs['job_file']}: {int(f1.attrs['worlds'])} worlds, batch {int(f1.attrs['batch_size'])}, "
          f"{f1['metrics/decisions'][-1]:.0f} decisions per iteration; means over iterations 2..{f1['metrics/decisions'].shape[0]}, "
          f"medians over {repeats} runs")
    print()
    print(f"{'phase':<16} {'1 rank s':>9} {'share':>7} {'2 ranks s':>10} {'share':>7}")
    accounted1 = accounted2 = 0.0
    for phase in PHASES:
        a, b = one[f"{phase}_seconds"], two[f"{phase}_seconds"]
        accounted1 += a
        accounted2 += b
        print(f"{phase:<16} {a:>9.4f} {100 * a / t1:>6.2f}% {b:>10.4f} {100 * b / t2:>6.2f}%")
    other1, other2 = t1 - accounted1, t2 - accounted2
    print(f"{'other':<16} {other1:>9.4f} {100 * other1 / t1:>6.2f}% {other2:>10.4f} {100 * other2 / t2:>6.2f}%")
    print(f"{'iteration':<16} {t1:>9.4f} {'':>7} {t2:>10.4f}")
    print(f"{'  wait (imbal.)':<16} {one['wait_seconds']:>9.4f} {'':>7} {two['wait_seconds']:>10.4f}   "
          f"simulate imbalance at 2 ranks {two['simulate_imbalance']:.3f} (slowest / mean)")
    print(f"{'  collectives':<16} {one['collective_seconds']:>9.4f} {'':>7} {two['collective_seconds']:>10.4f}   "
          f"{two['collective_calls']:.0f} collective operations per iteration")
    print(f"{'  serial':<16} {one['serial_seconds']:>9.4f} {100 * one['serial_seconds'] / t1:>6.2f}%   "
          "(rank 0's summary, replicated rounding of exact sums and Adam steps)")
    print()
    print(f"measured strong scaling 1 -> 2 ranks: speedup {t1 / t2:.3f}, efficiency {100 * t1 / (2 * t2):.1f}%")
    machine_ceiling(work, t1, t2)

    # Model (docs/scaling.md): T(P) = S + IO + E imb_h(P)/P + Par imb_w(P)/P + C(P).
    serial, io, evaluate = one["serial_seconds"], one["write_seconds"], one["evaluate_seconds"]
    parallel = t1 - serial - io - evaluate
    wcosts, hcosts = world_costs(f1), validation_costs(f1)
    calls = two["collective_calls"]
    rank_bytes = max(runtime(os.path.join(work, name))[1]["max_rank_bytes_moved"]
                     for name in rank_runs(work) if name != "r1.h5")
    print(f"serial fraction: {100 * serial / t1:.2f}% compute (S) + {100 * io / t1:.2f}% writing (IO, one file "
          f"system) = {100 * (serial + io) / t1:.2f}% of the 1-rank iteration")
    print(f"model inputs: S {serial:.4f} s, IO {io:.4f} s, evaluation E {evaluate:.4f} s, parallel Par {parallel:.4f} s, "
          f"{calls:.0f} collectives x {args.latency * 1e6:.1f} us x log2 P, {rank_bytes / 1e6:.2f} MB per rank "
          f"at {args.bandwidth / 1e9:.1f} GB/s")
    print()
    print(f"{'ranks':>6} {'imb worlds':>10} {'imb valid':>11} {'comm s':>8} {'T(P) s':>9} {'speedup':>8} "
          f"{'effic.':>7} {'w/o IO':>8} {'LPT w/o IO':>11}")
    for ranks in (2, 16, 64, 256):
        if ranks > len(wcosts):
            print(f"{ranks:>6} more ranks than the job's {len(wcosts)} worlds")
            continue
        imb_w = imbalance(wcosts, balanced_bounds(wcosts, ranks))
        parts_h = min(ranks, len(hcosts))
        imb_h = imbalance(hcosts, balanced_bounds(hcosts, parts_h)) * ranks / parts_h
        comm = communication(calls, rank_bytes, ranks, args.latency, args.bandwidth)
        time = serial + io + evaluate * imb_h / ranks + parallel * imb_w / ranks + comm
        no_io = time - io
        lpt_w = largest_first_imbalance(wcosts, ranks)
        lpt_h = largest_first_imbalance(hcosts, parts_h) * ranks / parts_h
        lpt_no_io = serial + evaluate * lpt_h / ranks + parallel * lpt_w / ranks + comm
        print(f"{ranks:>6} {imb_w:>10.3f} {imb_h:>11.3f} {comm:>8.4f} {time:>9.4f} {t1 / time:>8.1f} "
              f"{100 * t1 / time / ranks:>6.1f}% {(t1 - io) / no_io:>8.1f} {(t1 - io) / lpt_no_io:>11.1f}")

    print("LPT w/o IO: the same without the write, had each world (training and validation) gone to the least "
          "loaded rank, largest first, instead of contiguous blocks (not implemented; docs/scaling.md)")

    # Weak scaling: every rank keeps the 1-rank job's worlds and batch (sampling.batch_per_world);
    # replicated work grows with the global batch (sampler draws) and the global worlds (summaries).
    batch = float(f1.attrs["batch_size"])
    worlds = len(wcosts)
    print()
    print("weak scaling (worlds and batch per rank fixed; file system bandwidth growing with the nodes):")
    print(f"{'ranks':>6} {'imbalance':>9} {'replicated s':>12} {'comm s':>8} {'T(P) s':>9} {'efficiency':>10}")
    for ranks in (2, 16, 64, 256):
        # P x W worlds resampled from the measured costs (fixed seed), balanced as the run would.
        resampled = list(np.random.default_rng(ranks).choice(wcosts, size=worlds * ranks))
        imb = imbalance(resampled, balanced_bounds(resampled, ranks))
        replicated = args.draw_seconds * batch * (ranks - 1)
        summaries = 72.0 * worlds * (ranks - 1)
        comm = communication(calls, rank_bytes + 2 * summaries, ranks, args.latency, args.bandwidth)
        time = serial + io + evaluate + parallel * imb + replicated + comm
        print(f"{ranks:>6} {imb:>9.3f} {replicated:>12.4f} {comm:>8.4f} {time:>9.4f} {100 * t1 / time:>9.1f}%")

    print()
    print("bytes moved per iteration and peak memory (oversubscribed runs count for bytes and memory only):")
    print(f"{'ranks':>6} {'bytes moved':>12} {'largest rank':>12} {'rank 0 MB':>10} {'max MB':>8} {'min MB':>8} "
          f"{'rank 0 / others':>15}")
    for name in rank_runs(work):
        _, m = runtime(os.path.join(work, name))
        ratio = m["root_rss_bytes"] / m["min_rank_rss_bytes"] if m["ranks"] > 1 else 1.0
        print(f"{m['ranks']:>6} {m['bytes_moved']:>12.0f} {m['max_rank_bytes_moved']:>12.0f} "
              f"{m['root_rss_bytes'] / 1e6:>10.1f} {m['max_rank_rss_bytes'] / 1e6:>8.1f} "
              f"{m['min_rank_rss_bytes'] / 1e6:>8.1f} {ratio:>15.3f}")

    wf, w, write_runs = repetitions(work, "write")
    if write_runs:
        rate = w["batch_bytes"] / w["batch_write_seconds"]
        dd, dd_text = dd_median(os.path.join(work, "dd.txt"))
        print()
        print(f"batch writing ({int(wf.attrs['batch_size'])} rows, {int(w['ranks'])} ranks, batch_deflate "
              f"{wf['batches/weight'].id.get_create_plist().get_nfilters() and 'on' or 'off'}): "
              f"{w['batch_bytes'] / 1e6:.0f} MB of row data in {w['batch_write_seconds']:.3f} s (median of {write_runs}) = "
              f"{rate / 1e6:.0f} MB/s; dd oflag=direct {dd_text}; ratio {100 * rate / dd:.0f}%")
        for name, pages in (("dd_cached", "new pages (as the output is written)"),
                            ("dd_reused", "pages just freed (no first touch)")):
            path = os.path.join(work, name + ".txt")
            if os.path.exists(path):  # dd_reused.txt is missing in folders kept by older harnesses
                median, text = dd_median(path)
                print(f"  dd through the page cache into {pages}: {text}; ratio {100 * rate / median:.0f}%")


if __name__ == "__main__":
    main()
