// MPI tests of the parallel layer: MpiCollectives (gather, allgather, reductions, byte counts), broadcast_object,
// any_rank and agree_or_throw.
#include <gtest/gtest.h>

#include <boost/archive/binary_oarchive.hpp>
#include <boost/mpi/communicator.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "manyworlds/app/serialization.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"
#include "manyworlds/parallel/error_agreement.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {
namespace {

constexpr std::int64_t two_to_53 = std::int64_t{1} << 53;
constexpr std::int64_t size_word = 8;  // block sizes travel as one int64 (see mpi_collectives.hpp)

// The byte that rank `rank` puts at position `index` of its block: differs between ranks and positions.
std::byte pattern_byte(int rank, std::size_t index) {
  return static_cast<std::byte>((rank * 131 + static_cast<int>(index % 251) * 7 + 1) & 0xFF);
}

std::vector<std::byte> pattern_block(int rank, std::size_t length) {
  std::vector<std::byte> block(length);
  for (std::size_t index = 0; index < length; ++index) block[index] = pattern_byte(rank, index);
  return block;
}

// The concatenation, in rank order, of pattern blocks of the given lengths.
std::vector<std::byte> concatenated_blocks(const std::vector<std::size_t>& lengths) {
  std::vector<std::byte> all;
  for (std::size_t rank = 0; rank < lengths.size(); ++rank) {
    const auto block = pattern_block(static_cast<int>(rank), lengths[rank]);
    all.insert(all.end(), block.begin(), block.end());
  }
  return all;
}

template <class LengthOfRank>
std::vector<std::size_t> lengths_for(int ranks, LengthOfRank length_of_rank) {
  std::vector<std::size_t> lengths;
  for (int rank = 0; rank < ranks; ++rank) lengths.push_back(length_of_rank(rank));
  return lengths;
}

class MpiCollectivesTest : public ::testing::Test {
 protected:
  boost::mpi::communicator world;
  MpiCollectives collectives{world};
  const int rank = world.rank();
  const int ranks = world.size();
};

TEST_F(MpiCollectivesTest, RankSizeAndRawCommunicatorMatchTheCommunicator) {
  EXPECT_EQ(collectives.rank(), rank);
  EXPECT_EQ(collectives.size(), ranks);
  EXPECT_EQ(collectives.is_root(), rank == 0);
  int comparison = MPI_UNEQUAL;
  ASSERT_EQ(MPI_Comm_compare(collectives.raw_comm(), MPI_COMM_WORLD, &comparison), MPI_SUCCESS);
  EXPECT_EQ(comparison, MPI_IDENT);
  EXPECT_EQ(collectives.bytes_moved(), 0);
}

TEST_F(MpiCollectivesTest, GatherConcatenatesVariableLengthBlocksInRankOrder) {
  // Rank 0's block is empty; the others differ in length and content.
  const auto small_lengths = lengths_for(ranks, [](int r) { return static_cast<std::size_t>((r * 3) % 4); });
  const auto gathered = collectives.gather_bytes(pattern_block(rank, small_lengths[rank]));
  if (rank == 0)
    EXPECT_EQ(gathered, concatenated_blocks(small_lengths));
  else
    EXPECT_TRUE(gathered.empty());

  // Blocks large enough to leave MPI's eager protocol.
  const auto large_lengths = lengths_for(ranks, [](int r) { return static_cast<std::size_t>(200000 + 17 * r); });
  const auto large = collectives.gather_bytes(pattern_block(rank, large_lengths[rank]));
  if (rank == 0)
    EXPECT_EQ(large, concatenated_blocks(large_lengths));
  else
    EXPECT_TRUE(large.empty());
}

TEST_F(MpiCollectivesTest, GatherOfNothingFromEveryRankIsEmpty) {
  const auto gathered = collectives.gather_bytes({});
  EXPECT_TRUE(gathered.empty());
}

TEST_F(MpiCollectivesTest, GatherRootIsRankZeroOfTheGivenCommunicator) {
  // Split into even and odd world ranks, ordered by descending world rank inside each half.
  boost::mpi::communicator half = world.split(rank % 2, -rank);
  MpiCollectives half_collectives(half);
  const std::int64_t my_world_rank = rank;
  const auto gathered = half_collectives.gather(std::vector<std::int64_t>{my_world_rank});
  if (half.rank() == 0) {
    std::vector<std::int64_t> expected;
    for (int other = ranks - 1; other >= 0; --other)
      if (other % 2 == rank % 2) expected.push_back(other);
    EXPECT_EQ(gathered, expected);
    EXPECT_EQ(rank, static_cast<int>(expected.front()));  // the highest world rank of the half
  } else {
    EXPECT_TRUE(gathered.empty());
  }
}

TEST_F(MpiCollectivesTest, BroadcastReplacesEveryRanksBytesWithTheRoots) {
  std::vector<std::byte> bytes = rank == 0 ? pattern_block(0, 300000) : std::vector<std::byte>(5, std::byte{0xEE});
  collectives.broadcast_bytes(bytes);
  EXPECT_EQ(bytes, pattern_block(0, 300000));

  std::vector<std::byte> empty_on_root =
      rank == 0 ? std::vector<std::byte>{} : std::vector<std::byte>(3, std::byte{0x11});
  collectives.broadcast_bytes(empty_on_root);
  EXPECT_TRUE(empty_on_root.empty());

  double value = rank == 0 ? 0.1 + 0.2 : -1.0;
  collectives.broadcast(value);
  EXPECT_EQ(value, 0.1 + 0.2);
}

TEST_F(MpiCollectivesTest, SumInt64IsExactWhereDoubleSumsRound) {
  const auto values_of = [](int r) {
    const std::int64_t sign = r % 2 == 0 ? 1 : -1;
    return std::vector<std::int64_t>{two_to_53 + 1, sign * ((std::int64_t{1} << 60) + r), two_to_53 + 3 + 3 * r * r};
  };
  std::vector<std::int64_t> expected(3, 0);
  double double_sum_of_first = 0.0;
  for (int r = 0; r < ranks; ++r) {
    const auto values = values_of(r);
    for (std::size_t i = 0; i < values.size(); ++i) expected[i] += values[i];
    double_sum_of_first += static_cast<double>(values[0]);
  }
  // The test has teeth: summing these values as doubles gives a different answer.
  ASSERT_NE(static_cast<std::int64_t>(double_sum_of_first), expected[0]);

  std::vector<std::int64_t> values = values_of(rank);
  collectives.sum_int64(values);
  EXPECT_EQ(values, expected);
  EXPECT_EQ(collectives.sum(two_to_53 + 1), static_cast<std::int64_t>(ranks) * (two_to_53 + 1));
}

TEST_F(MpiCollectivesTest, MaxDoubleIsElementWise) {
  const double big = rank == ranks - 1 ? 1e300 : -1e300;
  const double minus_infinity_except_root = rank == 0 ? -5.0 : -std::numeric_limits<double>::infinity();
  std::vector<double> values{rank * 1.5 - 10.0, -(rank + 1.0), big, minus_infinity_except_root};
  collectives.max_double(values);
  EXPECT_EQ(values, (std::vector<double>{(ranks - 1) * 1.5 - 10.0, -1.0, 1e300, -5.0}));
}

TEST_F(MpiCollectivesTest, AllgatherGivesEveryRankEveryBlockInRankOrder) {
  const auto length_of = [](int r) { return static_cast<std::size_t>((r * 5) % 3 == 1 ? 0 : r + 2); };
  const std::int64_t before = collectives.bytes_moved();
  const auto gathered = collectives.allgather_bytes(pattern_block(rank, length_of(rank)));
  EXPECT_EQ(gathered, concatenated_blocks(lengths_for(ranks, length_of)));
  // Rank r sends its block (plus a size word) to each other rank and receives theirs.
  std::int64_t received = 0;
  for (int r = 0; r < ranks; ++r)
    if (r != rank) received += size_word + static_cast<std::int64_t>(length_of(r));
  const std::int64_t sent = (ranks - 1) * (size_word + static_cast<std::int64_t>(length_of(rank)));
  EXPECT_EQ(collectives.bytes_moved() - before, sent + received);
}

TEST_F(MpiCollectivesTest, MaxUint8IsElementWise) {
  std::vector<std::uint8_t> values{static_cast<std::uint8_t>(rank), static_cast<std::uint8_t>(255 - rank), 0,
                                   static_cast<std::uint8_t>(rank == 1 ? 200 : 7)};
  const std::int64_t before = collectives.bytes_moved();
  collectives.max_uint8(values);
  EXPECT_EQ(values, (std::vector<std::uint8_t>{static_cast<std::uint8_t>(ranks - 1), 255, 0,
                                               static_cast<std::uint8_t>(ranks > 1 ? 200 : 7)}));
  EXPECT_EQ(collectives.bytes_moved() - before, ranks > 1 ? 8 : 0);
}

TEST_F(MpiCollectivesTest, ExclusiveScanSumsTheRanksBelow) {
  const auto value_of = [](int r) { return (std::int64_t{1} << 40) + 1000 * (r + 1) + r * r; };
  std::int64_t expected = 0;
  for (int below = 0; below < rank; ++below) expected += value_of(below);
  EXPECT_EQ(collectives.exclusive_scan_int64(value_of(rank)), expected);
  // Rank 0 gets 0 even though MPI_Exscan leaves its result undefined.
  EXPECT_EQ(collectives.exclusive_scan_int64(rank == 0 ? 77 : 5), rank == 0 ? 0 : 77 + 5 * (rank - 1));
}

TEST_F(MpiCollectivesTest, BytesMovedFollowsTheDocumentedRule) {
  const int others = ranks - 1;

  // gather: rank r sends 8 + (r + 1); the root receives that from every other rank.
  std::int64_t before = collectives.bytes_moved();
  collectives.gather_bytes(pattern_block(rank, static_cast<std::size_t>(rank) + 1));
  const std::int64_t gather_delta = collectives.bytes_moved() - before;
  std::int64_t gather_wire_volume = 0;
  for (int r = 1; r < ranks; ++r) gather_wire_volume += size_word + r + 1;
  EXPECT_EQ(gather_delta, rank == 0 ? gather_wire_volume : size_word + rank + 1);

  // broadcast of 100 bytes: each non-root receives 108, the root sends 108 to each of them.
  before = collectives.bytes_moved();
  std::vector<std::byte> hundred(100);
  collectives.broadcast_bytes(hundred);
  const std::int64_t broadcast_delta = collectives.bytes_moved() - before;
  EXPECT_EQ(broadcast_delta, rank == 0 ? others * (size_word + 100) : size_word + 100);

  // allreduces: 8k sent plus 8k received per rank when there is anyone to talk to.
  before = collectives.bytes_moved();
  std::vector<std::int64_t> three_integers(3, 1);
  collectives.sum_int64(three_integers);
  EXPECT_EQ(collectives.bytes_moved() - before, ranks > 1 ? 48 : 0);
  before = collectives.bytes_moved();
  std::vector<double> two_doubles(2, 1.0);
  collectives.max_double(two_doubles);
  EXPECT_EQ(collectives.bytes_moved() - before, ranks > 1 ? 32 : 0);

  // exclusive scan: 8 sent unless last, 8 received unless first; barrier: nothing.
  before = collectives.bytes_moved();
  collectives.exclusive_scan_int64(1);
  EXPECT_EQ(collectives.bytes_moved() - before, (rank < ranks - 1 ? 8 : 0) + (rank > 0 ? 8 : 0));
  before = collectives.bytes_moved();
  collectives.barrier();
  EXPECT_EQ(collectives.bytes_moved() - before, 0);

  // Summed over ranks, each transfer is counted at its sender and at its receiver.
  std::vector<std::int64_t> deltas{gather_delta, broadcast_delta};
  collectives.sum_int64(deltas);
  EXPECT_EQ(deltas[0], 2 * gather_wire_volume);
  EXPECT_EQ(deltas[1], 2 * others * (size_word + 100));
}

TEST_F(MpiCollectivesTest, TypedHelpersWorkThroughTheInterface) {
  Collectives& interface = collectives;
  const auto gathered = interface.gather(std::vector<std::int64_t>{10 * rank, 10 * rank + 1});
  std::vector<std::int64_t> expected;
  for (int r = 0; r < ranks; ++r) {
    expected.push_back(10 * r);
    expected.push_back(10 * r + 1);
  }
  EXPECT_EQ(gathered, rank == 0 ? expected : std::vector<std::int64_t>{});
}

TEST(MpiErrorTest, FailedMpiCallsBecomeRuntimeFailuresNamingTheOperation) {
  int rank_of_null = -1;
  try {
    check_mpi(MPI_Comm_rank(MPI_COMM_NULL, &rank_of_null), "probing MPI_COMM_NULL");
    ADD_FAILURE() << "check_mpi did not throw";
  } catch (const RuntimeFailure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::runtime_error);
    EXPECT_NE(std::string(failure.what()).find("probing MPI_COMM_NULL"), std::string::npos) << failure.what();
  }

