#!/usr/bin/python3
"""Report over manyworlds output files: PNG plots and a Markdown summary (report.md) in one output directory."""
import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manyworlds_data  # noqa: E402

EXIT_FAILED = 1
EXIT_REFUSED = 3  # bad usage exits 2 through argparse

# Per-run plots: file name suffix, title in report.md, one-line caption.
RUN_PLOTS = (
    ("learning_curves", "Learning curves",
     "Training return per episode; the policy's mean normalised score on the validation worlds per round (band: "
     "paired bootstrap 95% CI over worlds; star: the snapshot reported); every strategy's mean normalised score on "
     "the test worlds (bars: 95% CI). Score 0 = tuned constant bid, 100 = hindsight optimum."),
    ("learning_by_world_type", "Learning per world type",
     "Training return per episode by world type, and the policy's validation score by world type per round."),
    ("test_by_world_type", "Test scores per world type",
     "Test worlds: every strategy's mean normalised score per world type (bars: 95% CI) and its expected ROAS."),
    ("crisis_share", "Crisis share",
     "Share of crisis-typed experiences in the population (natural), in the batch, and as the sampling rule "
     "predicts (band: binomial ±2σ of a batch); dashed: simulator ground truth."),
    ("weights", "Importance weights",
     "Importance weights of the batch rows, last iteration and all iterations, by event type."),
    ("effective_sample_size", "Effective sample size",
     "Kish effective sample size (Σw)²/Σw² of each batch, against the batch size; β on the right axis."),
    ("throughput", "Throughput",
     "Decisions simulated per second (all ranks), and where each iteration's wall time went."),
)
SWEEP_PLOT = ("sweep_comparison", "Sweep comparison",
              "Across files: validation score per round, the reported policy's test score (95% CI), its paired "
              "difference to adaptive pacing (95% CI), and throughput.")
ABLATION_PLOT = ("sampling_ablation", "Sampling ablation",
                 "Files grouped by sampling mode (crisis_weight 1 = uniform): the reported policy's test score and "
                 "its crisis-parent conversion value captured, each seed's point with its 95% CI.")
PHASES = ("simulate", "classify", "sample", "write", "update", "evaluate")


@dataclass
class RunData:
    """Everything the report needs from one output file, read before anything is written."""
    path: str
    attrs: dict
    ranks: int
    robust_roas: float
    robust_share: float
    strategies: list
    metrics: pd.DataFrame
    world_stats: pd.DataFrame
    validation_rounds: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    test_summary: pd.DataFrame
    test_by_type: pd.DataFrame
    batches: pd.DataFrame
    label: str = ""
    slug: str = ""


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="report.py",
        description="Write PNG plots and a Markdown summary (DIR/report.md) of one or more manyworlds output "
                    "files. With several files (a sweep) a comparison across them is added.",
        epilog="Exit codes: 0 success, 1 failure while writing, 2 bad command line, 3 an input file refused "
               "(not a manyworlds output, truncated, or a newer format version). Nothing in DIR is touched "
               "unless every input file is readable.")
    parser.add_argument("files", nargs="+", metavar="RUN.h5", help="manyworlds output files")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="output directory (created if missing; report.md and PNGs in it are replaced)")
    arguments = parser.parse_args(argv)
    if os.path.exists(arguments.output) and not os.path.isdir(arguments.output):
        parser.error(f"-o {arguments.output}: exists and is not a directory")
    return arguments


def load_run(path):
    """Reads one file completely; raises ValueError if it is refused."""
    with manyworlds_data.open_run(path) as run:
        try:
            evaluation_attrs = run.attrs("evaluation")
            return RunData(
                path=path, attrs=run.attrs(), ranks=int(run.attrs("runtime")["ranks"]),
                robust_roas=float(evaluation_attrs["robust_roas"]),
                robust_share=float(evaluation_attrs["robust_share"]),
                strategies=list(evaluation_attrs["strategies"]), metrics=run.metrics(),
                world_stats=run.world_stats(), validation_rounds=run.validation_rounds(),
                validation=run.validation(), test=run.test(), test_summary=run.test_summary(),
                test_by_type=run.test_by_type(),
                batches=run.batches(observations=False, fields=("weight", "event_type")))
        except KeyError as error:
            raise ValueError(f"{path}: incomplete manyworlds output: missing {error}") from None


