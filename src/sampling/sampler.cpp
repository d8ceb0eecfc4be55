// The distributed importance sampler: summaries up, decisions down, rows stay with their owners.
#include "manyworlds/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"

namespace manyworlds {

namespace {

// Per-world facts a rank sends to rank 0 (48 bytes per world).
struct WorldSummary {
  std::int64_t count = 0;
  std::int64_t crisis_count = 0;
  double sum = 0;           // sum of scores over all experiences, in step order
  double crisis_sum = 0;    // ... over crisis experiences only
  double regular_sum = 0;   // ... over regular experiences only
  double min_score = std::numeric_limits<double>::infinity();
  double crisis_min = std::numeric_limits<double>::infinity();
  double regular_min = std::numeric_limits<double>::infinity();
  std::int32_t rank = 0;
  std::int32_t local_world = 0;   // index of the world among its rank's worlds
};

// What rank 0 asks an owner for: a point inside one world's cumulative scores.
struct DrawRequest {
  std::int32_t local_world = 0;
  std::int32_t stratum = 0;    // 0: all experiences, 1: crisis only, 2: regular only
  double residual = 0;
};

// Numbers every rank needs to turn a selection into probabilities and weights.
struct DrawHeader {
  double total = 0;
  double crisis_total = 0;
  double regular_total = 0;
  double min_score = 0;
  double crisis_min = 0;
  double regular_min = 0;
  double threshold = 0;
  std::int64_t population = 0;
  std::int64_t crisis_population = 0;
  std::int64_t crisis_draws = 0;
  std::int64_t batch = 0;
  std::int64_t failed = 0;
};

// Without replacement: one candidate of a rank's local top list.
struct Candidate {
  double key = 0;
  std::int64_t world = 0;
  std::int64_t local_index = 0;
  std::int32_t rank = 0;
  std::int32_t padding = 0;
};

bool is_crisis(const Experience& e) { return e.event_type == static_cast<std::uint8_t>(EventType::crisis); }

BatchRow make_row(std::span<const Experience> experiences, const WorldSlice& slice, std::int64_t index,
                  double probability, double weight) {
  BatchRow row;
  row.experience = experiences[index];
  if (!row.experience.done() && index + 1 < slice.end) row.next_obs = experiences[index + 1].obs;
  row.probability = probability;
  row.weight = weight;
  return row;
}

}  // namespace

BatchSampler::BatchSampler(const SamplingSection& config, std::uint64_t seed) : config_(config), seed_(seed) {}

double BatchSampler::priority(const Experience& e) const {
  double p = is_crisis(e) ? config_.crisis_weight : 1.0;
  if (config_.advantage_priority) p *= std::fabs(static_cast<double>(e.advantage)) + config_.priority_epsilon;
  return p;
}

SampledBatch BatchSampler::draw(std::span<const Experience> experiences, std::span<const WorldSlice> worlds,
                                int iteration, double beta, Collectives& collectives) const {
  std::vector<double> scores(experiences.size());
  for (std::size_t i = 0; i < experiences.size(); ++i) scores[i] = std::pow(priority(experiences[i]), config_.alpha);
  switch (config_.mode) {
    case SamplingMode::proportional:
      return draw_proportional(scores, experiences, worlds, iteration, beta, collectives);
    case SamplingMode::stratified:
      return draw_stratified(scores, experiences, worlds, iteration, collectives);
    case SamplingMode::without_replacement:
      return draw_without_replacement(scores, experiences, worlds, iteration, collectives);
  }
  throw RuntimeFailure("unknown sampling mode");
}

namespace {

std::vector<WorldSummary> summarize_worlds(std::span<const double> scores, std::span<const Experience> experiences,
                                           std::span<const WorldSlice> worlds, int rank) {
  std::vector<WorldSummary> summaries(worlds.size());
  for (std::size_t w = 0; w < worlds.size(); ++w) {
    WorldSummary& s = summaries[w];
    s.rank = rank;
    s.local_world = static_cast<std::int32_t>(w);
    for (std::int64_t i = worlds[w].begin; i < worlds[w].end; ++i) {
      const double score = scores[i];
      ++s.count;
      s.sum += score;
      s.min_score = std::min(s.min_score, score);
      if (is_crisis(experiences[i])) {
        ++s.crisis_count;
        s.crisis_sum += score;
        s.crisis_min = std::min(s.crisis_min, score);
      } else {
        s.regular_sum += score;
        s.regular_min = std::min(s.regular_min, score);
      }
    }
  }
  return summaries;
}

// Rank 0's totals over all worlds, summed in world order.
DrawHeader totals_of(const std::vector<WorldSummary>& summaries) {
  DrawHeader header;
  header.min_score = header.crisis_min = header.regular_min = std::numeric_limits<double>::infinity();
  for (const WorldSummary& s : summaries) {
    header.total += s.sum;
    header.crisis_total += s.crisis_sum;
    header.regular_total += s.regular_sum;
    header.population += s.count;
    header.crisis_population += s.crisis_count;
    header.min_score = std::min(header.min_score, s.min_score);
    header.crisis_min = std::min(header.crisis_min, s.crisis_min);
    header.regular_min = std::min(header.regular_min, s.regular_min);
  }
  return header;
}

double stratum_sum(const WorldSummary& s, int stratum) {
  return stratum == 0 ? s.sum : stratum == 1 ? s.crisis_sum : s.regular_sum;
}

// Rank 0: `draws` points uniform over the stratum's cumulative scores, as requests to owners.
void draw_points(const std::vector<WorldSummary>& summaries, int stratum, std::int64_t draws, Stream& stream,
                 std::vector<std::vector<DrawRequest>>& per_rank) {
  std::vector<double> cumulative(summaries.size());
  double running = 0;
  for (std::size_t w = 0; w < summaries.size(); ++w) cumulative[w] = running += stratum_sum(summaries[w], stratum);
  for (std::int64_t j = 0; j < draws; ++j) {
    const double target = stream.uniform() * running;
    std::size_t w = static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), target) -
                                             cumulative.begin());
    w = std::min(w, summaries.size() - 1);
    while (stratum_sum(summaries[w], stratum) <= 0 && w > 0) --w;  // rounding at the very top
    const double before = w == 0 ? 0.0 : cumulative[w - 1];
    const double width = stratum_sum(summaries[w], stratum);
    const double residual = std::clamp(target - before, 0.0, std::nextafter(width, 0.0));
    per_rank[summaries[w].rank].push_back({summaries[w].local_world, stratum, residual});
  }
}

