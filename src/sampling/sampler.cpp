// The distributed importance sampler: per-world summaries all-gathered, decisions made alike on every rank, rows stay
// with their owners.
#include "manyworlds/sampling/sampler.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {

namespace {

// Per-world facts every rank all-gathers (72 bytes per world).
struct WorldSummary {
  std::int64_t count = 0;
  std::int64_t crisis_count = 0;
  double sum = 0;          // sum of scores over all experiences, in step order
  double crisis_sum = 0;   // ... over crisis experiences only
  double regular_sum = 0;  // ... over regular experiences only
  double min_score = std::numeric_limits<double>::infinity();
  double crisis_min = std::numeric_limits<double>::infinity();
  double regular_min = std::numeric_limits<double>::infinity();
  std::int32_t rank = 0;
  std::int32_t local_world = 0;  // index of the world among its rank's worlds
};

// A point inside one of this rank's worlds' cumulative scores.
struct DrawRequest {
  std::int32_t local_world = 0;
  std::int32_t stratum = 0;  // 0: all experiences, 1: crisis only, 2: regular only
  double residual = 0;
};

// Totals every rank derives alike, to turn a selection into probabilities and weights.
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
};

// Without replacement: one candidate of a rank's local top list.
struct Candidate {
  double key = 0;
  std::int64_t world = 0;
  std::int64_t local_index = 0;
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

// Totals over all worlds, summed in world order.
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

// Every rank draws the same `draws` points uniform over the stratum's cumulative scores (world
// order) and keeps the requests that land in its own worlds. Only those are looked up: a point
// outside this rank's span of the cumulative needs no search, so the replicated work is one
// uniform and two comparisons per point.
void draw_points(const std::vector<WorldSummary>& summaries, int stratum, std::int64_t draws, Stream& stream, int rank,
                 std::vector<DrawRequest>& mine) {
  std::vector<double> cumulative(summaries.size());
  double running = 0;
  for (std::size_t w = 0; w < summaries.size(); ++w) cumulative[w] = running += stratum_sum(summaries[w], stratum);
  const auto owned = [&](const WorldSummary& s) { return s.rank == rank; };
  const auto first =
      static_cast<std::size_t>(std::find_if(summaries.begin(), summaries.end(), owned) - summaries.begin());
  const auto last =
      static_cast<std::size_t>(std::find_if(summaries.begin() + static_cast<std::ptrdiff_t>(first), summaries.end(),
                                            [&](const WorldSummary& s) { return !owned(s); }) -
                               summaries.begin());
  const double low = first == 0 ? 0.0 : cumulative[first - 1];
  const double high = last == 0 ? 0.0 : cumulative[last - 1];
  // A point at the very top (uniform() * running rounded up to running) goes to the last world
  // with a positive share.
  std::size_t top = summaries.size() - 1;
  while (stratum_sum(summaries[top], stratum) <= 0 && top > 0) --top;
  for (std::int64_t j = 0; j < draws; ++j) {
    const double target = stream.uniform() * running;
    std::size_t w = top;
    if (target < running) {
      if (target < low || target >= high) continue;
      w = static_cast<std::size_t>(std::upper_bound(cumulative.begin() + static_cast<std::ptrdiff_t>(first),
                                                    cumulative.begin() + static_cast<std::ptrdiff_t>(last), target) -
                                   cumulative.begin());
    } else if (!owned(summaries[w])) {
      continue;
    }
    const double before = w == 0 ? 0.0 : cumulative[w - 1];
    const double width = stratum_sum(summaries[w], stratum);
    const double residual = std::clamp(target - before, 0.0, std::nextafter(width, 0.0));
    mine.push_back({summaries[w].local_world, stratum, residual});
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
  const auto before = [](const BatchRow& a, const BatchRow& b) {
    if (a.experience.world != b.experience.world) return a.experience.world < b.experience.world;
    if (a.experience.episode != b.experience.episode) return a.experience.episode < b.experience.episode;
    return a.experience.step < b.experience.step;
  };
  // Proportional draws come out in this order already; the check spares the sort's row-sized buffer.
  if (!std::is_sorted(batch.rows.begin(), batch.rows.end(), before))
    std::stable_sort(batch.rows.begin(), batch.rows.end(), before);
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

// The totals every rank derives alike from the all-gathered summaries; throws on every rank when
// there is nothing to sample.
DrawHeader header_of(const std::vector<WorldSummary>& summaries, std::int64_t batch) {
  DrawHeader header = totals_of(summaries);
  header.batch = batch;
  if (header.population == 0)
    throw RuntimeFailure("no experiences to sample from: every world ended without a decision");
  return header;
}

// Priority sampling's order: larger key first; ties by world, then by position in the rank's buffer.
bool first_in_priority_order(const Candidate& a, const Candidate& b) {
  if (a.key != b.key) return a.key > b.key;
  if (a.world != b.world) return a.world < b.world;
  return a.local_index < b.local_index;
}

struct Selection {
  double key = 0;           // the k-th largest key over all ranks
  std::int64_t larger = 0;  // keys above it
};

// The k-th largest of the (positive) keys of all ranks, found four bits at a time from the top of
// its bit pattern (positive doubles order like their bits): sixteen rounds of a 16-bin histogram
// summed over ranks (2 kB per rank in all), so the bytes moved do not depend on the number of
// keys. k >= 1 and at most the number of keys over all ranks.
Selection kth_largest_key(std::span<const Candidate> keys, std::int64_t k, Collectives& collectives) {
  constexpr int bin_bits = 4;
  constexpr std::uint64_t bins = std::uint64_t{1} << bin_bits;
  Selection selection;
  std::uint64_t prefix = 0;
  std::vector<std::int64_t> histogram(bins);
  for (int shift = 64 - bin_bits; shift >= 0; shift -= bin_bits) {
    const std::uint64_t decided = shift + bin_bits == 64 ? 0 : ~std::uint64_t{0} << (shift + bin_bits);
    std::fill(histogram.begin(), histogram.end(), 0);
    for (const Candidate& c : keys) {
      const auto bits = std::bit_cast<std::uint64_t>(c.key);
      if ((bits & decided) == prefix) ++histogram[(bits >> shift) & (bins - 1)];
    }
    collectives.sum_int64(histogram);
    std::size_t bin = bins - 1;
    while (bin > 0 && selection.larger + histogram[bin] < k) selection.larger += histogram[bin--];
    prefix |= static_cast<std::uint64_t>(bin) << shift;
  }
  selection.key = std::bit_cast<double>(prefix);
  return selection;
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
  const auto summaries = collectives.allgather(summarize_worlds(scores, experiences, worlds, collectives.rank()));
  const DrawHeader h = header_of(summaries, config_.batch_size);
  std::vector<DrawRequest> requests;
  Stream stream(seed_, Purpose::sampler, 0, static_cast<std::uint32_t>(iteration));
  draw_points(summaries, 0, config_.batch_size, stream, collectives.rank(), requests);

  SampledBatch batch;
  batch.rows.reserve(requests.size());
  const double n = static_cast<double>(h.population);
  for (std::int64_t index : resolve(scores, experiences, worlds, requests)) {
    const double probability = scores[index] / h.total;
    batch.rows.push_back(
        make_row(experiences, slice_of(worlds, index), index, probability, std::pow(n * probability, -beta)));
  }
  finish_rows(batch, collectives);
  batch.summary.population = h.population;
  batch.summary.crisis_population = h.crisis_population;
  batch.summary.predicted_crisis_share = h.crisis_total / h.total;
  batch.summary.beta = beta;
  batch.summary.max_weight = std::pow(n * h.min_score / h.total, -beta);
  return batch;
}

SampledBatch BatchSampler::draw_stratified(std::span<const double> scores, std::span<const Experience> experiences,
                                           std::span<const WorldSlice> worlds, int iteration,
                                           Collectives& collectives) const {
  const auto summaries = collectives.allgather(summarize_worlds(scores, experiences, worlds, collectives.rank()));
  DrawHeader h = header_of(summaries, config_.batch_size);
  const auto batch_rows = static_cast<double>(config_.batch_size);
  std::int64_t crisis_draws = std::llround(batch_rows * h.crisis_total / h.total);
  crisis_draws = std::max(crisis_draws, minimum_crisis_draws(config_.min_crisis_share, config_.batch_size));
  // A non-empty stratum with no draws could never be picked: its weights would not be unbiased.
  if (config_.batch_size >= 2) crisis_draws = std::clamp<std::int64_t>(crisis_draws, 1, config_.batch_size - 1);
  if (h.crisis_population == 0) crisis_draws = 0;
  if (h.crisis_population == h.population) crisis_draws = config_.batch_size;
  h.crisis_draws = std::min(crisis_draws, config_.batch_size);
  std::vector<DrawRequest> requests;
  Stream stream(seed_, Purpose::sampler, 0, static_cast<std::uint32_t>(iteration));
  draw_points(summaries, 1, h.crisis_draws, stream, collectives.rank(), requests);
  draw_points(summaries, 2, config_.batch_size - h.crisis_draws, stream, collectives.rank(), requests);

  SampledBatch batch;
  batch.rows.reserve(requests.size());
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

SampledBatch BatchSampler::draw_without_replacement(std::span<const double> scores,
                                                    std::span<const Experience> experiences,
                                                    std::span<const WorldSlice> worlds, int iteration,
                                                    Collectives& collectives) const {
  const auto summaries = collectives.allgather(summarize_worlds(scores, experiences, worlds, collectives.rank()));
  DrawHeader h = totals_of(summaries);
  h.batch = config_.batch_size;
  if (h.population <= config_.batch_size)
    throw RuntimeFailure("sampling.mode = 'without_replacement' needs more experiences (" +
                         std::to_string(h.population) + ") than sampling.batch_size (" + std::to_string(h.batch) +
                         "); lower the batch size or simulate more");

  // Priority sampling (Duffield, Lund, Thorup): key = score / u, keep the B largest keys (ties by
  // world, then step order). u comes from the experience's own address under the iteration's key
  // seed, so keys do not depend on the partition, and each iteration is a new sample.
  const std::uint64_t key_seed = priority_key_seed(seed_, iteration);
  std::vector<Candidate> keys;
  keys.reserve(experiences.size());
  for (const WorldSlice& slice : worlds) {
    for (std::int64_t i = slice.begin; i < slice.end; ++i) {
      const Experience& e = experiences[i];
      Stream stream(key_seed, Purpose::priority_keys, static_cast<std::uint32_t>(e.world),
                    static_cast<std::uint32_t>(e.episode), static_cast<std::uint32_t>(e.step));
      keys.push_back({scores[i] / stream.uniform(), slice.world, i});
    }
  }
  // Only this rank's B + 1 first keys in that order can be among the B + 1 first of all ranks.
  const std::size_t keep = std::min(keys.size(), static_cast<std::size_t>(config_.batch_size + 1));
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(keep) - (keep > 0 ? 1 : 0), keys.end(),
                   first_in_priority_order);
  keys.resize(keep);
  const Selection selection = kth_largest_key(keys, config_.batch_size + 1, collectives);
  h.threshold = selection.key;

  // Every key above the threshold is in; of the keys equal to it, the first B - larger in
  // (world, step) order, which is rank order and then this rank's order.
  std::sort(keys.begin(), keys.end(), first_in_priority_order);
  const auto equal = static_cast<std::int64_t>(
      std::count_if(keys.begin(), keys.end(), [&](const Candidate& c) { return c.key == selection.key; }));
  const std::int64_t equal_before = collectives.exclusive_scan_int64(equal);
  std::int64_t equal_taken = std::clamp<std::int64_t>(config_.batch_size - selection.larger - equal_before, 0, equal);
  std::vector<std::int64_t> selected;
  for (const Candidate& c : keys) {
    if (c.key > selection.key) selected.push_back(c.local_index);
    if (c.key == selection.key && equal_taken > 0) {
      selected.push_back(c.local_index);
      --equal_taken;
    }
  }

  SampledBatch batch;
  batch.rows.reserve(selected.size());
  const double n = static_cast<double>(h.population);
  const double b = static_cast<double>(h.batch);
  for (std::int64_t index : selected) {
    const double inclusion = std::min(1.0, scores[index] / h.threshold);
    batch.rows.push_back(make_row(experiences, slice_of(worlds, index), index, inclusion, b / (n * inclusion)));
  }
  finish_rows(batch, collectives);

  // Expected crisis rows: the exact sum of the crisis experiences' inclusion probabilities.
  ExactSum expected(1);
  for (std::size_t i = 0; i < experiences.size(); ++i)
    if (is_crisis(experiences[i])) expected.add(0, std::min(1.0, scores[i] / h.threshold));
  double predicted = 0;
  expected.reduce(collectives, std::span<double>(&predicted, 1));

  batch.summary.population = h.population;
  batch.summary.crisis_population = h.crisis_population;
  batch.summary.predicted_crisis_share = predicted / b;
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

BatchStatistics summarize_batch(std::span<const BatchRow> rows, Collectives& collectives) {
  BatchStatistics stats;
  std::int64_t counts[3] = {static_cast<std::int64_t>(rows.size()), 0, 0};  // rows, crisis, truth
  std::vector<double> extremes{-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  ExactSum sums(3);  // sum w, sum w^2, sum w r
  for (const BatchRow& row : rows) {
    counts[1] += is_crisis(row.experience) ? 1 : 0;
    counts[2] += row.experience.crisis_truth() ? 1 : 0;
    extremes[0] = std::max(extremes[0], row.weight);
    extremes[1] = std::max(extremes[1], -row.weight);
    sums.add(0, row.weight);
    sums.add(1, row.weight * row.weight);
    sums.add(2, row.weight * (row.experience.conversion_value - row.experience.cost));  // realized reward
  }
  collectives.sum_int64(counts);
  collectives.max_double(extremes);
  std::array<double, 3> totals{};
  sums.reduce(collectives, totals);
  if (counts[0] == 0) return stats;
  const double count = static_cast<double>(counts[0]);
  stats.crisis_share = static_cast<double>(counts[1]) / count;
  stats.crisis_truth_share = static_cast<double>(counts[2]) / count;
  stats.weight_max = extremes[0];
  stats.weight_min = -extremes[1];
  stats.weight_mean = totals[0] / count;
  ExactSum squares(1);
  for (const BatchRow& row : rows) squares.add(0, (row.weight - stats.weight_mean) * (row.weight - stats.weight_mean));
  double variance = 0;
  squares.reduce(collectives, std::span<double>(&variance, 1));
  stats.weight_std = std::sqrt(variance / count);
  stats.effective_sample_size = totals[1] > 0 ? totals[0] * totals[0] / totals[1] : 0.0;
  stats.weighted_reward_mean = totals[2] / count;
  return stats;
}

}  // namespace manyworlds
