#!/usr/bin/python3
"""An offline learner trained from a manyworlds run's file alone: advantage-weighted regression (numpy).

It reads every batch row of RUN.h5 (observations, actions, advantages, importance weights, the behaviour
policy), starts from the run's reported policy and moves the policy's bid mean and creative logits towards
the actions that did better than expected, each row weighted by importance weight x exp(advantage / beta)
(Peng et al. 2019, "Advantage-Weighted Regression"). It writes a policy file (format "manyworlds-policy")
that `manyworlds evaluate --policy POLICY.h5 JOB.toml` judges on the job's test worlds.

    /usr/bin/python3 analysis/offline_learner.py run.h5 -o offline.h5
    build/manyworlds evaluate --policy offline.h5 jobs/default.toml -o offline-evaluation.h5
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manyworlds_data  # noqa: E402

POLICY_FORMAT = "manyworlds-policy"
POLICY_FORMAT_VERSION = 1
LOG_VALUE_PER_CLICK = 12  # observation indices (docs/world-model.md)
PACING_PRESSURE = 16


class Mlp:
    """tanh hidden layers, linear output; parameters in manyworlds' flat layout (W_l row-major inputs x outputs,
    then b_l, layer by layer; docs/learning.md)."""

    def __init__(self, widths, flat):
        self.shapes = list(zip(widths[:-1], widths[1:]))
        self.layers = []
        offset = 0
        for inputs, outputs in self.shapes:
            weights = flat[offset:offset + inputs * outputs].reshape(inputs, outputs).copy()
            offset += inputs * outputs
            bias = flat[offset:offset + outputs].copy()
            offset += outputs
            self.layers.append([weights, bias])
        self.size = offset

    def flat(self):
        return np.concatenate([part.reshape(-1) for layer in self.layers for part in layer])

    def forward(self, x):
        activations = [x]
        for k, (weights, bias) in enumerate(self.layers):
            x = x @ weights + bias
            if k + 1 < len(self.layers):
                x = np.tanh(x)
            activations.append(x)
        return activations

    def backward(self, activations, grad_out):
        grads = []
        grad = grad_out
        for k in range(len(self.layers) - 1, -1, -1):
            grads.append((activations[k].T @ grad, grad.sum(axis=0)))
            if k > 0:
                grad = (grad @ self.layers[k][0].T) * (1.0 - activations[k] ** 2)
        return grads[::-1]


def prior_mean(observations, prior, offset):
    """The bid rule the policy's mean starts from (docs/learning.md, policy.bid_prior)."""
    if prior == "none":
        return np.zeros(len(observations))
    mean = observations[:, LOG_VALUE_PER_CLICK] + offset
    if prior == "adaptive_pacing":
        mean = mean - observations[:, PACING_PRESSURE]
    return mean


def read_rows(path):
    with manyworlds_data.open_run(path) as run:
        batches = run.batches(observations=True, fields=("obs", "log_bid_multiplier", "creative", "advantage",
                                                         "weight"))
        attrs = run.attrs("batches")
        policy_attrs = run.attrs("policy")
        parameters = run.policy("reported")
    observations = batches[[f"obs_{k}" for k in range(policy_attrs["observation_size"])]].to_numpy(np.float64)
    return (observations, batches["log_bid_multiplier"].to_numpy(np.float64), batches["creative"].to_numpy(),
            batches["advantage"].to_numpy(np.float64), batches["weight"].to_numpy(np.float64), attrs, policy_attrs,
            parameters)


def train(observations, actions, creatives, weights, net, prior, epochs, learning_rate, seed):
    """Weighted regression of the bid mean and weighted cross-entropy of the creative, Adam, minibatches of 4096."""
    generator = np.random.default_rng(seed)
    moments = [[np.zeros_like(part) for part in layer] for layer in net.layers]
    squares = [[np.zeros_like(part) for part in layer] for layer in net.layers]
    step = 0
    for _ in range(epochs):
        order = generator.permutation(len(actions))
        for start in range(0, len(order), 4096):
            rows = order[start:start + 4096]
            activations = net.forward(observations[rows])
            out = activations[-1]
            grad = np.zeros_like(out)
            w = weights[rows] / weights[rows].sum()
            grad[:, 0] = w * (out[:, 0] + prior[rows] - actions[rows])
            logits = out[:, 1:]
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            probabilities[np.arange(len(rows)), creatives[rows]] -= 1.0
            grad[:, 1:] = w[:, None] * probabilities
            step += 1
            for layer, g, m, v in zip(net.layers, net.backward(activations, grad), moments, squares):
                for k in range(2):
                    m[k] = 0.9 * m[k] + 0.1 * g[k]
                    v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                    layer[k] -= learning_rate * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)


def write_policy(path, source, policy_attrs, parameters):
    with h5py.File(path, "w") as out:
        out.attrs["format"] = POLICY_FORMAT
        out.attrs["format_version"] = POLICY_FORMAT_VERSION
        out.attrs["job_name"] = f"offline learner from {os.path.basename(source)}"
        group = out.create_group("policy")
        for key, value in policy_attrs.items():
            if key != "selected_iteration":
                group.attrs[key] = value
        group.attrs["description"] = "policy written by analysis/offline_learner.py (layout in docs/learning.md)"
        dataset = group.create_dataset("parameters", data=parameters)
        dataset.attrs["units"] = "1"
        dataset.attrs["description"] = "advantage-weighted regression from the run's batches"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Exit codes: 0 success, 2 bad command line, 3 the run file refused.")
    parser.add_argument("run", metavar="RUN.h5", help="output of manyworlds run")
    parser.add_argument("-o", "--output", required=True, metavar="POLICY.h5", help="policy file to write")
    parser.add_argument("--beta", type=float, default=1.0, help="temperature of exp(advantage / beta) (default 1)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over all batch rows (default 3)")
    parser.add_argument("--learning-rate", type=float, default=3e-4, help="Adam step (default 3e-4)")
    arguments = parser.parse_args(argv)
    try:
        observations, actions, creatives, advantages, weights, attrs, policy_attrs, parameters = read_rows(arguments.run)
    except (ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    hidden = list(policy_attrs["hidden"])
    widths = [observations.shape[1]] + hidden + [1 + int(policy_attrs["creatives"])]
    net = Mlp(widths, parameters)
    prior = prior_mean(observations, attrs.get("bid_prior", "none"), float(attrs.get("prior_offset", 0.0)))
    advantage_weights = weights * np.exp(np.clip(advantages / arguments.beta, -5.0, 5.0))
    train(observations, actions, creatives, advantage_weights, net, prior, arguments.epochs, arguments.learning_rate,
          seed=1)
    learned = parameters.copy()
    learned[:net.size] = net.flat()
    write_policy(arguments.output, arguments.run, policy_attrs, learned)
    print(f"{arguments.output}: policy from {len(actions)} batch rows of {arguments.run} "
          f"(advantage-weighted regression, beta {arguments.beta:g}, {arguments.epochs} epochs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