  const boost::mpi::communicator null_communicator(MPI_COMM_NULL, boost::mpi::comm_attach);
  try {
    translate_mpi_errors("asking a null communicator its rank", [&] { return null_communicator.rank(); });
    ADD_FAILURE() << "translate_mpi_errors did not throw";
  } catch (const RuntimeFailure& failure) {
    EXPECT_NE(std::string(failure.what()).find("asking a null communicator its rank"), std::string::npos)
        << failure.what();
  }

  EXPECT_THROW(MpiCollectives{null_communicator}, RuntimeFailure);
}

// ---- broadcast_object and any_rank ----

const char* const job_text = R"(# a job with non-default values everywhere the test looks
[run]
name = "parallel-layer-test"
seed = 4242
worlds = 37
iterations = 3
output = "out/parallel.h5"

[world]
priors = "x.toml"
horizon_days = 2.5

[sampling]
mode = "stratified"
batch_size = 256
crisis_weight = 3.25
alpha = 0.8
min_crisis_share = 0.125

[sampling.events]
precedence = ["keywords", "ground_truth"]
keywords = ["crisis", "teen emergency"]

[policy]
hidden = [16, 8]

[ppo]
minibatch_size = 64
gamma = 0.97
)";
const char* const job_file = "jobs/parallel_test.toml";

