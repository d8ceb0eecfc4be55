// Float32 forward passes (one row, or many through batch_forward) with fixed-order layer kernels, and action sampling.
#include "manyworlds/learn/inference_policy.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/learn/action_distribution.hpp"

namespace manyworlds {
namespace {

constexpr int block = 8;  // layer widths are padded to a multiple of this many floats

int padded(int width) { return (width + block - 1) / block * block; }

}  // namespace

InferencePolicy::Network InferencePolicy::convert(const Mlp& net, std::span<const double> params) {
  Network layers(static_cast<std::size_t>(net.layers()));
  for (int l = 0; l < net.layers(); ++l) {
    Layer& layer = layers[static_cast<std::size_t>(l)];
    // A layer reads the padded output of the layer below; the extra inputs are 0 and get weight 0.
    layer.inputs = l == 0 ? net.inputs() : padded(net.layer_inputs(l));
    layer.outputs = padded(net.layer_outputs(l));
    layer.weights.assign(static_cast<std::size_t>(layer.inputs) * layer.outputs, 0.0f);
    layer.bias.assign(static_cast<std::size_t>(layer.outputs), 0.0f);
    const int in = net.layer_inputs(l);
    const int out = net.layer_outputs(l);
    for (int k = 0; k < in; ++k) {
      for (int j = 0; j < out; ++j) {
        layer.weights[static_cast<std::size_t>(k) * layer.outputs + j] =
            static_cast<float>(params[net.weight_offset(l) + static_cast<std::ptrdiff_t>(k) * out + j]);
      }
    }
    for (int j = 0; j < out; ++j) layer.bias[j] = static_cast<float>(params[net.bias_offset(l) + j]);
  }
  return layers;
}

InferencePolicy::InferencePolicy(const PolicyModel& model, std::span<const double> parameters, Mode mode, VectorIsa isa)
    : creatives_(model.creatives()),
      bound_(model.action_bound()),
      log_std_(0.0),
      std_(0.0),
      mode_(mode),
      isa_(isa),
      lanes_(batch_lanes(isa)),
      prior_(model.bid_prior()),
      prior_offset_(model.prior_offset()) {
  if (!supported(isa))
    throw RuntimeFailure(std::string("inference policy: ") + to_string(isa) +
                         " code requested but this CPU does not support it");
  if (static_cast<Eigen::Index>(parameters.size()) != model.parameter_count()) {
    throw std::invalid_argument("policy parameters have " + std::to_string(parameters.size()) +
                                " values, the model needs " + std::to_string(model.parameter_count()));
  }
  policy_ = convert(model.policy_net(), parameters.first(static_cast<std::size_t>(model.log_std_index())));
  value_ = convert(model.value_net(), parameters.subspan(static_cast<std::size_t>(model.value_offset())));
  // log_std rounded to float like every other parameter of this model.
  log_std_ = static_cast<float>(parameters[static_cast<std::size_t>(model.log_std_index())]);
  std_ = std::exp(log_std_);
  std::size_t widest = 0;
  for (const Network* net : {&policy_, &value_}) {
    for (const Layer& layer : *net) widest = std::max(widest, static_cast<std::size_t>(layer.outputs));
  }
  front_.assign(widest, 0.0f);
  back_.assign(widest, 0.0f);
  unnormalised_.assign(static_cast<std::size_t>(creatives_), 0.0f);
  const auto lanes = static_cast<std::size_t>(lanes_);
  batch_input_.assign(static_cast<std::size_t>(obs_dim) * lanes, 0.0f);
  batch_a_.assign(widest * lanes, 0.0f);
  batch_b_.assign(widest * lanes, 0.0f);
  views_.resize(std::max(policy_.size(), value_.size()));
}

const float* InferencePolicy::run(const Network& net, const float* input) {
  set_views(net, net.back().outputs);
  return row_forward(isa_, std::span<const DenseLayerView>(views_.data(), net.size()), input, front_.data(),
                     back_.data());
}

void InferencePolicy::set_views(const Network& net, int outputs) {
  for (std::size_t l = 0; l < net.size(); ++l) {
    const Layer& layer = net[l];
    const bool last = l + 1 == net.size();
    views_[l] = {layer.inputs,         layer.outputs,     last ? outputs : layer.outputs,
                 layer.weights.data(), layer.bias.data(), !last};
  }
}

const float* InferencePolicy::run_batch(const Network& net, int outputs) {
  set_views(net, outputs);
  return batch_forward(isa_, std::span<const DenseLayerView>(views_.data(), net.size()), batch_input_.data(),
                       batch_a_.data(), batch_b_.data());
}

Action InferencePolicy::act(const Observation& obs, int creatives, const DecisionNoise& noise) {
  const float* out = run(policy_, obs.data());
  return choose(out[0] + bid_prior_mean(prior_, prior_offset_, obs), out + 1, 1, creatives, noise);
}

void InferencePolicy::act(std::span<const Decision> decisions, std::span<Action> actions) {
  const auto lanes = static_cast<std::size_t>(lanes_);
  if (2 * decisions.size() < lanes) {  // too few to fill the vectors: one row at a time is cheaper
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const Decision& d = decisions[i];
      actions[i] = act(*d.observation, d.creatives, d.noise);
    }
    return;
  }
  for (std::size_t first = 0; first < decisions.size(); first += lanes) {
    const std::size_t rows = std::min(lanes, decisions.size() - first);
    for (std::size_t r = 0; r < lanes; ++r) {
      const float* obs = r < rows ? decisions[first + r].observation->data() : nullptr;
      for (int k = 0; k < obs_dim; ++k) batch_input_[k * lanes + r] = obs != nullptr ? obs[k] : 0.0f;
    }
    const float* out = run_batch(policy_, 1 + creatives_);
    for (std::size_t r = 0; r < rows; ++r) {
      const Decision& d = decisions[first + r];
      const float mean = out[r] + bid_prior_mean(prior_, prior_offset_, *d.observation);
      actions[first + r] = choose(mean, out + lanes + r, lanes_, d.creatives, d.noise);
    }
  }
}

