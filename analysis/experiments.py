#!/usr/bin/python3
"""Paired experiments on the default job: sampling modes against uniform sampling, parallel worlds against one world.

Every arm is the default job (or --job) with a few keys changed, run for the same iterations on the same seeds; all
arms of a seed share the validation and test worlds (they are drawn from the run seed, not from the training
worlds). Each arm's reported policy is scored on the test worlds against the reference arm's tuned constant bid and
hindsight optimum, so every arm is on one scale; differences are paired over test worlds within a seed and averaged
over seeds, with a bootstrap 95% CI that resamples worlds within each seed.

    /usr/bin/python3 analysis/experiments.py sampling --work ablation/     # docs/sampling.md
    /usr/bin/python3 analysis/experiments.py speed --work speed/           # docs/learning.md
"""
import argparse
import os
import re
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manyworlds_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = {
    "sampling": {
        "reference": "uniform",
        "arms": {
            "uniform": {"sampling": {"advantage_priority": "false", "crisis_weight": "1.0"}},
            "advantage": {},
            "crisis": {"sampling": {"advantage_priority": "false", "crisis_weight": "5.0"}},
            "without_replacement": {"sampling": {"mode": '"without_replacement"'}},
        },
    },
    "speed": {
        "reference": "parallel",
        "arms": {
            "parallel": {},
            "single": {"run": {"worlds": "1", "episodes_per_iteration": "{worlds}"}},
        },
    },
}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Exit codes: 0 ok, 1 a run failed, "
                                     "2 bad usage. Runs are kept in --work and reused unless --rerun.")
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--job", default=os.path.join(ROOT, "jobs", "default.toml"), help="base job (default.toml)")
    parser.add_argument("--exe", default=os.path.join(ROOT, "build", "manyworlds"), help="manyworlds executable")
    parser.add_argument("--work", required=True, help="folder for the job variants, outputs and logs")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated run seeds (default 1,2,3)")
    parser.add_argument("--iterations", type=int, default=20, help="iterations of every arm (default 20)")
    parser.add_argument("--test-worlds", type=int, default=256, help="test worlds of every arm (default 256)")
    parser.add_argument("--ranks", type=int, default=1, help="MPI ranks per run (default 1)")
    parser.add_argument("--target", type=float, default=78.0,
                        help="validation score for time-to-target (default 78: adaptive pacing's test score)")
    parser.add_argument("--rerun", action="store_true", help="run again even where an output exists")
    return parser.parse_args()


