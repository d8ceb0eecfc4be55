#!/usr/bin/python3
"""Learning-speed experiment: many diverse worlds in parallel vs one world, judged on the same held-out worlds."""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manyworlds_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARMS = {"parallel": "jobs/learning-speed/parallel.toml", "single": "jobs/learning-speed/single-world.toml"}


def parse_arguments():
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="Runs both arms (unless --reuse), then reports the wall-clock time and the experiences each "
               "needed to reach a target held-out return (the best baseline's, raised by --margin), and the "
               "single-world policy's held-out gap. Exit codes: 0 ok, 1 a run failed, 2 bad usage.")
    parser.add_argument("--exe", default=os.path.join(ROOT, "build", "manyworlds"), help="manyworlds executable")
    parser.add_argument("--ranks", type=int, default=os.cpu_count(), help="ranks for the parallel arm (default: cores)")
    parser.add_argument("--work", default="learning-speed", help="folder for the outputs and the report")
    parser.add_argument("--margin", type=float, default=0.05,
                        help="target = best baseline's held-out return x (1 + margin) (default 0.05)")
    parser.add_argument("--reuse", action="store_true", help="analyse existing outputs in --work, do not run")
    return parser.parse_args()


def run_arm(arguments, arm):
    output = os.path.join(arguments.work, f"{arm}.h5")
    command = [arguments.exe, "run", os.path.join(ROOT, ARMS[arm]), "-o", output, "--force", "-q"]
    if arm == "parallel" and arguments.ranks > 1:
        command = ["mpirun", "-n", str(arguments.ranks), "--oversubscribe"] + command
    environment = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                       OMPI_MCA_btl_vader_single_copy_mechanism="none")
    print("running:", " ".join(command), flush=True)
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    return output


def curve(path):
    """Held-out rounds with the training wall time (evaluation time excluded) and experiences used so far."""
    with manyworlds_data.open_run(path) as run:
        metrics = run.metrics()
        evaluation = run.evaluation()
        attrs = run.attrs()
        ranks = int(run.attrs("runtime")["ranks"])
    training_seconds = (metrics["runtime_iteration_seconds"] - metrics["runtime_evaluate_seconds"]).cumsum()
    experiences = metrics["decisions"].cumsum()
    summary = evaluation.groupby(["round", "iteration", "strategy"], sort=False)["expected_return"].mean().unstack()
    policy = summary["policy"].reset_index()
    iterations = policy["iteration"].to_numpy().astype(int)
    baselines = summary.drop(columns="policy").iloc[0]
    return {
        "job": attrs["job_name"],
        "ranks": ranks,
        "iterations": iterations.tolist(),
        "policy_return": policy["policy"].to_numpy().tolist(),
        "seconds": training_seconds.to_numpy()[iterations].tolist(),
        "experiences": experiences.to_numpy()[iterations].tolist(),
        "baselines": {name: float(value) for name, value in baselines.items()},
    }


def first_reaching(arm, target):
    for index, value in enumerate(arm["policy_return"]):
        if value >= target:
            return {"iteration": arm["iterations"][index] + 1, "seconds": arm["seconds"][index],
                    "experiences": arm["experiences"][index]}
    return None


def report(arguments, arms):
    best_name, best_value = max(arms["parallel"]["baselines"].items(), key=lambda item: item[1])
    target = best_value * (1 + arguments.margin)
    reached = {name: first_reaching(arm, target) for name, arm in arms.items()}
    final = {name: arm["policy_return"][-1] for name, arm in arms.items()}
    best = {name: max(arm["policy_return"]) for name, arm in arms.items()}
    lines = [
        "# Learning speed: parallel worlds vs one world",
        "",
        f"Target held-out return: {target:.2f} = best baseline ({best_name}, {best_value:.2f}) x {1 + arguments.margin:g}.",
        "Held-out return: mean expected return per held-out world (same held-out worlds for both arms).",
        "Time: training wall-clock seconds (held-out evaluation time excluded); experiences: agent decisions simulated.",
        "",
        "| arm | job | ranks | iterations | first reached target (iteration / s / experiences) | best held-out return | final held-out return |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, arm in arms.items():
        hit = reached[name]
        cell = (f"{hit['iteration']} / {hit['seconds']:.1f} s / {hit['experiences']:.3g}" if hit
                else f"not within {arm['iterations'][-1] + 1} iterations ({arm['seconds'][-1]:.1f} s, "
                     f"{arm['experiences'][-1]:.3g} experiences)")
        lines.append(f"| {name} | {arm['job']} | {arm['ranks']} | {arm['iterations'][-1] + 1} | {cell} | "
                     f"{best[name]:.2f} | {final[name]:.2f} |")
    lines.append("")
    if reached["parallel"] and reached["single"]:
        ratio = reached["single"]["seconds"] / reached["parallel"]["seconds"]
        lines.append(f"Wall-clock ratio single / parallel to reach the target: {ratio:.1f}x.")
    elif reached["parallel"]:
        bound = arms["single"]["seconds"][-1] / reached["parallel"]["seconds"]
        lines.append(f"The single-world arm never reached the target; ratio at least {bound:.1f}x "
                     f"(its whole run / the parallel arm's time to target).")
    else:
        lines.append("The parallel arm did not reach the target either: no ratio.")
    gap = final["parallel"] - final["single"]
    lines.append(f"Single-world policy's held-out gap (parallel final - single final): {gap:.2f} "
                 f"({gap / final['parallel'] * 100:.1f}% of the parallel policy's return).")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(arguments.work, "learning_speed.md"), "w") as out:
        out.write(text)
    with open(os.path.join(arguments.work, "learning_speed.json"), "w") as out:
        json.dump({"target": target, "arms": arms, "reached": reached}, out, indent=1)
    print(text)


def main():
    arguments = parse_arguments()
    os.makedirs(arguments.work, exist_ok=True)
    try:
        paths = {arm: (os.path.join(arguments.work, f"{arm}.h5") if arguments.reuse else run_arm(arguments, arm))
                 for arm in ARMS}
    except subprocess.CalledProcessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    arms = {name: curve(path) for name, path in paths.items()}
    report(arguments, arms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