def name_runs(runs):
    """Gives each run a unique label (job, seed, then ranks and file name as needed) and file-name slug."""
    labels = [f"{run.attrs['job_name']} seed {run.attrs['seed']}" for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label}, {ranks_text(run.ranks)}" for label, run in zip(labels, runs)]
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({os.path.basename(run.path)})" for label, run in zip(labels, runs)]
    slugs = []
    for run, label in zip(runs, labels):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.splitext(os.path.basename(run.path))[0]) or "run"
        slug, n = stem, 1
        while slug in slugs:
            n += 1
            slug = f"{stem}-{n}"
        slugs.append(slug)
        run.label, run.slug = label, slug


def ranks_text(ranks):
    return f"{ranks} rank" if ranks == 1 else f"{ranks} ranks"


def colours(names):
    cycle = plt.get_cmap("tab10").colors
    return {name: cycle[k % len(cycle)] for k, name in enumerate(names)}


def save(figure, path):
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def episodes(run):
    return float(run.attrs["episodes_per_iteration"])


def plot_learning_curves(run, path):
    figure, (train, validation, test) = plt.subplots(1, 3, figsize=(17, 4.8))
    figure.suptitle(f"Learning curves — {run.label}")
    metrics = run.metrics
    train.plot(metrics["iteration"], metrics["mean_episode_return"], "o-", label="training worlds")
    train.set(title="Training: mean return per episode", xlabel="iteration", ylabel="return per episode (currency)")
    train.legend()
    plot_validation_curve(validation, run.validation_rounds, "C0", "policy")
    validation.set(title="Validation worlds: policy's mean normalised score", xlabel="iterations trained",
                   ylabel="normalised score (0 constant bid, 100 hindsight)")
    validation.legend(fontsize="small")
    score_bars(test, run.test_summary)
    test.set(title="Test worlds: mean normalised score (reported once)", ylabel="normalised score")
    integer_ticks(train, validation)
    figure.tight_layout()
    save(figure, path)


def plot_validation_curve(axis, rounds, colour, label):
    axis.fill_between(rounds["iteration"], rounds["score_low"], rounds["score_high"], color=colour, alpha=0.2)
    axis.plot(rounds["iteration"], rounds["score"], "o-", color=colour, label=label)
    selected = rounds[rounds["selected"]]
    axis.plot(selected["iteration"], selected["score"], "*", color="black", markersize=14,
              label="reported snapshot" if label == "policy" else None)


def score_bars(axis, summary):
    """Mean test score per strategy with its 95% CI as error bars."""
    colour = colours(list(summary["strategy"]))
    x = np.arange(len(summary))
    errors = [summary["mean_score"] - summary["mean_score_low"], summary["mean_score_high"] - summary["mean_score"]]
    axis.bar(x, summary["mean_score"], yerr=errors, capsize=4, color=[colour[name] for name in summary["strategy"]])
    axis.set_xticks(x, summary["strategy"], rotation=30, ha="right", fontsize="small")
    axis.axhline(0, color="grey", linewidth=0.8)


