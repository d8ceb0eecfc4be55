"""Loader for manyworlds HDF5 output files (docs/output-format.md): checks the format, returns pandas DataFrames."""
import os

import h5py
import numpy as np
import pandas as pd

FORMAT_NAME = "manyworlds"
FORMAT_VERSION = 2  # the newest /format_version this reader knows
REQUIRED_GROUPS = ("metrics", "runtime", "worlds/parameters", "worlds/stats", "validation_worlds/parameters",
                   "test_worlds/parameters", "batches", "evaluation/validation", "policy")
WORLD_SETS = {"training": "worlds", "validation": "validation_worlds", "test": "test_worlds"}
EVENT_TYPE_NAMES = ("regular", "crisis")  # /batches/event_type codes, as its description documents
BATCH_FLAGS = ("clicked", "converted", "crisis_truth", "done")
BATCH_CODES = {"segment": "segment_names", "device": "device_names", "query_type": "query_type_names",
               "world_type": "world_type_names"}


def open_run(path):
    """Opens a manyworlds output file for reading; raises ValueError naming the path and the reason if refused."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ValueError(f"{path}: not a regular file")
    if not h5py.is_hdf5(path):
        raise ValueError(f"{path}: not a manyworlds output: not an HDF5 file")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: truncated or damaged HDF5 file ({_reason(error)})") from None
    try:
        _check_format(path, handle)
    except (OSError, KeyError) as error:
        handle.close()
        raise ValueError(f"{path}: truncated or damaged HDF5 file ({_reason(error)})") from None
    except ValueError:
        handle.close()
        raise
    return Run(path, handle)


def normalised_score(value, constant, hindsight, floor):
    """100 (R - R_constant) / max(R_hindsight - R_constant, floor |R_hindsight|), as manyworlds computes it."""
    scale = np.maximum(np.maximum(np.asarray(hindsight) - np.asarray(constant), floor * np.abs(hindsight)), 1e-12)
    return 100.0 * (np.asarray(value) - np.asarray(constant)) / scale


def _reason(error):
    """The informative part of an h5py/HDF5 error message, on one line."""
    text = " ".join(str(error).split()).strip("'\"")
    return text.split("(", 1)[1].rstrip(")") if text.startswith("Unable to") and "(" in text else text


def _check_format(path, handle):
    attrs = handle.attrs
    if "format" not in attrs:
        raise ValueError(f"{path}: not a manyworlds output: no /format attribute")
    name = _plain(attrs["format"])
    if name != FORMAT_NAME:
        raise ValueError(f"{path}: not a manyworlds output: /format is {name!r}, expected {FORMAT_NAME!r}")
    if "format_version" not in attrs:
        raise ValueError(f"{path}: manyworlds output without a /format_version attribute")
    version = _plain(attrs["format_version"])
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: invalid /format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: format version {version} is newer than this reader knows ({FORMAT_VERSION}); "
                         "use the analysis/ of the manyworlds version that wrote it")
    for group in REQUIRED_GROUPS:
        if not isinstance(handle.get(group), h5py.Group):
            raise ValueError(f"{path}: incomplete manyworlds output: no /{group} group")


def _plain(value):
    """An attribute value as plain Python: str, int, float, or a list of them."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _names(values, codes):
    """Decodes integer codes to names; raises ValueError for a code outside the list."""
    names = np.asarray(values, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    bad = codes[(codes < 0) | (codes >= len(names))]
    if bad.size:
        raise ValueError(f"code {bad[0]} has no name in {list(values)}")
    return names[codes]


class Run:
    """One open manyworlds output file; every method returns fresh data read from it."""

    def __init__(self, path, handle):
        self.path = path
        self._file = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._file.close()

    def attrs(self, group="/"):
        """The attributes of the root group (the file attributes) or of another group, as a plain dict."""
        return {key: _plain(value) for key, value in self._group(group).attrs.items()}

    def iterations(self):
        """Number of iterations completed (length of the /metrics datasets)."""
        return self._read("metrics/episodes").shape[0]

    def worlds(self, which="training"):
        """One row per world of a set ("training", "validation" or "test"): its parameters, matrix parameters
        spread into named columns; evaluation sets also number their worlds 0.. in column "index"."""
        prefix = f"{self._world_set(which)}/parameters"
        columns = {}
        for name, dataset in self._group(prefix).items():
            if isinstance(dataset, h5py.Dataset):
                columns.update(self._parameter_columns(name, self._read(f"{prefix}/{name}")))
        frame = self._frame(columns).rename(columns={"id": "world"})
        frame["world_type_name"] = self._decode("world_type_names", frame["world_type"])
        first = ["world", "world_type", "world_type_name"]
        if which != "training":
            frame["index"] = np.arange(len(frame))
            first = ["index"] + first
        return frame[first + [name for name in frame if name not in first]]

    def competitors(self, which="training"):
        """One row per competitor of the worlds of a set ("training", "validation" or "test"), with its strategy name."""
        prefix = f"{self._world_set(which)}/parameters/competitors"
        frame = self._frame({name: self._read(f"{prefix}/{name}") for name in self._group(prefix)})
        frame["strategy_name"] = self._decode("strategy_names", frame["strategy"])
        return frame

    def world_stats(self):
        """Long format, one row per (iteration, world): the world's statistics of that iteration."""
        worlds = self.worlds()
        iterations = self.iterations()
        columns = {
            "iteration": np.repeat(np.arange(iterations), len(worlds)),
            "world": np.tile(worlds["world"].to_numpy(), iterations),
            "world_type_name": np.tile(worlds["world_type_name"].to_numpy(), iterations),
        }
        for name in self._group("worlds/stats"):
            columns[name] = self._read(f"worlds/stats/{name}").reshape(-1)
        return self._frame(columns)

    def metrics(self):
        """One row per iteration: /metrics, and /runtime with columns prefixed "runtime_"."""
        columns = {"iteration": np.arange(self.iterations())}
        for group, prefix in (("metrics", ""), ("runtime", "runtime_")):
            for name in self._group(group):
                columns[prefix + name] = self._read(f"{group}/{name}")
        return self._frame(columns)

    def batches(self, iteration=None, observations=True, fields=None):
        """One row per batch row of one iteration (negative counts from the end) or of all; obs/next_obs as
        columns obs_0.. and next_obs_0.. unless observations=False; only the /batches datasets in fields if given."""
        group = self._group("batches")
        unknown = set(fields or ()) - set(group)
        if unknown:
            raise KeyError(f"no /batches dataset {sorted(unknown)}")
        count, size = self._shape("batches/weight")
        chosen = np.arange(count) if iteration is None else np.array([self._iteration_index(iteration, count)])
        rows = slice(None) if iteration is None else slice(chosen[0], chosen[0] + 1)
        columns = {"iteration": np.repeat(chosen, size), "row": np.tile(np.arange(size), len(chosen))}
        for name, dataset in group.items():
            if fields is not None and name not in fields:
                continue
            if dataset.ndim == 3 and observations:
                values = self._read(f"batches/{name}", rows).reshape(-1, dataset.shape[2])
                columns.update({f"{name}_{k}": values[:, k] for k in range(values.shape[1])})
            elif dataset.ndim == 2:
                columns[name] = self._read(f"batches/{name}", rows).reshape(-1)
        return self._decode_batch(self._frame(columns))

    def validation_rounds(self):
        """One row per validation round: iterations trained, the policy's mean normalised score with its 95% CI,
        its mean expected return, and whether the round's snapshot is the reported policy ("selected")."""
        group = "evaluation/validation"
        frame = self._frame({name: self._read(f"{group}/{name}") for name in
                             ("iteration", "score", "score_low", "score_high", "mean_return")})
        frame["iteration"] = frame["iteration"].astype(np.int64)
        selected = self.attrs("policy").get("selected_iteration", -1)
        frame["selected"] = frame["iteration"] == selected
        return frame

    def validation(self):
        """Long format, one row per (round, validation world): the policy's expected return and normalised score,
        with the world's references (tuned constant bid = score 0, hindsight optimum = 100)."""
        group = "evaluation/validation"
        returns = self._read(f"{group}/return")
        rounds, worlds = returns.shape
        constant = self._read(f"{group}/constant_return")
        hindsight = self._read(f"{group}/hindsight_return")
        floor = float(self.attrs("evaluation")["score_floor"])
        frame = self._frame({
            "round": np.repeat(np.arange(rounds), worlds),
            "iteration": np.repeat(self._read(f"{group}/iteration").astype(np.int64), worlds),
            "index": np.tile(np.arange(worlds), rounds),
            "world_type_name": np.tile(self._decode("world_type_names", self._read(f"{group}/world_type")), rounds),
            "expected_return": returns.reshape(-1),
            "constant_return": np.tile(constant, rounds),
            "hindsight_return": np.tile(hindsight, rounds),
        })
        frame["score"] = normalised_score(frame["expected_return"], frame["constant_return"],
                                          frame["hindsight_return"], floor)
        return frame

    def test(self):
        """Long format, one row per (strategy, test world) of the test evaluation: outcomes, normalised score,
        realized and expected ROAS, expected return and the success flag (expected spend > 0 and expected value >=
        /evaluation robust_roas x expected spend). Strategies in /evaluation's strategies attribute."""
        group = "evaluation/test"
        shape = self._shape(f"{group}/score")
        strategy_count, worlds = shape
        strategies = np.asarray(self.attrs("evaluation")["strategies"], dtype=object)
        columns = {
            "strategy": np.repeat(strategies, worlds),
            "index": np.tile(np.arange(worlds), strategy_count),
            "world_type_name": np.tile(self._decode("world_type_names", self._read(f"{group}/world_type")),
                                       strategy_count),
        }
        for name, dataset in self._group(group).items():
            if dataset.shape == shape:
                columns[name] = self._read(f"{group}/{name}").reshape(-1)
        return self._add_success(self._frame(columns))

    def test_summary(self):
        """One row per strategy: mean normalised score on the test worlds with its paired bootstrap 95% CI, the
        paired difference to the comparison strategy (adaptive pacing) with its CI, mean return, success share."""
        group = "evaluation/test"
        columns = {"strategy": self.attrs("evaluation")["strategies"]}
        for name in ("mean_score", "mean_score_low", "mean_score_high", "difference_to_comparison",
                     "difference_to_comparison_low", "difference_to_comparison_high", "mean_return", "success_share"):
            columns[name] = self._read(f"{group}/{name}")
        return self._frame(columns)

    def test_by_type(self):
        """One row per (strategy, world type): mean normalised score on that type's test worlds and its 95% CI."""
        group = "evaluation/test"
        strategies = self.attrs("evaluation")["strategies"]
        types = self.attrs()["world_type_names"]
        columns = {"strategy": np.repeat(strategies, len(types)), "world_type_name": np.tile(types, len(strategies))}
        for name in ("mean_score_by_type", "mean_score_by_type_low", "mean_score_by_type_high"):
            columns[name.replace("mean_score_by_type", "score")] = self._read(f"{group}/{name}").reshape(-1)
        return self._frame(columns)

    def policy(self, which="reported"):
        """The policy's flat parameter vector: "reported" (the validation-selected snapshot) or "final"."""
        return self._read("policy/parameters" if which == "reported" else "policy/final_parameters")

    def policy_history(self):
        """The behaviour policy of every iteration, shape (iterations, parameters)."""
        return self._read("policy/history")

    def _add_success(self, frame):
        robust_roas = float(self.attrs("evaluation")["robust_roas"])
        spent = frame["spend"] > 0
        frame["roas"] = np.where(spent, frame["conversion_value"] / frame["spend"].where(spent, 1.0), np.nan)
        expected = frame["expected_spend"] > 0
        frame["expected_roas"] = np.where(
            expected, frame["expected_value"] / frame["expected_spend"].where(expected, 1.0), np.nan)
        frame["expected_return"] = frame["expected_value"] - frame["expected_spend"]
        frame["success"] = expected & (frame["expected_value"] >= robust_roas * frame["expected_spend"])
        return frame

    def _world_set(self, which):
        if which not in WORLD_SETS:
            raise ValueError(f"unknown world set {which!r}: one of {sorted(WORLD_SETS)}")
        return WORLD_SETS[which]

    def _decode_batch(self, frame):
        for code, names in BATCH_CODES.items():
            if code in frame:
                frame[f"{code}_name"] = self._decode(names, frame[code])
        if "event_type" in frame:
            frame["event_type_name"] = self._checked(lambda: _names(EVENT_TYPE_NAMES, frame["event_type"]),
                                                   "decoding /batches/event_type")
        for flag in BATCH_FLAGS:
            if flag in frame:
                frame[flag] = frame[flag].astype(bool)
        if "tags" in frame:
            tags = frame["tags"].to_numpy()
            for bit, name in enumerate(self.attrs()["tag_names"]):
                frame[f"tag_{name}"] = ((tags >> np.uint32(bit)) & 1) == 1
        return frame

    def _parameter_columns(self, name, values):
        if values.ndim == 1:
            return {name: values}
        return {f"{name}_{label}": values[:, k] for k, label in enumerate(self._axis_labels(name, values.shape[1]))}

    def _axis_labels(self, name, extent):
        """Column suffixes of a (world, k) parameter: names where the file has them, else 0..k-1."""
        attrs = self.attrs()
        labels = {
            "segment_share": attrs.get("segment_names"),
            "device_share": attrs.get("device_names"),
            "value_per_click_estimate": [f"{device}_{query}" for device in attrs.get("device_names", [])
                                         for query in attrs.get("query_type_names", [])],
        }.get(name)
        return labels if labels and len(labels) == extent else [str(k) for k in range(extent)]

    def _decode(self, attribute, codes):
        return self._checked(lambda: _names(self.attrs()[attribute], codes), f"decoding /{attribute}")

    def _iteration_index(self, iteration, count):
        index = int(iteration) + count if int(iteration) < 0 else int(iteration)
        if not 0 <= index < count:
            raise IndexError(f"{self.path}: iteration {iteration} out of range (the file has {count})")
        return index

    def _group(self, name):
        group = self._checked(lambda: self._file[name], f"/{name.strip('/')}")
        if not isinstance(group, h5py.Group):
            raise ValueError(f"{self.path}: /{name} is not a group")
        return group

    def _shape(self, name):
        return self._checked(lambda: self._file[name].shape, f"/{name}")

    def _read(self, name, selection=()):
        return self._checked(lambda: self._file[name][selection], f"reading /{name}")

    def _frame(self, columns):
        return self._checked(lambda: pd.DataFrame(columns), "building a table")

    def _checked(self, action, what=""):
        """Runs action; a KeyError/OSError/ValueError from h5py, numpy or pandas becomes ValueError naming the file."""
        try:
            return action()
        except (KeyError, OSError, ValueError) as error:
            context = f" ({what})" if what else ""
            raise ValueError(f"{self.path}: damaged or inconsistent manyworlds output{context}: "
                             f"{_reason(error)}") from None
