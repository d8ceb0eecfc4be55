#!/usr/bin/python3
"""pytest of analysis/ (loader and report.py) on real manyworlds output files, listed in MANYWORLDS_OUTPUTS."""
import math
import os
import re
import shutil
import subprocess
import sys

import h5py
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

ANALYSIS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ANALYSIS)
import manyworlds_data  # noqa: E402

REPORT = os.path.join(ANALYSIS, "report.py")
PROMISED_RUN_PLOTS = ("learning_curves", "learning_by_world_type", "test_by_world_type", "crisis_share", "weights",
                      "effective_sample_size", "throughput")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def outputs(tmp_path_factory):
    """Real output files: MANYWORLDS_OUTPUTS (colon-separated), else a 2-iteration quickstart run made here."""
    listed = [path for path in os.environ.get("MANYWORLDS_OUTPUTS", "").split(":") if path]
    if listed:
        missing = [path for path in listed if not os.path.isfile(path)]
        assert not missing, f"MANYWORLDS_OUTPUTS lists missing files: {missing}"
        return listed
    executable, source = os.environ.get("MANYWORLDS_EXE"), os.environ.get("MANYWORLDS_SOURCE_DIR")
    if not executable or not source:
        pytest.skip("set MANYWORLDS_OUTPUTS, or MANYWORLDS_EXE and MANYWORLDS_SOURCE_DIR to make one")
    path = str(tmp_path_factory.mktemp("run") / "tmp.h5")
    subprocess.run([executable, "run", os.path.join(source, "jobs", "quickstart.toml"), "--iterations", "2",
                    "-o", path, "-q"], check=True)
    return [path]


@pytest.fixture(scope="session")
def output(outputs):
    return outputs[0]


def run_report(*arguments):
    return subprocess.run([sys.executable, REPORT, *map(str, arguments)], capture_output=True, text=True)


def snapshot(directory):
    """Every file under directory with its bytes and modification time (None if it does not exist)."""
    if not os.path.exists(directory):
        return None
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as data:
                found[os.path.relpath(path, directory)] = (data.read(), os.stat(path).st_mtime_ns)
    return found


def assert_valid_png(path):
    with open(path, "rb") as data:
        assert data.read(8) == PNG_SIGNATURE, f"{path} is not a PNG"
    image = matplotlib.image.imread(path)
    assert image.shape[0] >= 300 and image.shape[1] >= 300, f"{path}: {image.shape}"
    assert image.std() > 0, f"{path} is blank"


# ---- loader -------------------------------------------------------------------------------------------------


def test_frames_have_the_shapes_of_the_file(outputs):
    for path in outputs:
        with manyworlds_data.open_run(path) as run, h5py.File(path, "r") as raw:
            iterations, batch_size = raw["batches/weight"].shape
            assert batch_size == int(raw.attrs["batch_size"])
            assert run.iterations() == iterations == raw["metrics/episodes"].shape[0]
            metrics = run.metrics()
            assert len(metrics) == iterations
            assert set(raw["metrics"]) | {f"runtime_{name}" for name in raw["runtime"]} | {"iteration"} == set(metrics)
            batches = run.batches()
            assert len(batches) == iterations * batch_size
            assert (batches.groupby("iteration").size() == batch_size).all()
            observation_size = int(raw["policy"].attrs["observation_size"])
            assert {f"obs_{k}" for k in range(observation_size)} <= set(batches)
            assert {f"next_obs_{k}" for k in range(observation_size)} <= set(batches)
            last = run.batches(iteration=-1, observations=False)
            assert len(last) == batch_size and (last["iteration"] == iterations - 1).all()
            assert not any(name.startswith(("obs_", "next_obs_")) for name in last)
            np.testing.assert_array_equal(last["weight"], raw["batches/weight"][-1])
            assert len(run.worlds()) == int(raw.attrs["worlds"])
            assert len(run.worlds("validation")) == int(raw.attrs["validation_worlds"])
            assert len(run.worlds("test")) == int(raw.attrs["test_worlds"])
            assert len(run.competitors()) == raw["worlds/parameters/competitors/world"].shape[0]
            assert len(run.world_stats()) == iterations * int(raw.attrs["worlds"])
            assert len(run.validation()) == np.prod(raw["evaluation/validation/return"].shape)
            assert len(run.validation_rounds()) == raw["evaluation/validation/iteration"].shape[0]
            assert len(run.test()) == np.prod(raw["evaluation/test/score"].shape)
            assert len(run.test_summary()) == len(raw["evaluation"].attrs["strategies"])
            assert len(run.test_by_type()) == np.prod(raw["evaluation/test/mean_score_by_type"].shape)
            np.testing.assert_array_equal(run.policy(), raw["policy/parameters"][:])
            assert run.policy_history().shape == (iterations, raw["policy/parameters"].shape[0])


