// Under real mpirun: batches, weights and event types byte-identical to a serial draw; bytes moved O(worlds), not
// O(experiences).
#include <gtest/gtest.h>

#include <boost/mpi/communicator.hpp>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/sampling/event_types.hpp"
#include "manyworlds/sampling/sampler.hpp"

namespace manyworlds {
namespace {

constexpr std::int64_t sampler_world_count = 23;
constexpr int steps_per_episode = 6;

// Experiences of `world`: every fifth world and worlds 11..13 (rank 3's whole block with 7 ranks)
// are EMPTY, the others hold 3..13 (times `scale`).
int world_size(std::int64_t world, int scale) {
  const bool empty = world % 5 == 2 || (world >= 11 && world <= 13);
  return empty ? 0 : static_cast<int>(3 + (world * 7) % 11) * scale;
}

// Everything an experience holds is derived from (world, index): worlds with world % 7 == 3 are
// crisis only, world % 7 == 5 regular only, the rest mixed.
Experience synthetic_experience(std::int64_t world, int index, int size) {
  Experience e;
  e.world = static_cast<std::int32_t>(world);
  e.episode = index / steps_per_episode;
  e.step = index % steps_per_episode;
  for (int k = 0; k < obs_dim; ++k)
    e.obs[static_cast<std::size_t>(k)] = static_cast<float>(world * 100 + index + k) * 0.01f;
  const int mix = static_cast<int>((world * 31 + index * 17) % 10);
  const bool crisis = world % 7 == 3 || (world % 7 != 5 && mix < 2);
  const bool done = e.step == steps_per_episode - 1 || index + 1 == size;
  e.flags = static_cast<std::uint8_t>((crisis ? flag_crisis_truth : 0) | (done ? flag_done : 0));
  e.tags = mix == 7 ? 1u << 1 : 1u << 0;
  const int w = static_cast<int>(world);
  e.advantage = static_cast<float>(((index % 2 == 0) ? 1 : -1) * (0.02 + 0.1 * ((w * 3 + index * 5) % 17)));
  e.expected_reward = static_cast<float>((crisis ? 9.0 : -0.25) + 0.5 * ((w + index) % 4));
  e.conversion_value = static_cast<float>(mix >= 6 ? (w % 4) * 2.5 + index % 3 : 0.0);
  return e;
}

struct LocalPopulation {
  std::vector<Experience> experiences;
  std::vector<WorldSlice> worlds;
};

// The experiences of `part`'s block of worlds (block_of); one part of one is the whole population.
LocalPopulation population_of(int parts, int part, int scale) {
  LocalPopulation population;
  const IdRange block = block_of(sampler_world_count, parts, part);
  for (std::int64_t world = block.begin; world < block.end; ++world) {
    WorldSlice slice{world, static_cast<std::int64_t>(population.experiences.size()), 0};
    const int size = world_size(world, scale);
    for (int index = 0; index < size; ++index)
      population.experiences.push_back(synthetic_experience(world, index, size));
    slice.end = static_cast<std::int64_t>(population.experiences.size());
    population.worlds.push_back(slice);
  }
  return population;
}

EventTypeSection event_config() {
  EventTypeSection events;
  events.precedence = {EventSource::keywords, EventSource::value_percentile, EventSource::ground_truth};
  events.keywords = {"urgent"};
  events.value_percentile = 85.0;
  return events;
}

const std::vector<std::string> tag_vocabulary{"family", "urgent"};

SamplingSection sampling_config(SamplingMode mode) {
  SamplingSection config;
  config.mode = mode;
  config.batch_size = 32;
  config.crisis_weight = 5.0;
  config.alpha = 0.6;
  config.advantage_priority = true;
  config.min_crisis_share = 0.25;
  config.events = event_config();
  return config;
}

bool same_bytes(const void* a, const void* b, std::size_t size) { return std::memcmp(a, b, size) == 0; }

class SamplerRanks : public ::testing::Test {
 protected:
  boost::mpi::communicator communicator;
  MpiCollectives collectives{communicator};
  const int rank = communicator.rank();
  const int ranks = communicator.size();