Action InferencePolicy::choose(float mean, const float* logits, std::ptrdiff_t stride, int creatives,
                               const DecisionNoise& noise) {
  const int n = active_creatives(creatives, creatives_);
  float max_logit = logits[0];
  for (int j = 1; j < n; ++j) max_logit = std::max(max_logit, logits[j * stride]);
  float* weights = unnormalised_.data();
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    weights[j] = std::exp(logits[j * stride] - max_logit);
    sum += weights[j];
  }
  const float target = static_cast<float>(noise.uniform) * sum;
  int creative = n - 1;
  float cumulative = 0.0f;
  for (int j = 0; j + 1 < n; ++j) {
    cumulative += weights[j];
    if (target < cumulative) {
      creative = j;
      break;
    }
  }
  if (mode_ == Mode::greedy) return {std::clamp(mean, -bound_, bound_), creative, 0.0f, mean};
  const float x = static_cast<float>(static_cast<double>(mean) + std_ * noise.normal);
  const float multiplier = std::clamp(x, -bound_, bound_);
  const double creative_log_prob =
      static_cast<double>(logits[creative * stride] - max_logit) - std::log(static_cast<double>(sum));
  const double bid = bid_log_prob(multiplier, mean, log_std_, bound_).value;
  return {multiplier, creative, static_cast<float>(bid + creative_log_prob), mean};
}

float InferencePolicy::distribution(const Observation& obs, int creatives, float* creative_log_probs) {
  const float* out = run(policy_, obs.data());
  const float* logits = out + 1;
  const int n = active_creatives(creatives, creatives_);
  const float max_logit = *std::max_element(logits, logits + n);
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) sum += std::exp(logits[j] - max_logit);
  const double log_sum = std::log(static_cast<double>(sum));
  for (int j = 0; j < creatives_; ++j) {
    creative_log_probs[j] = j < n ? static_cast<float>(static_cast<double>(logits[j] - max_logit) - log_sum)
                                  : -std::numeric_limits<float>::infinity();
  }
  return out[0] + bid_prior_mean(prior_, prior_offset_, obs);
}

void InferencePolicy::values(const Experience* experiences, std::size_t count, float* out) {
  const auto lanes = static_cast<std::size_t>(lanes_);
  for (std::size_t first = 0; first < count; first += lanes) {
    const std::size_t rows = std::min(lanes, count - first);
    for (std::size_t r = 0; r < lanes; ++r) {
      const float* obs = r < rows ? experiences[first + r].obs.data() : nullptr;
      for (int k = 0; k < obs_dim; ++k) batch_input_[k * lanes + r] = obs != nullptr ? obs[k] : 0.0f;
    }
    const float* value = run_batch(value_, 1);
    for (std::size_t r = 0; r < rows; ++r) out[first + r] = value[r];
  }
}

}  // namespace manyworlds
