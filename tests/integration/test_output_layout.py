#!/usr/bin/python3
"""Debian's h5py opens a real quickstart output and finds exactly the layout docs/output-format.md documents."""
import os
import re

import h5py
import numpy as np
import pytest

SOURCE = os.environ["MANYWORLDS_SOURCE_DIR"]
OUTPUT = os.environ["MANYWORLDS_OUTPUT"]


def documented_layout():
    text = open(os.path.join(SOURCE, "docs", "output-format.md")).read()
    block = re.search(r"```layout\n(.*?)```", text, re.S).group(1)
    rows = {}
    for line in block.strip().splitlines():
        path, dtype, rest = line.split(None, 2)
        shape, units = re.match(r"(\(.*?\))\s+(\S+)$", rest).groups()
        rows[path] = (dtype, [s.strip() for s in shape.strip("()").split(",") if s.strip()], units)
    return rows


@pytest.fixture(scope="module")
def output():
    with h5py.File(OUTPUT, "r") as f:
        yield f


def symbols(f):
    return {
        "I": f["metrics/episodes"].shape[0],
        "B": int(f.attrs["batch_size"]),
        "W": int(f.attrs["worlds"]),
        "V": int(f.attrs["validation_worlds"]),
        "X": int(f.attrs["test_worlds"]),
        "R": f["evaluation/validation/iteration"].shape[0],
        "S": len(f["evaluation"].attrs["strategies"]),
        "T": len(f.attrs["world_type_names"]),
        "SEG": len(f.attrs["segment_names"]),
        "DEV": len(f.attrs["device_names"]),
        "C": int(f["policy"].attrs["creatives"]),
        "O": int(f["policy"].attrs["observation_size"]),
        "P": f["policy/parameters"].shape[0],
        "K": f["worlds/parameters/competitors/world"].shape[0],
        "KV": f["validation_worlds/parameters/competitors/world"].shape[0],
        "KX": f["test_worlds/parameters/competitors/world"].shape[0],
    }


def expected_extent(symbol, values):
    if symbol.isdigit():
        return int(symbol)
    if "*" in symbol:
        name, factor = symbol.split("*")
        return values[name] * int(factor)
    return values[symbol]


def all_datasets(f):
    found = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            found["/" + name] = obj

    f.visititems(visit)
    return found


def test_file_identifies_itself(output):
    assert output.attrs["format"] == "manyworlds"
    assert int(output.attrs["format_version"]) == 2
    assert "[run]" in output.attrs["job_text"] and "format = \"manyworlds-priors\"" in output.attrs["priors_text"]
    assert len(output.attrs["segment_names"]) == 4 and "crisis_parent" in list(output.attrs["segment_names"])


def test_every_documented_dataset_exists_with_documented_type_shape_and_units(output):
    values = symbols(output)
    assert values["I"] == 4 and values["B"] == 8192 and values["W"] == 128 and values["O"] == 17
    datasets = all_datasets(output)
    for path, (dtype, shape, units) in documented_layout().items():
        assert path in datasets, f"documented {path} missing"
        dataset = datasets[path]
        assert str(dataset.dtype) == dtype, f"{path}: {dataset.dtype} != {dtype}"
        assert list(dataset.shape) == [expected_extent(s, values) for s in shape], f"{path}: {dataset.shape} vs {shape}"
        assert dataset.attrs["units"] == units, f"{path}: units {dataset.attrs['units']!r} != {units!r}"
        assert dataset.attrs.get("description"), f"{path}: no description"


def test_every_dataset_in_the_file_is_documented(output):
    undocumented = set(all_datasets(output)) - set(documented_layout())
    assert not undocumented, f"not in docs/output-format.md: {sorted(undocumented)}"


def test_contents_are_consistent(output):
    f = output
    worlds = f["worlds/stats/decisions"][:]
    # Per-world decisions add up to the iteration's total; the batch rows come from real worlds.
    np.testing.assert_array_equal(worlds.sum(axis=1), f["metrics/decisions"][:])
    batch_worlds = f["batches/world"][:]
    assert batch_worlds.min() >= 0 and batch_worlds.max() < int(f.attrs["worlds"])
    # Rows are ordered by (world, episode, step) within each iteration.
    for it in range(batch_worlds.shape[0]):
        key = batch_worlds[it].astype(np.int64) * 10**9 + f["batches/step"][it]
        assert np.all(np.diff(key) >= 0)
    # Weights are positive and average about 1 (they are (N P)^-beta with beta annealed to 1).
    weights = f["batches/weight"][:]
    assert np.all(weights > 0)
    assert 0.5 < weights[-1].mean() < 1.5
    # Crisis experiences are over-represented in the batch as the formula predicts (binomial 5 sigma).
    share = f["metrics/batch_crisis_share"][:]
    predicted = f["metrics/predicted_crisis_share"][:]
    sigma = np.sqrt(predicted * (1 - predicted) / int(f.attrs["batch_size"]))
    assert np.all(np.abs(share - predicted) < 5 * sigma)
    assert np.all(share > f["metrics/natural_crisis_share"][:])


def test_pandas_reads_metrics_and_batches_without_project_code(output):
    pandas = pytest.importorskip("pandas")
    metrics = pandas.DataFrame({name: output["metrics"][name][:] for name in output["metrics"]})
    assert len(metrics) == 4 and "effective_sample_size" in metrics
    batch = pandas.DataFrame({name: output["batches"][name][-1] for name in ("world", "step", "weight", "reward")})
    assert len(batch) == int(output.attrs["batch_size"])