// Owner: resolves requests to local indices by walking each world's cumulative scores once.
std::vector<std::int64_t> resolve(std::span<const double> scores, std::span<const Experience> experiences,
                                  std::span<const WorldSlice> worlds, std::vector<DrawRequest> requests) {
  std::sort(requests.begin(), requests.end(), [](const DrawRequest& a, const DrawRequest& b) {
    if (a.local_world != b.local_world) return a.local_world < b.local_world;
    if (a.stratum != b.stratum) return a.stratum < b.stratum;
    return a.residual < b.residual;
  });
  std::vector<std::int64_t> picked;
  picked.reserve(requests.size());
  std::size_t r = 0;
  while (r < requests.size()) {
    const std::int32_t world = requests[r].local_world;
    const std::int32_t stratum = requests[r].stratum;
    const WorldSlice& slice = worlds[world];
    const auto next_in_stratum = [&](std::int64_t i) {
      while (i < slice.end && stratum != 0 && (stratum == 1) != is_crisis(experiences[i])) ++i;
      return i;
    };
    std::int64_t i = next_in_stratum(slice.begin);
    double prefix = 0;
    for (; r < requests.size() && requests[r].local_world == world && requests[r].stratum == stratum; ++r) {
      for (;;) {
        const std::int64_t next = next_in_stratum(i + 1);
        if (prefix + scores[i] > requests[r].residual || next >= slice.end) break;
        prefix += scores[i];
        i = next;
      }
      picked.push_back(i);
    }
  }
  return picked;
}

void finish_rows(SampledBatch& batch, Collectives& collectives) {
  std::stable_sort(batch.rows.begin(), batch.rows.end(), [](const BatchRow& a, const BatchRow& b) {
    if (a.experience.world != b.experience.world) return a.experience.world < b.experience.world;
    if (a.experience.episode != b.experience.episode) return a.experience.episode < b.experience.episode;
    return a.experience.step < b.experience.step;
  });
  batch.first_row = collectives.exclusive_scan_int64(static_cast<std::int64_t>(batch.rows.size()));
}