def test_attributes_are_plain_python(output):
    with manyworlds_data.open_run(output) as run:
        attrs = run.attrs()
        assert attrs["format"] == "manyworlds" and attrs["format_version"] == manyworlds_data.FORMAT_VERSION
        assert isinstance(attrs["seed"], int) and isinstance(attrs["segment_names"], list)
        assert "crisis_parent" in attrs["segment_names"]
        assert run.attrs("runtime")["ranks"] >= 1


def test_codes_are_decoded_with_the_files_names(output):
    with manyworlds_data.open_run(output) as run, h5py.File(output, "r") as raw:
        attrs = run.attrs()
        worlds = run.worlds()
        types = np.array(attrs["world_type_names"], dtype=object)
        np.testing.assert_array_equal(worlds["world"], raw["worlds/parameters/id"][:])
        np.testing.assert_array_equal(worlds["world_type_name"], types[raw["worlds/parameters/world_type"][:]])
        shares = raw["worlds/parameters/segment_share"][:]
        for k, segment in enumerate(attrs["segment_names"]):
            np.testing.assert_array_equal(worlds[f"segment_share_{segment}"], shares[:, k])
        for which, group in (("validation", "validation_worlds"), ("test", "test_worlds")):
            evaluation_worlds = run.worlds(which)
            np.testing.assert_array_equal(evaluation_worlds["world_type_name"],
                                          types[raw[f"{group}/parameters/world_type"][:]])
        batch = run.batches(iteration=0)
        for code, names in manyworlds_data.BATCH_CODES.items():
            expected = np.array(attrs[names], dtype=object)[raw[f"batches/{code}"][0]]
            np.testing.assert_array_equal(batch[f"{code}_name"], expected)
        np.testing.assert_array_equal(batch["event_type_name"] == "crisis", raw["batches/event_type"][0] == 1)
        tags = raw["batches/tags"][0]
        for bit, tag in enumerate(attrs["tag_names"]):
            np.testing.assert_array_equal(batch[f"tag_{tag}"], (tags >> bit) & 1 == 1)
        np.testing.assert_array_equal(batch["crisis_truth"], raw["batches/crisis_truth"][0] == 1)
        competitors = run.competitors()
        strategies = np.array(attrs["strategy_names"], dtype=object)
        np.testing.assert_array_equal(competitors["strategy_name"],
                                      strategies[raw["worlds/parameters/competitors/strategy"][:]])
        test = run.test()
        assert list(dict.fromkeys(test["strategy"])) == list(raw["evaluation"].attrs["strategies"])


def test_weighted_batch_mean_of_reward_is_the_files_estimate(output):
    with manyworlds_data.open_run(output) as run:
        batches = run.batches(observations=False)
        metrics = run.metrics().set_index("iteration")
        batch_size = run.attrs()["batch_size"]
    for iteration, rows in batches.groupby("iteration"):
        # The writer's formula, (1/B) * the exact sum of weight * reward rounded once (ExactSum over the
        # ranks' rows; math.fsum is also correctly rounded): same bits.
        products = rows["weight"].to_numpy() * rows["reward"].to_numpy().astype(np.float64)
        estimate = math.fsum(products) / batch_size
        assert estimate == metrics.loc[iteration, "weighted_reward_mean"]
        crisis = (rows["event_type_name"] == "crisis").mean()
        assert crisis == metrics.loc[iteration, "batch_crisis_share"]
        weights = rows["weight"].to_numpy()
        ess = weights.sum() ** 2 / (weights ** 2).sum()
        assert ess == pytest.approx(metrics.loc[iteration, "effective_sample_size"], rel=1e-12)