std::string serialized(const JobConfig& job) {
  std::ostringstream stream;
  {
    boost::archive::binary_oarchive archive(stream);
    archive << job;
  }
  return stream.str();
}

TEST(BroadcastObjectTest, JobConfigParsedOnRankZeroArrivesIdentical) {
  const boost::mpi::communicator world;
  JobConfig job;
  if (world.rank() == 0) job = parse_job(job_text, job_file);

  // The reference every rank compares against (parsed locally here only to have something to compare).
  const JobConfig expected = parse_job(job_text, job_file);
  if (world.rank() != 0) {
    EXPECT_NE(serialized(job), serialized(expected));  // the broadcast must change it
  }

  broadcast_object(world, job);

  EXPECT_EQ(job.file, job_file);
  EXPECT_EQ(job.text, job_text);
  EXPECT_EQ(job.run.name, "parallel-layer-test");
  EXPECT_EQ(job.run.seed, 4242u);
  EXPECT_EQ(job.run.worlds, 37);
  EXPECT_EQ(job.run.iterations, 3);
  EXPECT_EQ(job.run.output, "out/parallel.h5");
  EXPECT_EQ(job.world.priors, "x.toml");
  EXPECT_EQ(job.world.priors_path, expected.world.priors_path);
  EXPECT_EQ(job.world.horizon_days, 2.5);
  EXPECT_EQ(job.sampling.mode, SamplingMode::stratified);
  EXPECT_EQ(job.sampling.batch_size, 256);
  EXPECT_EQ(job.sampling.crisis_weight, 3.25);
  EXPECT_EQ(job.sampling.alpha, 0.8);
  EXPECT_EQ(job.sampling.min_crisis_share, 0.125);
  EXPECT_EQ(job.sampling.events.precedence,
            (std::vector<EventSource>{EventSource::keywords, EventSource::ground_truth}));
  EXPECT_EQ(job.sampling.events.keywords, (std::vector<std::string>{"crisis", "teen emergency"}));
  EXPECT_EQ(job.policy.hidden, (std::vector<int>{16, 8}));
  EXPECT_EQ(job.ppo.minibatch_size, 64);
  EXPECT_EQ(job.ppo.gamma, 0.97);
  EXPECT_EQ(serialized(job), serialized(expected));
}