// The fewest rows whose share of the batch is at least `share`. ceil(share * batch) alone can
// overshoot by one when the product rounds up (0.14 * 50 is 7.000000000000001 in doubles).
std::int64_t minimum_crisis_draws(double share, std::int64_t batch) {
  const auto rows = static_cast<std::int64_t>(std::ceil(share * static_cast<double>(batch)));
  return rows > 0 && static_cast<double>(rows - 1) / static_cast<double>(batch) >= share ? rows - 1 : rows;
}

// Seed of iteration `iteration`'s priority keys: 48 bits drawn from the job seed (keys themselves
// are drawn under these derived seeds only). Every iteration draws fresh, independent keys;
// within one, a key depends only on its experience's address.
std::uint64_t priority_key_seed(std::uint64_t seed, int iteration) {
  Stream stream(seed, Purpose::priority_keys, 0, static_cast<std::uint32_t>(iteration));
  const std::uint64_t high = stream.next_u32() & 0xffffu;
  return (high << 32) | stream.next_u32();
}

// Every rank learns rank 0's header and receives its own requests; throws on every rank when
// rank 0 found nothing to sample.
std::vector<DrawRequest> publish_decision(Collectives& collectives, std::vector<DrawHeader>& header,
                                          const std::vector<std::vector<DrawRequest>>& per_rank) {
  collectives.broadcast(header);
  if (header[0].failed != 0) throw RuntimeFailure("no experiences to sample from: every world ended without a decision");
  return collectives.scatter(per_rank);
}

const WorldSlice& slice_of(std::span<const WorldSlice> worlds, std::int64_t index) {
  const auto found = std::upper_bound(worlds.begin(), worlds.end(), index,
                                      [](std::int64_t i, const WorldSlice& s) { return i < s.end; });
  return *found;
}

}  // namespace

SampledBatch BatchSampler::draw_proportional(std::span<const double> scores, std::span<const Experience> experiences,
                                             std::span<const WorldSlice> worlds, int iteration, double beta,
                                             Collectives& collectives) const {
  const auto local = summarize_worlds(scores, experiences, worlds, collectives.rank());
  const auto summaries = collectives.gather(local);
  std::vector<std::vector<DrawRequest>> per_rank(collectives.size());
  std::vector<DrawHeader> header(1);
  if (collectives.is_root()) {
    header[0] = totals_of(summaries);
    header[0].batch = config_.batch_size;
    if (header[0].population == 0) {
      header[0].failed = 1;
    } else {
      Stream stream(seed_, Purpose::sampler, 0, static_cast<std::uint32_t>(iteration));
      draw_points(summaries, 0, config_.batch_size, stream, per_rank);
    }
  }
  const auto requests = publish_decision(collectives, header, per_rank);
  const DrawHeader& h = header[0];

  SampledBatch batch;
  const double n = static_cast<double>(h.population);
  for (std::int64_t index : resolve(scores, experiences, worlds, requests)) {
    const double probability = scores[index] / h.total;
    batch.rows.push_back(make_row(experiences, slice_of(worlds, index), index, probability,
                                  std::pow(n * probability, -beta)));
  }
  finish_rows(batch, collectives);
  batch.summary.population = h.population;
  batch.summary.crisis_population = h.crisis_population;
  batch.summary.predicted_crisis_share = h.crisis_total / h.total;
  batch.summary.beta = beta;
  batch.summary.max_weight = std::pow(n * h.min_score / h.total, -beta);
  return batch;
}