def test_world_stats_add_up_to_the_metrics(output):
    with manyworlds_data.open_run(output) as run:
        totals = run.world_stats().groupby("iteration")[["decisions", "clicks", "spend"]].sum()
        metrics = run.metrics().set_index("iteration")
    np.testing.assert_array_equal(totals["decisions"], metrics["decisions"])
    np.testing.assert_array_equal(totals["clicks"], metrics["clicks"])
    np.testing.assert_allclose(totals["spend"], metrics["spend"], rtol=1e-9)


def test_test_results_reproduce_the_files_summaries(output):
    with manyworlds_data.open_run(output) as run:
        test = run.test()
        summary = run.test_summary().set_index("strategy")
        robust_roas = run.attrs("evaluation")["robust_roas"]
        floor = run.attrs("evaluation")["score_floor"]
    spent = test["expected_spend"] > 0
    assert (test["success"] == (spent & (test["expected_roas"] >= robust_roas))).all()
    by_strategy = test.groupby("strategy", sort=False)
    np.testing.assert_array_equal(by_strategy["success"].mean(), summary["success_share"])
    np.testing.assert_allclose(by_strategy["expected_return"].mean(), summary["mean_return"], rtol=1e-12)
    np.testing.assert_allclose(by_strategy["score"].mean(), summary["mean_score"], rtol=1e-12)
    assert (summary["mean_score_low"] <= summary["mean_score"]).all()
    assert (summary["mean_score"] <= summary["mean_score_high"]).all()
    # The score is 100 (R - R_constant) / max(R_hindsight - R_constant, floor |R_hindsight|).
    returns = test.pivot(index="index", columns="strategy", values="expected_return")
    scores = test.pivot(index="index", columns="strategy", values="score")
    expected = manyworlds_data.normalised_score(returns["policy"], returns["constant_bid"], returns["hindsight"], floor)
    np.testing.assert_allclose(scores["policy"], expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(scores["constant_bid"], 0.0, atol=1e-12)


def test_validation_scores_reproduce_the_rounds(output):
    with manyworlds_data.open_run(output) as run:
        rounds = run.validation_rounds()
        validation = run.validation()
        selected = run.attrs("policy")["selected_iteration"]
    np.testing.assert_allclose(validation.groupby("round")["score"].mean(), rounds["score"], rtol=1e-12, atol=1e-9)
    assert rounds["selected"].sum() == 1 and rounds.loc[rounds["selected"], "iteration"].item() == selected
    assert rounds.loc[rounds["selected"], "score"].item() == rounds["score"].max()
    assert rounds["iteration"].iloc[0] == 0, "the untrained policy is validated too"


def test_outputs_of_the_same_job_and_seed_load_identically(outputs):
    groups = {}
    for path in outputs:
        with h5py.File(path, "r") as raw:
            key = (raw.attrs["job_text"], int(raw.attrs["seed"]), raw["metrics/episodes"].shape)
        groups.setdefault(key, []).append(path)
    same = max(groups.values(), key=len)
    if len(same) < 2:
        pytest.skip("needs two outputs of one job and seed (e.g. run with different rank counts)")
    frames = [load_reproducible(path) for path in same]
    for path, other in zip(same[1:], frames[1:]):
        for name, frame in other.items():
            pd.testing.assert_frame_equal(frames[0][name], frame, check_exact=True, obj=f"{path} {name}")


def load_reproducible(path):
    with manyworlds_data.open_run(path) as run:
        metrics = run.metrics()
        return {"metrics": metrics[[c for c in metrics if not c.startswith("runtime_")]],
                "batches": run.batches(), "worlds": run.worlds(), "world_stats": run.world_stats(),
                "validation": run.validation(), "test": run.test()}


# ---- refused input files ------------------------------------------------------------------------------------


def make_bad_file(kind, real, directory):
    """A file the loader must refuse, and the words its message must contain."""
    path = os.path.join(directory, f"{kind}.h5")
    if kind == "text":
        with open(path, "w") as out:
            out.write("iteration,reward\n0,1.5\n")
        return path, "not an HDF5 file"
    if kind == "hdf5_without_format":
        with h5py.File(path, "w") as out:
            out["metrics/episodes"] = np.arange(3.0)
        return path, "no /format attribute"
    shutil.copyfile(real, path)
    if kind == "truncated":
        with open(path, "r+b") as out:
            out.truncate(os.path.getsize(real) // 2)
        return path, "truncated"
    with h5py.File(path, "r+") as out:
        if kind == "newer_version":
            out.attrs["format_version"] = np.int64(manyworlds_data.FORMAT_VERSION + 1)
            return path, f"format version {manyworlds_data.FORMAT_VERSION + 1} is newer than this reader knows"
        out.attrs["format"] = "openmc"
        return path, "/format is 'openmc'"


BAD_KINDS = ("text", "hdf5_without_format", "truncated", "newer_version", "other_format_name")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_loader_refuses_with_a_clear_message(kind, output, tmp_path):
    path, reason = make_bad_file(kind, output, tmp_path)
    with pytest.raises(ValueError) as refused:
        manyworlds_data.open_run(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_report_refuses_and_touches_nothing(kind, output, tmp_path):
    bad, reason = make_bad_file(kind, output, tmp_path)
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "report.md").write_text("the previous report\n")
    before = snapshot(existing)
    entries = sorted(os.listdir(tmp_path))
    for target in (existing, tmp_path / "new"):
        result = run_report(output, bad, "-o", target)
        assert result.returncode == 3, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ") and reason in lines[0], result.stderr
        assert result.stdout == ""
    assert snapshot(existing) == before
    assert sorted(os.listdir(tmp_path)) == entries, "the report left something behind"


# ---- report -------------------------------------------------------------------------------------------------


def report_links(directory):
    with open(os.path.join(directory, "report.md")) as text:
        return set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text.read()))


