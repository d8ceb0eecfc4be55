// Under real mpirun: exact sums and the data-parallel PPO update give the serial bits for any partition.
#include <gtest/gtest.h>

#include <bit>
#include <boost/mpi/communicator.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "manyworlds/core/partition.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/ppo.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {
namespace {

constexpr std::size_t components = 3;

// Groups of four: a value x from 1e-300 to 1e300 with a random sign, a term s of another size, -x
// and a term t; group g goes to component g % 3, whose sum is then the sum of the s and t terms
// (x + s - x in doubles loses s when |s| is below half an ulp of x).
std::vector<double> contributions() {
  Stream stream(31, Purpose::training, 7);
  std::vector<double> values;
  for (int k = -300; k <= 300; k += 3) {
    const double x = stream.uniform(1.0, 10.0) * std::pow(10.0, k) * (stream.uniform() < 0.5 ? -1 : 1);
    values.insert(values.end(),
                  {x, stream.normal() * std::pow(10.0, k / 2), -x, stream.normal() * std::pow(10.0, -k / 3)});
  }
  return values;
}

// The rank that adds contribution i under partition scheme `scheme`.
int owner(std::size_t i, int scheme, int ranks) {
  switch (scheme) {
    case 0:
      return static_cast<int>(i % static_cast<std::size_t>(ranks));  // round robin
    case 1:
      return owner_of(static_cast<std::int64_t>(contributions().size()), ranks,
                      static_cast<std::int64_t>(i));  // blocks
    case 2:
      return ranks - 1 - static_cast<int>(i % static_cast<std::size_t>(ranks));  // reversed
    default: {
      Stream stream(scheme, Purpose::training, static_cast<std::uint32_t>(i));
      return static_cast<int>(stream.below(static_cast<std::uint32_t>(ranks)));  // scattered
    }
  }
}

std::size_t component_of(std::size_t contribution) { return (contribution / 4) % components; }

std::vector<std::uint64_t> bits_of(const std::vector<double>& values) {
  std::vector<std::uint64_t> bits;
  for (double v : values) bits.push_back(std::bit_cast<std::uint64_t>(v));
  return bits;
}

class DistributedUpdateRanks : public ::testing::Test {
 protected:
  boost::mpi::communicator communicator;
  MpiCollectives collectives{communicator};
  const int rank = communicator.rank();
  const int ranks = communicator.size();
};

TEST_F(DistributedUpdateRanks, ExactSumGivesTheSerialBitsForEveryPartitionAndOrder) {
  const std::vector<double> values = contributions();
  SerialCollectives serial;
  ExactSum reference(components);
  for (std::size_t i = 0; i < values.size(); ++i) reference.add(component_of(i), values[i]);
  std::vector<double> expected(components);
  reference.reduce(serial, expected);
  // The data really needs the exact sum: small terms decide, and plain sums lose them.
  std::vector<double> plain(components, 0.0);
  for (std::size_t i = 0; i < values.size(); ++i) plain[component_of(i)] += values[i];
  EXPECT_NE(bits_of(plain), bits_of(expected));

  for (int scheme = 0; scheme < 6; ++scheme) {
    ExactSum sum(components);
    // Each rank adds its share backwards, another order than the reference's.
    for (std::size_t i = values.size(); i-- > 0;)
      if (owner(i, scheme, ranks) == rank) sum.add(component_of(i), values[i]);
    std::vector<double> got(components);
    sum.reduce(collectives, got);
    EXPECT_EQ(bits_of(got), bits_of(expected)) << "partition scheme " << scheme << ", " << ranks << " ranks";
  }
}

PolicySection small_policy() {
  PolicySection policy;
  policy.hidden = {8, 8};
  policy.value_hidden = {8};
  return policy;
}

PpoSection small_ppo() {
  PpoSection ppo;
  ppo.learning_rate = 1e-2;
  ppo.epochs = 3;
  ppo.minibatch_size = 23;  // does not divide the batch: the last minibatch is smaller
  return ppo;
}

constexpr std::int64_t world_count = 11;

// World w holds 2 + 3 w % 7 rows (world 4 none): samples from the policy with noisy old log-probabilities.
LocalBatch world_rows(const PolicyModel& model, const Eigen::VectorXd& params, IdRange worlds) {
  LocalBatch batch;
  for (std::int64_t w = 0; w < world_count; ++w) {
    const std::int64_t rows = w == 4 ? 0 : 2 + (3 * w) % 7;
    for (std::int64_t i = 0; i < rows; ++i) {
      Stream stream(5, Purpose::training, static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(i));
      TrainingSample s;
      for (float& x : s.obs) x = static_cast<float>(stream.uniform(-1.0, 1.0));
      s.log_bid_multiplier = static_cast<float>(stream.normal(0.0, 0.5));
      s.creative = static_cast<int>(stream.below(static_cast<std::uint32_t>(model.creatives())));
      s.log_prob = static_cast<float>(model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative) +
                                      stream.uniform(-0.3, 0.3));
      s.advantage = static_cast<float>(stream.normal());
      s.value_target = static_cast<float>(stream.normal());
      s.weight = static_cast<float>(stream.uniform(0.1, 4.0));
      if (worlds.contains(w)) {
        batch.samples.push_back(s);
        batch.worlds.push_back(w);
      } else if (w < worlds.begin) {
        ++batch.first_row;
      }
      ++batch.total_rows;
    }
  }
  return batch;
}