SampledBatch BatchSampler::draw_stratified(std::span<const double> scores, std::span<const Experience> experiences, std::span<const WorldSlice> worlds,
                                           int iteration, Collectives& collectives) const {
  const auto local = summarize_worlds(scores, experiences, worlds, collectives.rank());
  const auto summaries = collectives.gather(local);
  std::vector<std::vector<DrawRequest>> per_rank(collectives.size());
  std::vector<DrawHeader> header(1);
  if (collectives.is_root()) {
    DrawHeader& h = header[0] = totals_of(summaries);
    h.batch = config_.batch_size;
    const auto batch = static_cast<double>(config_.batch_size);
    if (h.population == 0) {
      h.failed = 1;
    } else {
      std::int64_t crisis_draws = std::llround(batch * h.crisis_total / h.total);
      crisis_draws = std::max(crisis_draws, minimum_crisis_draws(config_.min_crisis_share, config_.batch_size));
      // A non-empty stratum with no draws could never be picked: its weights would not be unbiased.
      if (config_.batch_size >= 2) crisis_draws = std::clamp<std::int64_t>(crisis_draws, 1, config_.batch_size - 1);
      if (h.crisis_population == 0) crisis_draws = 0;
      if (h.crisis_population == h.population) crisis_draws = config_.batch_size;
      h.crisis_draws = std::min(crisis_draws, config_.batch_size);
      Stream stream(seed_, Purpose::sampler, 0, static_cast<std::uint32_t>(iteration));
      draw_points(summaries, 1, h.crisis_draws, stream, per_rank);
      draw_points(summaries, 2, config_.batch_size - h.crisis_draws, stream, per_rank);
    }
  }
  const auto requests = publish_decision(collectives, header, per_rank);
  const DrawHeader& h = header[0];

  SampledBatch batch;
  const double n = static_cast<double>(h.population);
  const double b = static_cast<double>(h.batch);
  const auto draws_of = [&](bool crisis) {
    return static_cast<double>(crisis ? h.crisis_draws : h.batch - h.crisis_draws);
  };
  for (std::int64_t index : resolve(scores, experiences, worlds, requests)) {
    const bool crisis = is_crisis(experiences[index]);
    const double stratum_total = crisis ? h.crisis_total : h.regular_total;
    const double probability = draws_of(crisis) / b * scores[index] / stratum_total;
    batch.rows.push_back(make_row(experiences, slice_of(worlds, index), index, probability, 1.0 / (n * probability)));
  }
  finish_rows(batch, collectives);
  batch.summary.population = h.population;
  batch.summary.crisis_population = h.crisis_population;
  batch.summary.predicted_crisis_share = static_cast<double>(h.crisis_draws) / b;
  batch.summary.crisis_draws = h.crisis_draws;
  batch.summary.beta = 1.0;
  double max_weight = 0;
  if (h.crisis_draws > 0) max_weight = h.crisis_total * b / (n * draws_of(true) * h.crisis_min);
  if (h.crisis_draws < h.batch)
    max_weight = std::max(max_weight, h.regular_total * b / (n * draws_of(false) * h.regular_min));
  batch.summary.max_weight = max_weight;
  return batch;
}