TEST(BroadcastObjectTest, AnyRankIsALogicalOrOverRanks) {
  const boost::mpi::communicator world;
  EXPECT_FALSE(any_rank(world, false));
  EXPECT_TRUE(any_rank(world, true));
  EXPECT_TRUE(any_rank(world, world.rank() == world.size() - 1));
  EXPECT_EQ(any_rank(world, world.rank() == 1), world.size() > 1);
}

// ---- agree_or_throw ----

struct Outcome {
  bool threw = false;
  bool threw_manyworlds_error = false;
  const std::type_info* type = nullptr;
  ExitCode code = ExitCode::ok;
  std::string message;
};

Outcome agree(const boost::mpi::communicator& communicator, std::exception_ptr local_error) {
  Outcome outcome;
  try {
    agree_or_throw(communicator, local_error);
  } catch (const Error& error) {
    outcome = {true, true, &typeid(error), error.code(), error.what()};
  } catch (const std::exception& error) {
    outcome = {true, false, &typeid(error), ExitCode::ok, error.what()};
  }
  return outcome;
}

TEST(ErrorAgreementTest, NoErrorAnywhereReturnsNormally) {
  const boost::mpi::communicator world;
  EXPECT_FALSE(agree(world, nullptr).threw);
}

TEST(ErrorAgreementTest, InputErrorOnOneRankStopsEveryRankWithItsExitCodeAndMessage) {
  const boost::mpi::communicator world;
  const int failing_rank = world.size() > 1 ? 1 : 0;
  const std::string message = "jobs/bad.toml:3: 'run.worlds' = 0 is out of range: must be in [1, 1000000]";
  std::exception_ptr local_error;
  if (world.rank() == failing_rank) local_error = std::make_exception_ptr(InputError(message));

  const Outcome outcome = agree(world, local_error);
  EXPECT_TRUE(outcome.threw);
  EXPECT_TRUE(outcome.threw_manyworlds_error);
  EXPECT_EQ(outcome.code, ExitCode::invalid_input);
  EXPECT_EQ(outcome.message, message);
  ASSERT_NE(outcome.type, nullptr);
  // The failing rank rethrows its own InputError; the others throw a plain Error.
  if (world.rank() == failing_rank)
    EXPECT_EQ(*outcome.type, typeid(InputError));
  else
    EXPECT_EQ(*outcome.type, typeid(Error));
}