def test_report_writes_every_promised_plot(output, tmp_path):
    directory = tmp_path / "report"
    directory.mkdir()
    (directory / "notes.txt").write_text("kept\n")
    result = run_report(output, "-o", directory)
    assert result.returncode == 0, result.stderr
    slug = os.path.splitext(os.path.basename(output))[0]
    plots = {f"{slug}_{name}.png" for name in PROMISED_RUN_PLOTS}
    assert set(os.listdir(directory)) == plots | {"report.md", "notes.txt"}
    for plot in plots:
        assert_valid_png(directory / plot)
    assert report_links(directory) == plots
    text = (directory / "report.md").read_text()
    for quantity in ("iterations completed", "worlds", "ranks", "reported snapshot", "test score: policy",
                     "policy − adaptive_pacing", "mean effective sample size", "crisis share natural / batch / predicted"):
        assert quantity in text, quantity
    assert "Across files" not in text
    assert sorted(os.listdir(tmp_path)) == ["report"], "a staging directory was left behind"


def test_report_compares_a_sweep(outputs, tmp_path):
    files = list(outputs)
    if len(files) < 2:
        files.append(str(tmp_path / "copy.h5"))
        shutil.copyfile(outputs[0], files[-1])
    directory = tmp_path / "sweep"
    result = run_report(*files, "-o", directory)
    assert result.returncode == 0, result.stderr
    slugs = [os.path.splitext(os.path.basename(path))[0] for path in files]
    plots = {f"{slug}_{name}.png" for slug in slugs for name in PROMISED_RUN_PLOTS} | {"sweep_comparison.png"}
    assert set(os.listdir(directory)) == plots | {"report.md"}
    assert_valid_png(directory / "sweep_comparison.png")
    assert report_links(directory) == plots
    text = (directory / "report.md").read_text()
    assert "## Across files" in text
    header = next(line for line in text.splitlines() if line.startswith("| quantity |"))
    assert header.count("|") == len(files) + 2, "one key-numbers column per file"


@pytest.mark.parametrize("arguments", [(), ("RUN.h5",), ("-o", "DIR"), ("--no-such-option", "RUN.h5", "-o", "DIR")])
def test_bad_usage_exits_2(arguments, tmp_path):
    result = run_report(*arguments)
    assert result.returncode == 2 and "usage:" in result.stderr


def test_output_that_is_a_file_is_bad_usage(output, tmp_path):
    target = tmp_path / "report.md"
    target.write_text("not a directory\n")
    result = run_report(output, "-o", target)
    assert result.returncode == 2 and "not a directory" in result.stderr
    assert target.read_text() == "not a directory\n"


def test_help_explains_usage_and_exit_codes():
    result = run_report("--help")
    assert result.returncode == 0
    assert "-o DIR" in result.stdout and "Exit codes" in result.stdout and "RUN.h5" in result.stdout