  // This rank's population with event types set collectively.
  LocalPopulation classified_local(int scale) {
    LocalPopulation local = population_of(ranks, rank, scale);
    EventTyper(event_config(), tag_vocabulary).classify(local.experiences, collectives);
    return local;
  }
  static LocalPopulation classified_serial(int scale) {
    LocalPopulation all = population_of(1, 0, scale);
    SerialCollectives serial;
    EventTyper(event_config(), tag_vocabulary).classify(all.experiences, serial);
    return all;
  }
};

TEST_F(SamplerRanks, EventTypesAndIdentificationCountsMatchTheSerialRun) {
  LocalPopulation local = population_of(ranks, rank, 1);
  const IdentificationCounts counts =
      EventTyper(event_config(), tag_vocabulary).classify(local.experiences, collectives);
  const auto gathered = collectives.gather(local.experiences);
  if (rank != 0) return;
  LocalPopulation all = population_of(1, 0, 1);
  SerialCollectives serial;
  const IdentificationCounts expected = EventTyper(event_config(), tag_vocabulary).classify(all.experiences, serial);
  ASSERT_EQ(gathered.size(), all.experiences.size());
  EXPECT_TRUE(same_bytes(gathered.data(), all.experiences.data(), gathered.size() * sizeof(Experience)));
  EXPECT_EQ(counts.true_positive, expected.true_positive);
  EXPECT_EQ(counts.false_positive, expected.false_positive);
  EXPECT_EQ(counts.false_negative, expected.false_negative);
  EXPECT_EQ(counts.true_negative, expected.true_negative);
  EXPECT_GT(expected.false_positive + expected.false_negative, 0);  // the sources do disagree with the truth
}

TEST_F(SamplerRanks, BatchesAreByteIdenticalToASerialDrawForEveryMode) {
  const LocalPopulation local = classified_local(1);
  const LocalPopulation all = rank == 0 ? classified_serial(1) : LocalPopulation{};
  for (SamplingMode mode : {SamplingMode::proportional, SamplingMode::stratified, SamplingMode::without_replacement}) {
    const BatchSampler sampler(sampling_config(mode), 20240611);
    for (int iteration : {0, 1, 7, 12}) {
      const double beta = mode == SamplingMode::proportional ? 0.4 + 0.05 * iteration : 1.0;
      const SampledBatch batch = sampler.draw(local.experiences, local.worlds, iteration, beta, collectives);
      const auto rows = collectives.gather(batch.rows);
      const auto summaries = collectives.gather(std::vector<DrawSummary>{batch.summary});
      const auto first_rows =
          collectives.gather(std::vector<std::int64_t>{batch.first_row, static_cast<std::int64_t>(batch.rows.size())});
      if (rank != 0) continue;
      SerialCollectives serial;
      const SampledBatch reference = sampler.draw(all.experiences, all.worlds, iteration, beta, serial);
      const std::string where = std::string(to_string(mode)) + ", iteration " + std::to_string(iteration);
      // No ASSERT here: returning early on rank 0 would leave the other ranks waiting in a collective.
      EXPECT_EQ(rows.size(), 32u) << where;
      EXPECT_EQ(rows.size(), reference.rows.size()) << where;
      if (rows.size() == reference.rows.size()) {
        EXPECT_TRUE(same_bytes(rows.data(), reference.rows.data(), rows.size() * sizeof(BatchRow))) << where;
      }
      for (const DrawSummary& summary : summaries)
        EXPECT_TRUE(same_bytes(&summary, &reference.summary, sizeof(DrawSummary))) << where;
      std::int64_t expected_first = 0;
      for (int r = 0; r < ranks; ++r) {
        EXPECT_EQ(first_rows[static_cast<std::size_t>(2 * r)], expected_first) << where << ", rank " << r;
        expected_first += first_rows[static_cast<std::size_t>(2 * r + 1)];
      }
    }
  }
}

TEST_F(SamplerRanks, BytesMovedPerDrawDoNotGrowWithTheNumberOfExperiences) {
  const LocalPopulation small = classified_local(1);
  const LocalPopulation large = classified_local(100);
  const std::int64_t small_count = collectives.sum(static_cast<std::int64_t>(small.experiences.size()));
  const std::int64_t large_count = collectives.sum(static_cast<std::int64_t>(large.experiences.size()));
  for (SamplingMode mode : {SamplingMode::proportional, SamplingMode::stratified, SamplingMode::without_replacement}) {
    const BatchSampler sampler(sampling_config(mode), 77);
    const auto bytes_of_draw = [&](const LocalPopulation& population) {
      const std::int64_t before = collectives.bytes_moved();
      sampler.draw(population.experiences, population.worlds, 3, 1.0, collectives);
      return collectives.bytes_moved() - before;
    };
    const std::int64_t small_bytes = bytes_of_draw(small);
    const std::int64_t large_bytes = bytes_of_draw(large);
    const std::int64_t large_total = collectives.sum(large_bytes);
    if (rank == 0)
      std::cout << "[ stats    ] " << to_string(mode) << ", " << ranks << " ranks: bytes moved per draw by rank 0 "
                << small_bytes << " (" << small_count << " experiences), " << large_bytes << " (" << large_count
                << " experiences); all ranks " << large_total << "\n";
    // Per-world summaries, the draw's decision and the threshold search only: no payload grows
    // with the experiences (nor with the batch: requests and candidates never travel).
    EXPECT_EQ(large_bytes, small_bytes) << to_string(mode);
    if (ranks > 1) {
      EXPECT_LT(large_total * 10, large_count * static_cast<std::int64_t>(sizeof(Experience))) << to_string(mode);
    }
  }
}

}  // namespace
}  // namespace manyworlds