TEST(ErrorAgreementTest, TheLowestFailingRankDecidesAndEachFailingRankKeepsItsOwnError) {
  const boost::mpi::communicator world;
  // Every rank but 0 fails: rank 1 with a non-manyworlds exception, the others with ResourceErrors.
  std::exception_ptr local_error;
  if (world.rank() == 1) local_error = std::make_exception_ptr(std::runtime_error("disk quota exceeded"));
  if (world.rank() >= 2)
    local_error = std::make_exception_ptr(ResourceError("rank " + std::to_string(world.rank()) + " is out of worlds"));

  const Outcome outcome = agree(world, local_error);
  if (world.size() == 1) {
    EXPECT_FALSE(outcome.threw);
  } else if (world.rank() == 0) {
    EXPECT_TRUE(outcome.threw_manyworlds_error);
    EXPECT_EQ(outcome.code, ExitCode::runtime_error);  // a std::exception counts as a runtime error
    EXPECT_EQ(outcome.message, "disk quota exceeded");
  } else if (world.rank() == 1) {
    EXPECT_TRUE(outcome.threw);
    EXPECT_FALSE(outcome.threw_manyworlds_error);
    EXPECT_EQ(outcome.message, "disk quota exceeded");
  } else {
    EXPECT_TRUE(outcome.threw_manyworlds_error);
    EXPECT_EQ(outcome.code, ExitCode::bad_resources);
    EXPECT_EQ(outcome.message, "rank " + std::to_string(world.rank()) + " is out of worlds");
  }
}

}  // namespace
}  // namespace manyworlds