// This rank's worlds: blocks, or every world on the last rank (the others hold none).
IdRange worlds_of(bool lopsided, int rank, int ranks) {
  if (!lopsided) return block_of(world_count, ranks, rank);
  return rank == ranks - 1 ? IdRange{0, world_count} : IdRange{0, 0};
}

TEST_F(DistributedUpdateRanks, CombinedGradientEqualsTheSerialOneToTheBit) {
  const PolicyModel model(small_policy(), 3);
  Stream init(2, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const LocalBatch whole = world_rows(model, params, {0, world_count});
  SerialCollectives serial;
  const Eigen::VectorXd expected = PpoTrainer(model, small_ppo(), params).batch_gradient(whole, serial);

  // Independently: the plain ppo_loss gradient of each world alone (n = all rows), summed exactly.
  ExactSum per_world(static_cast<std::size_t>(model.parameter_count()));
  Eigen::VectorXd grad;
  for (std::int64_t w = 0; w < world_count; ++w) {
    std::vector<TrainingSample> rows;
    for (std::size_t i = 0; i < whole.samples.size(); ++i)
      if (whole.worlds[i] == w) rows.push_back(whole.samples[i]);
    ppo_loss(model, small_ppo(), params, rows, grad, static_cast<double>(whole.total_rows));
    if (!rows.empty()) per_world.add(std::span<const double>(grad.data(), static_cast<std::size_t>(grad.size())));
  }
  Eigen::VectorXd independent(model.parameter_count());
  per_world.reduce(serial, std::span<double>(independent.data(), static_cast<std::size_t>(independent.size())));
  EXPECT_EQ(
      std::memcmp(expected.data(), independent.data(), sizeof(double) * static_cast<std::size_t>(expected.size())), 0);
  // ... and it is the whole batch's gradient up to rounding.
  ppo_loss(model, small_ppo(), params, whole.samples, grad);
  EXPECT_LT((grad - expected).norm(), 1e-12 * expected.norm());

  for (bool lopsided : {false, true}) {
    PpoTrainer trainer(model, small_ppo(), params);
    const Eigen::VectorXd combined =
        trainer.batch_gradient(world_rows(model, params, worlds_of(lopsided, rank, ranks)), collectives);
    EXPECT_EQ(std::memcmp(combined.data(), expected.data(), sizeof(double) * static_cast<std::size_t>(expected.size())),
              0)
        << ranks << " ranks, " << (lopsided ? "all worlds on the last rank" : "blocks");
  }
}

TEST_F(DistributedUpdateRanks, UpdatesGiveTheSerialParametersStateAndStatistics) {
  const PolicyModel model(small_policy(), 3);
  Stream init(3, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  PpoTrainer serial_trainer(model, small_ppo(), params);
  SerialCollectives serial;
  LocalBatch whole = world_rows(model, params, {0, world_count});
  normalize_advantages(whole.samples, serial);
  const PpoStats expected_first = serial_trainer.update(whole, 9, 1, serial);
  const PpoStats expected_second = serial_trainer.update(whole, 9, 2, serial, 0.5e-2);

  for (bool lopsided : {false, true}) {
    const std::string where =
        std::to_string(ranks) + " ranks, " + (lopsided ? "all worlds on the last rank" : "blocks");
    PpoTrainer trainer(model, small_ppo(), params);
    LocalBatch local = world_rows(model, params, worlds_of(lopsided, rank, ranks));
    normalize_advantages(local.samples, collectives);
    const PpoStats first = trainer.update(local, 9, 1, collectives);
    const PpoStats second = trainer.update(local, 9, 2, collectives, 0.5e-2);
    EXPECT_EQ(std::memcmp(&first, &expected_first, sizeof(PpoStats)), 0) << where;
    EXPECT_EQ(std::memcmp(&second, &expected_second, sizeof(PpoStats)), 0) << where;
    EXPECT_EQ(trainer.export_parameters(), serial_trainer.export_parameters()) << where;
    EXPECT_EQ(trainer.export_optimizer_state(), serial_trainer.export_optimizer_state()) << where;
  }
  EXPECT_EQ(expected_first.minibatches, 3 * 3);  // 55 rows: minibatches of 23, 23 and 9, three epochs
}

TEST_F(DistributedUpdateRanks, AnEpochOverTheKlLimitStopsTheUpdateOnEveryRank) {
  const PolicyModel model(small_policy(), 3);
  Stream init(4, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  PpoSection ppo = small_ppo();
  ppo.target_kl = 1e-12;
  PpoTrainer trainer(model, ppo, params);
  LocalBatch local = world_rows(model, params, block_of(world_count, ranks, rank));
  const PpoStats stats = trainer.update(local, 9, 1, collectives);
  EXPECT_EQ(stats.epochs, 1);
  EXPECT_EQ(stats.minibatches, 3);
  EXPECT_GT(stats.last_epoch_kl, 1e-12);
  std::vector<double> mine = trainer.export_parameters();
  std::vector<double> largest = mine;
  collectives.max_double(largest);
  EXPECT_EQ(mine, largest);  // every rank holds the same parameters
}

}  // namespace
}  // namespace manyworlds