SampledBatch BatchSampler::draw_without_replacement(std::span<const double> scores, std::span<const Experience> experiences,
                                                    std::span<const WorldSlice> worlds, int iteration,
                                                    Collectives& collectives) const {
  const auto local = summarize_worlds(scores, experiences, worlds, collectives.rank());
  const auto summaries = collectives.gather(local);

  // Priority sampling (Duffield, Lund, Thorup): key = score / u, keep the B largest keys.
  // u comes from the experience's own address under the iteration's key seed, so keys do not
  // depend on the partition, and each iteration is a new sample.
  const std::uint64_t key_seed = priority_key_seed(seed_, iteration);
  std::vector<Candidate> keys;
  keys.reserve(experiences.size());
  for (const WorldSlice& slice : worlds) {
    for (std::int64_t i = slice.begin; i < slice.end; ++i) {
      const Experience& e = experiences[i];
      Stream stream(key_seed, Purpose::priority_keys, static_cast<std::uint32_t>(e.world),
                    static_cast<std::uint32_t>(e.episode), static_cast<std::uint32_t>(e.step));
      keys.push_back({scores[i] / stream.uniform(), slice.world, i, collectives.rank(), 0});
    }
  }
  const auto larger = [](const Candidate& a, const Candidate& b) {
    if (a.key != b.key) return a.key > b.key;
    if (a.world != b.world) return a.world < b.world;
    return a.local_index < b.local_index;
  };
  const std::size_t keep = std::min(keys.size(), static_cast<std::size_t>(config_.batch_size + 1));
  std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(keep), keys.end(), larger);
  keys.resize(keep);
  auto candidates = collectives.gather(keys);

  std::vector<std::vector<std::int64_t>> per_rank(collectives.size());
  std::vector<DrawHeader> header(1);
  if (collectives.is_root()) {
    DrawHeader& h = header[0] = totals_of(summaries);
    h.batch = config_.batch_size;
    if (h.population <= config_.batch_size) {
      h.failed = 1;
    } else {
      std::sort(candidates.begin(), candidates.end(), larger);
      h.threshold = candidates[static_cast<std::size_t>(config_.batch_size)].key;
      for (std::int64_t j = 0; j < config_.batch_size; ++j)
        per_rank[candidates[j].rank].push_back(candidates[j].local_index);
    }
  }
  collectives.broadcast(header);
  const DrawHeader& h = header[0];
  if (h.failed != 0)
    throw RuntimeFailure("sampling.mode = 'without_replacement' needs more experiences (" +
                         std::to_string(h.population) + ") than sampling.batch_size (" +
                         std::to_string(h.batch) + "); lower the batch size or simulate more");
  const auto selected = collectives.scatter(per_rank);

  SampledBatch batch;
  const double n = static_cast<double>(h.population);
  const double b = static_cast<double>(h.batch);
  for (std::int64_t index : selected) {
    const double inclusion = std::min(1.0, scores[index] / h.threshold);
    batch.rows.push_back(make_row(experiences, slice_of(worlds, index), index, inclusion, b / (n * inclusion)));
  }
  finish_rows(batch, collectives);

  // Expected crisis rows: sum of crisis inclusion probabilities, per world, summed in world order.
  std::vector<double> local_expected(worlds.size(), 0.0);
  for (std::size_t w = 0; w < worlds.size(); ++w)
    for (std::int64_t i = worlds[w].begin; i < worlds[w].end; ++i)
      if (is_crisis(experiences[i]))
        local_expected[w] += std::min(1.0, scores[i] / h.threshold);
  const auto expected = collectives.gather(local_expected);
  std::vector<double> predicted{0.0};
  if (collectives.is_root())
    for (double x : expected) predicted[0] += x;
  collectives.broadcast(predicted);

  batch.summary.population = h.population;
  batch.summary.crisis_population = h.crisis_population;
  batch.summary.predicted_crisis_share = predicted[0] / b;
  batch.summary.beta = 1.0;
  batch.summary.threshold = h.threshold;
  batch.summary.max_weight = b / (n * std::min(1.0, h.min_score / h.threshold));
  return batch;
}

double kish_effective_sample_size(std::span<const double> weights) {
  double sum = 0;
  double squares = 0;
  for (double w : weights) {
    sum += w;
    squares += w * w;
  }
  return squares > 0 ? sum * sum / squares : 0.0;
}

BatchStatistics summarize_batch(std::span<const BatchRow> rows) {
  BatchStatistics stats;
  if (rows.empty()) return stats;
  std::vector<double> weights;
  weights.reserve(rows.size());
  double crisis = 0;
  double truth = 0;
  double weighted_reward = 0;
  stats.weight_min = std::numeric_limits<double>::infinity();
  for (const BatchRow& row : rows) {
    weights.push_back(row.weight);
    crisis += is_crisis(row.experience) ? 1 : 0;
    truth += row.experience.crisis_truth() ? 1 : 0;
    weighted_reward += row.weight * (row.experience.conversion_value - row.experience.cost);  // realized reward
    stats.weight_min = std::min(stats.weight_min, row.weight);
    stats.weight_max = std::max(stats.weight_max, row.weight);
    stats.weight_mean += row.weight;
  }
  const double count = static_cast<double>(rows.size());
  stats.crisis_share = crisis / count;
  stats.crisis_truth_share = truth / count;
  stats.weight_mean /= count;
  double variance = 0;
  for (double w : weights) variance += (w - stats.weight_mean) * (w - stats.weight_mean);
  stats.weight_std = std::sqrt(variance / count);
  stats.effective_sample_size = kish_effective_sample_size(weights);
  stats.weighted_reward_mean = weighted_reward / count;
  return stats;
}

}  // namespace manyworlds
