"""Loader for manyworlds HDF5 output files (docs/output-format.md): checks the format, returns pandas DataFrames."""
import os

import h5py
import numpy as np
import pandas as pd

FORMAT_NAME = "manyworlds"
FORMAT_VERSION = 1  # the newest /format_version this reader knows
REQUIRED_GROUPS = ("metrics", "runtime", "worlds/parameters", "worlds/stats", "heldout_worlds/parameters",
                   "batches", "evaluation")
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

    def worlds(self, heldout=False):
        """One row per training (or held-out) world: its parameters, matrix parameters spread into named columns."""
        prefix = "heldout_worlds/parameters" if heldout else "worlds/parameters"
        columns = {}
        for name, dataset in self._group(prefix).items():
            if isinstance(dataset, h5py.Dataset):
                columns.update(self._parameter_columns(name, self._read(f"{prefix}/{name}")))
        frame = self._frame(columns).rename(columns={"id": "world"})
        frame["world_type_name"] = self._decode("world_type_names", frame["world_type"])
        if heldout:
            frame["heldout_world"] = np.arange(len(frame))
        first = (["heldout_world"] if heldout else []) + ["world", "world_type", "world_type_name"]
        return frame[first + [name for name in frame if name not in first]]

    def competitors(self, heldout=False):
        """One row per competitor of the training (or held-out) worlds, with its strategy name."""
        prefix = "heldout_worlds/parameters/competitors" if heldout else "worlds/parameters/competitors"
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

    def evaluation(self):
        """Long format, one row per (round, strategy, held-out world): outcomes, realized ROAS, expected ROAS,
        expected return and the success flag (expected spend > 0 and expected value >= /evaluation robust_roas *
        expected spend, as manyworlds judges strategies)."""
        shape = self._shape("evaluation/reward")
        rounds, strategy_count, heldout = shape
        strategies = np.asarray(self.attrs("evaluation")["strategies"], dtype=object)
        world_types = self.worlds(heldout=True)["world_type_name"].to_numpy()
        columns = {
            "round": np.repeat(np.arange(rounds), strategy_count * heldout),
            "iteration": np.repeat(self._read("evaluation/iteration").astype(np.int64), strategy_count * heldout),
            "strategy": np.tile(np.repeat(strategies, heldout), rounds),
            "heldout_world": np.tile(np.arange(heldout), rounds * strategy_count),
            "world_type_name": np.tile(world_types, rounds * strategy_count),
        }
        for name, dataset in self._group("evaluation").items():
            if dataset.shape == shape:
                columns[name] = self._read(f"evaluation/{name}").reshape(-1)
        return self._add_success(self._frame(columns))

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