def edited_job(text, changes, worlds, job_dir):
    """The job text with `changes` ({section: {key: value}}) applied and the priors path made absolute."""
    text = re.sub(r'^(priors\s*=\s*")([^"/][^"]*)"', lambda m: f'{m.group(1)}{os.path.join(job_dir, m.group(2))}"',
                  text, flags=re.M)
    for section, keys in changes.items():
        for key, value in keys.items():
            value = value.format(worlds=worlds)
            body = re.search(rf"^\[{section}\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
            if body is None:
                raise ValueError(f"section [{section}] not in the job")
            block = body.group(1)
            line = rf"^{key}\s*=.*$"
            block = re.sub(line, f"{key} = {value}", block, flags=re.M) if re.search(line, block, flags=re.M) \
                else f"{key} = {value}\n" + block
            text = text[:body.start(1)] + block + text[body.end(1):]
    return text


def run_arm(arguments, name, changes, seed, text, worlds):
    output = os.path.join(arguments.work, f"{name}-s{seed}.h5")
    if os.path.exists(output) and not arguments.rerun:
        return output
    job = os.path.join(arguments.work, f"{name}.toml")
    changes = {**changes, "evaluation": {**changes.get("evaluation", {}), "test_worlds": str(arguments.test_worlds)}}
    with open(job, "w") as handle:
        handle.write(edited_job(text, changes, worlds, os.path.dirname(os.path.abspath(arguments.job))))
    command = ["mpirun", "-n", str(arguments.ranks), "--oversubscribe", arguments.exe, "run", job, "--seed", str(seed),
               "--iterations", str(arguments.iterations), "-o", output, "--force", "-q"]
    print(f"{name} seed {seed}: {' '.join(command)}", flush=True)
    with open(os.path.join(arguments.work, f"{name}-s{seed}.log"), "w") as log:
        if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            raise RuntimeError(f"{name} seed {seed} failed: see {log.name}")
    return output


def read_arm(path):
    """Test returns of the reported policy and the references, the validation curve, and the cost of getting there."""
    with h5py.File(path, "r") as handle:
        evaluation = handle["evaluation"]
        names = [manyworlds_data._plain(s) for s in evaluation.attrs["strategies"]]
        test = evaluation["test"]
        expected = test["expected_value"][:] - test["expected_spend"][:]  # the return the scores are made of
        returns = {name: expected[k] for k, name in enumerate(names)}
        crisis = test["crisis_value"][names.index("policy")]
        validation = evaluation["validation"]
        seconds = np.cumsum(handle["runtime/iteration_seconds"][:])
        decisions = np.cumsum(handle["metrics/decisions"][:])
        curve = [(int(it), float(score)) for it, score in zip(validation["iteration"][:], validation["score"][:])]
        return {"returns": returns, "crisis": crisis, "curve": curve, "seconds": seconds, "decisions": decisions,
                "floor": float(evaluation.attrs["score_floor"])}


def score(arm, reference):
    r = reference["returns"]
    return manyworlds_data.normalised_score(arm["returns"]["policy"], r["constant_bid"], r["hindsight"],
                                            reference["floor"])


def paired_interval(differences_by_seed, samples=4000, seed=12):
    """Mean over seeds of each seed's mean paired difference, with a 95% CI resampling worlds within seeds."""
    generator = np.random.default_rng(seed)
    means = np.zeros(samples)
    for differences in differences_by_seed:
        picks = generator.integers(0, len(differences), size=(samples, len(differences)))
        means += differences[picks].mean(axis=1)
    means /= len(differences_by_seed)
    estimate = np.mean([d.mean() for d in differences_by_seed])
    return estimate, np.percentile(means, 2.5), np.percentile(means, 97.5)


def time_to_target(arm, target):
    for iteration, value in arm["curve"]:
        if value >= target:
            at = max(iteration - 1, 0)
            return iteration, arm["seconds"][at] if iteration else 0.0, arm["decisions"][at] if iteration else 0.0
    return None


def report(arguments, experiment, results, seeds):
    reference = experiment["reference"]
    print(f"\n{arguments.experiment}: {len(seeds)} seeds ({', '.join(map(str, seeds))}), {arguments.iterations} "
          f"iterations, {arguments.test_worlds} test worlds, reference arm '{reference}'")
    print("| arm | test score | vs reference [95% CI] | crisis value vs reference [95% CI] | to validation score "
          f"{arguments.target:g}: iteration / s / decisions (per seed) |")
    print("|---|---|---|---|---|")
    for name in experiment["arms"]:
        scores = [score(results[name][s], results[reference][s]) for s in seeds]
        differences = [scores[k] - score(results[reference][s], results[reference][s]) for k, s in enumerate(seeds)]
        crisis = [results[name][s]["crisis"] - results[reference][s]["crisis"] for s in seeds]
        d, dl, dh = paired_interval(differences)
        c, cl, ch = paired_interval(crisis)
        reached = [time_to_target(results[name][s], arguments.target) for s in seeds]
        speed = "; ".join("not reached" if r is None else f"{r[0]} / {r[1]:.0f} s / {r[2]:.3g}" for r in reached)
        print(f"| {name} | {np.mean([x.mean() for x in scores]):.1f} | {d:+.1f} [{dl:+.1f}, {dh:+.1f}] | "
              f"{c:+.2f} [{cl:+.2f}, {ch:+.2f}] | {speed} |")


def main():
    arguments = parse_arguments()
    experiment = EXPERIMENTS[arguments.experiment]
    seeds = [int(s) for s in arguments.seeds.split(",")]
    os.makedirs(arguments.work, exist_ok=True)
    with open(arguments.job) as handle:
        text = handle.read()
    worlds = int(re.search(r"^worlds\s*=\s*(\d+)", text, flags=re.M).group(1))
    results = {}
    try:
        for name, changes in experiment["arms"].items():
            results[name] = {s: read_arm(run_arm(arguments, name, changes, s, text, worlds)) for s in seeds}
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    report(arguments, experiment, results, seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