def integer_ticks(*axes):
    for axis in axes:
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_learning_by_world_type(run, path):
    figure, (train, validation) = plt.subplots(1, 2, figsize=(15, 4.8))
    figure.suptitle(f"Learning per world type — {run.label}")
    types = run.attrs["world_type_names"]
    colour = colours(types)
    training = run.world_stats.groupby(["world_type_name", "iteration"])["reward"].mean() / episodes(run)
    counts = run.world_stats[run.world_stats["iteration"] == 0]["world_type_name"].value_counts()
    for name in types:
        if name in counts:
            rows = training.loc[name]
            train.plot(rows.index, rows.to_numpy(), "o-", color=colour[name], label=f"{name} ({counts[name]})")
    train.set(title="Training worlds: mean return per episode", xlabel="iteration",
              ylabel="return per episode (currency)")
    train.legend(title="world type (worlds)", fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    by_type = run.validation.groupby(["world_type_name", "iteration"])["score"].mean()
    validation_counts = run.validation[run.validation["round"] == 0]["world_type_name"].value_counts()
    for name in types:
        if name in validation_counts:
            rows = by_type.loc[name]
            validation.plot(rows.index, rows.to_numpy(), "o-", color=colour[name],
                            label=f"{name} ({validation_counts[name]})")
    validation.set(title="Validation worlds: policy's mean normalised score", xlabel="iterations trained",
                   ylabel="normalised score")
    validation.legend(title="world type (worlds)", fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    integer_ticks(train, validation)
    figure.tight_layout()
    save(figure, path)


def plot_crisis_share(run, path):
    metrics = run.metrics
    figure, axis = plt.subplots(figsize=(9, 5))
    x = metrics["iteration"]
    predicted = metrics["predicted_crisis_share"]
    sigma = np.sqrt(predicted * (1 - predicted) / float(run.attrs["batch_size"]))
    axis.fill_between(x, 100 * (predicted - 2 * sigma), 100 * (predicted + 2 * sigma), color="C2", alpha=0.2)
    axis.plot(x, 100 * metrics["natural_crisis_share"], "o-", color="C0", label="natural (all experiences)")
    axis.plot(x, 100 * metrics["batch_crisis_share"], "s-", color="C1", label="in the batch")
    axis.plot(x, 100 * predicted, "^-", color="C2", label="predicted by the sampling rule")
    axis.plot(x, 100 * metrics["natural_crisis_truth_share"], "--", color="C0", label="natural, ground truth")
    axis.plot(x, 100 * metrics["batch_crisis_truth_share"], "--", color="C1", label="in the batch, ground truth")
    axis.set(title=f"Crisis share per iteration — {run.label}\n(crisis weight {run.attrs['crisis_weight']:g}, "
                   f"α {run.attrs['alpha']:g}, {run.attrs['sampling_mode']})",
             xlabel="iteration", ylabel="crisis experiences (%)", ylim=(0, None))
    axis.legend(fontsize="small", loc="lower right")
    integer_ticks(axis)
    save(figure, path)


def plot_weights(run, path):
    batches = run.batches
    last = batches["iteration"].max()
    figure, (final, every) = plt.subplots(1, 2, figsize=(14, 4.6))
    figure.suptitle(f"Importance weights — {run.label}")
    bins = np.histogram_bin_edges(batches["weight"], bins=60)
    beta = run.metrics["beta"].iloc[-1]
    weight_histogram(final, batches[batches["iteration"] == last], bins, f"last iteration ({last}, β = {beta:.2f})")
    weight_histogram(every, batches, bins, f"all {last + 1} iterations")
    save(figure, path)


def weight_histogram(axis, rows, bins, title):
    kinds = manyworlds_data.EVENT_TYPE_NAMES
    stacked = [rows.loc[rows["event_type_name"] == kind, "weight"] for kind in kinds]
    axis.hist(stacked, bins=bins, stacked=True, label=[f"{kind} events" for kind in kinds], color=["C0", "C3"])
    axis.axvline(rows["weight"].mean(), color="black", linestyle=":", label=f"mean {rows['weight'].mean():.3f}")
    axis.set(title=title, xlabel="importance weight (1)", ylabel="batch rows")
    axis.legend(fontsize="small")


def plot_effective_sample_size(run, path):
    metrics = run.metrics
    batch_size = int(run.attrs["batch_size"])
    figure, axis = plt.subplots(figsize=(9, 5))
    axis.plot(metrics["iteration"], metrics["effective_sample_size"], "o-", label="effective sample size")
    axis.axhline(batch_size, color="grey", linestyle="--", label=f"batch size B = {batch_size}")
    axis.set(title=f"Effective sample size per iteration — {run.label}", xlabel="iteration",
             ylabel="effective sample size (rows)", ylim=(0, batch_size * 1.08))
    beta = axis.twinx()
    beta.plot(metrics["iteration"], metrics["beta"], ":", color="C2", label="β (weight exponent)")
    beta.set(ylabel="β (1)", ylim=(0, 1.08))
    lines = axis.get_legend_handles_labels()
    more = beta.get_legend_handles_labels()
    axis.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", fontsize="small")
    integer_ticks(axis)
    save(figure, path)


def plot_throughput(run, path):
    metrics = run.metrics
    figure, (rate, split) = plt.subplots(1, 2, figsize=(15, 4.8))
    figure.suptitle(f"Throughput — {run.label}, {ranks_text(run.ranks)}")
    x = metrics["iteration"]
    rate.plot(x, metrics["runtime_decisions_per_second"] / 1e3, "o-")
    rate.set(title="Simulation rate", xlabel="iteration", ylabel="decisions per second (thousands, 1/s)",
             ylim=(0, None))
    bottom = np.zeros(len(metrics))
    for phase in PHASES + ("other",):
        seconds = phase_seconds(metrics, phase)
        split.bar(x, seconds, bottom=bottom, label=phase)
        bottom += seconds.to_numpy()
    split.set(title="Wall time per iteration by phase", xlabel="iteration", ylabel="seconds")
    split.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    integer_ticks(rate, split)
    save(figure, path)


def phase_seconds(metrics, phase):
    if phase != "other":
        return metrics[f"runtime_{phase}_seconds"]
    accounted = sum(metrics[f"runtime_{name}_seconds"] for name in PHASES)
    return (metrics["runtime_iteration_seconds"] - accounted).clip(lower=0)


def plot_test_by_world_type(run, path):
    table = run.test.groupby(["world_type_name", "strategy"], sort=False).agg(
        value=("expected_value", "sum"), spend=("expected_spend", "sum"), worlds=("index", "nunique"))
    table["roas"] = table["value"] / table["spend"].where(table["spend"] > 0)
    scores = run.test_by_type.set_index(["world_type_name", "strategy"])
    types = [name for name in run.attrs["world_type_names"] if name in table.index.get_level_values(0)]
    figure, (score, roas) = plt.subplots(1, 2, figsize=(17, 5))
    figure.suptitle(f"Test worlds per world type — {run.label}")
    grouped_bars(score, scores["score"], types, run.strategies,
                 errors=(scores["score"] - scores["score_low"], scores["score_high"] - scores["score"]))
    score.set(title="Mean normalised score (0 constant bid, 100 hindsight)", ylabel="normalised score")
    grouped_bars(roas, table["roas"], types, run.strategies)
    roas.axhline(run.robust_roas, color="grey", linestyle="--", label=f"robust_roas {run.robust_roas:g}")
    roas.set(title="Expected ROAS (Σ expected value / Σ expected spend)", ylabel="ROAS (1)")
    counts = table["worlds"].groupby(level=0).first()
    for axis in (score, roas):
        axis.set_xticks(np.arange(len(types)), [f"{name} ({counts[name]})" for name in types], rotation=30,
                        ha="right", fontsize="small")
        axis.set_xlabel("world type (test worlds)")
    figure.tight_layout()
    figure.legend(*roas.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=len(run.strategies) + 1, title="strategy")
    save(figure, path)


def grouped_bars(axis, values, groups, series, errors=None):
    """Bars of values indexed by (group, series): one cluster per group, one colour per series; errors: a pair
    (below, above) indexed like values, drawn as error bars."""
    width = 0.8 / len(series)
    colour = colours(series)
    for k, name in enumerate(series):
        heights = [values.get((group, name), np.nan) for group in groups]
        yerr = None if errors is None else [[part.get((group, name), np.nan) for group in groups] for part in errors]
        axis.bar(np.arange(len(groups)) + (k - (len(series) - 1) / 2) * width, heights, width, label=name,
                 color=colour[name], yerr=yerr, capsize=2 if errors is not None else 0)


def plot_sweep(runs, path):
    figure, axes = plt.subplots(2, 2, figsize=(16, 10))
    figure.suptitle(f"Sweep comparison — {len(runs)} files")
    labels = [run.label for run in runs]
    colour = colours(labels)
    curves, score, versus, rate = axes.flat
    for run in runs:
        plot_validation_curve(curves, run.validation_rounds, colour[run.label], run.label)
    curves.set(title="Validation: policy's mean normalised score", xlabel="iterations trained",
               ylabel="normalised score")
    curves.legend(fontsize="small")
    integer_ticks(curves)
    policy = [run.test_summary.set_index("strategy").loc["policy"] for run in runs]
    interval_per_run(score, labels, [(p["mean_score"], p["mean_score_low"], p["mean_score_high"]) for p in policy],
                     colour)
    score.set(title="Test: reported policy's mean normalised score (95% CI)", ylabel="normalised score")
    interval_per_run(versus, labels, [(p["difference_to_comparison"], p["difference_to_comparison_low"],
                                       p["difference_to_comparison_high"]) for p in policy], colour)
    versus.axhline(0, color="grey", linewidth=0.8)
    versus.set(title="Test: policy − adaptive pacing, paired (95% CI)", ylabel="score difference")
    bar_per_run(rate, labels, [run.metrics["runtime_decisions_per_second"].mean() / 1e3 for run in runs], colour)
    rate.set(title="Throughput (mean over iterations)", ylabel="decisions per second (thousands, 1/s)")
    figure.tight_layout()
    save(figure, path)


def interval_per_run(axis, labels, intervals, colour):
    x = np.arange(len(labels))
    for k, (mean, low, high) in enumerate(intervals):
        axis.errorbar(x[k], mean, yerr=[[mean - low], [high - mean]], fmt="o", capsize=5, color=colour[labels[k]])
    axis.set_xticks(x, labels, rotation=20, ha="right", fontsize="small")


def bar_per_run(axis, labels, values, colour):
    axis.bar(np.arange(len(labels)), values, color=[colour[label] for label in labels])
    axis.set_xticks(np.arange(len(labels)), labels, rotation=20, ha="right", fontsize="small")


def sampling_arm(run):
    """The sampling arm of a run: its mode, or "uniform" when crisis_weight is 1."""
    return "uniform" if float(run.attrs["crisis_weight"]) == 1.0 else str(run.attrs["sampling_mode"])


def crisis_value_captured(run):
    """Mean crisis-parent conversion value per test world of the reported policy, with a bootstrap 95% CI."""
    rows = run.test[run.test["strategy"] == "policy"]["crisis_value"].to_numpy()
    generator = np.random.default_rng(int(run.attrs["seed"]))
    means = np.sort([generator.choice(rows, rows.size).mean() for _ in range(1000)])
    return rows.mean(), means[24], means[974]


def plot_ablation(runs, path):
    arms = sorted({sampling_arm(run) for run in runs})
    figure, (score, crisis) = plt.subplots(1, 2, figsize=(15, 5))
    figure.suptitle("Sampling ablation: the reported policy on the test worlds, one point per file")
    colour = colours(arms)
    for k, arm in enumerate(arms):
        members = [run for run in runs if sampling_arm(run) == arm]
        for j, run in enumerate(members):
            x = k + (j - (len(members) - 1) / 2) * 0.08
            p = run.test_summary.set_index("strategy").loc["policy"]
            score.errorbar(x, p["mean_score"], yerr=[[p["mean_score"] - p["mean_score_low"]],
                                                     [p["mean_score_high"] - p["mean_score"]]],
                           fmt="o", capsize=4, color=colour[arm])
            mean, low, high = crisis_value_captured(run)
            crisis.errorbar(x, mean, yerr=[[mean - low], [high - mean]], fmt="o", capsize=4, color=colour[arm])
    for axis in (score, crisis):
        axis.set_xticks(np.arange(len(arms)), arms)
        axis.set_xlabel("sampling arm")
    score.set(title="Mean normalised score (95% CI)", ylabel="normalised score")
    crisis.set(title="Crisis-parent conversion value per test world (95% CI)", ylabel="currency")
    save(figure, path)


def key_numbers(run):
    """The report's summary rows for one run: (quantity, formatted value)."""
    metrics, attrs = run.metrics, run.attrs
    batch_size = int(attrs["batch_size"])
    ess = metrics["effective_sample_size"].mean()
    summary = run.test_summary.set_index("strategy")
    selected = run.validation_rounds[run.validation_rounds["selected"]]
    rows = [
        ("file", f"`{run.path}`"),
        ("job, seed", f"{attrs['job_name']}, {attrs['seed']}"),
        ("iterations completed (planned)", f"{len(metrics)} ({attrs['iterations_planned']})"),
        ("worlds: training, validation, test", f"{attrs['worlds']}, {attrs['validation_worlds']}, "
                                               f"{attrs['test_worlds']}"),
        ("ranks", str(run.ranks)),
        ("batch size, sampling mode", f"{batch_size}, {attrs['sampling_mode']}"),
        ("reported snapshot (iterations trained; validation score)",
         ", ".join(f"{int(r.iteration)}; {r.score:.1f}" for r in selected.itertuples()) or "none"),
    ]
    rows += [(f"test score: {name}", interval_text(summary.loc[name], "mean_score")) for name in run.strategies]
    rows += [(f"test: {name} − adaptive_pacing", interval_text(summary.loc[name], "difference_to_comparison"))
             for name in ("policy", "final_policy")]
    rows += [
        ("mean effective sample size (of batch size)", f"{ess:.0f} ({ess / batch_size:.0%})"),
        ("final β (weights unbiased only at β = 1)", f"{metrics['beta'].iloc[-1]:.2f}"),
        ("crisis share natural / batch / predicted (mean)",
         " / ".join(f"{metrics[c].mean():.1%}" for c in
                    ("natural_crisis_share", "batch_crisis_share", "predicted_crisis_share"))),
        ("throughput (mean decisions per second)", f"{metrics['runtime_decisions_per_second'].mean():,.0f}"),
        ("wall time of all iterations (s)", f"{metrics['runtime_iteration_seconds'].sum():.1f}"),
    ]
    return rows


def interval_text(row, name):
    return f"{row[name]:.1f} [{row[name + '_low']:.1f}, {row[name + '_high']:.1f}]"


def markdown(runs, plots):
    """report.md: key numbers of every run, then every plot with its caption."""
    table = [key_numbers(run) for run in runs]
    lines = ["# manyworlds report", "",
             f"{len(runs)} output file{'s' if len(runs) > 1 else ''}; iterations are numbered from 0 as in the files.",
             "", "## Key numbers", "",
             "| quantity | " + " | ".join(run.label for run in runs) + " |",
             "|---|" + "---|" * len(runs)]
    lines += [f"| {row[0][0]} | " + " | ".join(numbers[k][1] for numbers in table) + " |"
              for k, row in enumerate(zip(*table))]
    for run in runs:
        lines += ["", f"## {run.label}", "", f"`{run.path}`"]
        lines += plot_section(plots, run.slug)
    if len(runs) > 1:
        lines += ["", "## Across files"] + plot_section(plots, None)
    return "\n".join(lines) + "\n"


def plot_section(plots, slug):
    lines = []
    for file, owner, title, caption in plots:
        if owner == slug:
            lines += ["", f"### {title}", "", caption, "", f"![{title}]({file})"]
    return lines


def render(runs, directory):
    """Writes every plot and report.md into directory; returns the plot files written."""
    plots = []
    drawers = dict(learning_curves=plot_learning_curves, learning_by_world_type=plot_learning_by_world_type,
                   test_by_world_type=plot_test_by_world_type, crisis_share=plot_crisis_share, weights=plot_weights,
                   effective_sample_size=plot_effective_sample_size, throughput=plot_throughput)
    for run in runs:
        for name, title, caption in RUN_PLOTS:
            file = f"{run.slug}_{name}.png"
            drawers[name](run, os.path.join(directory, file))
            plots.append((file, run.slug, title, caption))
    if len(runs) > 1:
        name, title, caption = SWEEP_PLOT
        plot_sweep(runs, os.path.join(directory, f"{name}.png"))
        plots.append((f"{name}.png", None, title, caption))
    if len({sampling_arm(run) for run in runs}) > 1:
        name, title, caption = ABLATION_PLOT
        plot_ablation(runs, os.path.join(directory, f"{name}.png"))
        plots.append((f"{name}.png", None, title, caption))
    with open(os.path.join(directory, "report.md"), "w") as out:
        out.write(markdown(runs, plots))
    return [plot[0] for plot in plots]


def publish(staging, output):
    """Moves the finished report into place: the whole directory if new, else file by file (each atomic)."""
    if not os.path.exists(output):
        os.rename(staging, output)
        return
    for name in sorted(os.listdir(staging)):
        os.replace(os.path.join(staging, name), os.path.join(output, name))
    os.rmdir(staging)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        runs = [load_run(path) for path in arguments.files]
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    name_runs(runs)
    output = os.path.abspath(arguments.output)
    staging = None
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.", dir=os.path.dirname(output))
        os.chmod(staging, 0o777 & ~current_umask())
        written = render(runs, staging)
        publish(staging, output)
    except OSError as error:
        print(f"error: writing the report to {arguments.output}: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if staging and os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    print(f"{os.path.join(arguments.output, 'report.md')}: {len(written)} plots from {len(runs)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
