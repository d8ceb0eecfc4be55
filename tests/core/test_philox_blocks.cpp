// Tests of the SIMD Philox blocks: bitwise Random123's on every instruction set; multi-block streams draw the same
// numbers.
#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "manyworlds/core/philox_blocks.hpp"
#include "manyworlds/core/random.hpp"

namespace manyworlds {
namespace {

std::array<std::uint32_t, 4> reference_block(const PhiloxKey& key, PhiloxCounter counter) {
  const r123::Philox4x32::ctr_type block =
      r123::Philox4x32()({{counter[0], counter[1], counter[2], counter[3]}}, {{key[0], key[1]}});
  return {block.v[0], block.v[1], block.v[2], block.v[3]};
}

TEST(PhiloxBlocks, EveryInstructionSetGivesRandom123sBlocks) {
  const std::vector<PhiloxKey> keys{{0u, 0u}, {0xdeadbeefu, 0x0004ffffu}, {0xffffffffu, 0xffffffffu}};
  // The last counter word wraps around inside the request (no carry into the next word).
  const std::vector<PhiloxCounter> bases{{0u, 0u, 0u, 0u}, {7u, 3u, 1234567u, 0u}, {1u, 2u, 0xfffffffeu, 0xfffffff9u}};
  int checked = 0;
  for (VectorIsa isa : all_vector_isas) {
    if (!supported(isa)) continue;
    for (const PhiloxKey& key : keys) {
      for (const PhiloxCounter& base : bases) {
        for (int word = 0; word < 4; ++word) {
          for (int count = 1; count <= max_philox_blocks; ++count) {
            std::vector<std::uint32_t> out(4 * static_cast<std::size_t>(count) + 4, 0x5a5a5a5au);
            philox_blocks(isa, key, base, word, count, out.data());
            for (int i = 0; i < count; ++i) {
              PhiloxCounter counter = base;
              counter[word] += static_cast<std::uint32_t>(i);
              const std::array<std::uint32_t, 4> expected = reference_block(key, counter);
              for (int w = 0; w < 4; ++w)
                ASSERT_EQ(out[4 * i + w], expected[w]) << to_string(isa) << " word " << word << " block " << i;
            }
            for (int w = 0; w < 4; ++w) ASSERT_EQ(out[4 * count + w], 0x5a5a5a5au) << "wrote past the blocks";
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GE(checked, 3 * 3 * 4 * max_philox_blocks);  // at least the portable path
}

TEST(PhiloxBlocks, StreamsWithMoreBlocksPerRefillDrawTheSameNumbers) {
  Stream one(42, Purpose::auction, 3, 5, 7);
  BasicStream<4> four(42, Purpose::auction, 3, 5, 7);
  BasicStream<16> sixteen(42, Purpose::auction, 3, 5, 7);
  BasicStream<8> three_of_eight(42, Purpose::auction, 3, 5, 7, 3);  // refills smaller than the buffer
  BasicStream<8> pass_of_eight(42, Purpose::auction, 3, 5, 7, philox_pass_blocks());
  EXPECT_EQ(BasicStream<8>(42, Purpose::auction, 3, 5, 7, 99).next_u32(), four.next_u32());  // clamped to 8
  four.seek_step(7);
  for (int i = 0; i < 500; ++i) {
    const double a = one.normal();
    ASSERT_EQ(a, four.normal());
    ASSERT_EQ(a, sixteen.normal());
    ASSERT_EQ(a, three_of_eight.normal());
    ASSERT_EQ(a, pass_of_eight.normal());
    const double u = one.uniform();
    ASSERT_EQ(u, four.uniform());
    ASSERT_EQ(u, sixteen.uniform());
    ASSERT_EQ(u, three_of_eight.uniform());
    ASSERT_EQ(u, pass_of_eight.uniform());
    if (i % 37 == 0) {
      one.seek_step(static_cast<std::uint32_t>(i));
      four.seek_step(static_cast<std::uint32_t>(i));
      sixteen.seek_step(static_cast<std::uint32_t>(i));
      three_of_eight.seek_step(static_cast<std::uint32_t>(i));
      pass_of_eight.seek_step(static_cast<std::uint32_t>(i));
    }
  }
}

TEST(PhiloxBlocks, OnePassComputesOneBlockPerLaneOfTheWidestPath) {
  const int expected = supported(VectorIsa::avx512) ? 8 : supported(VectorIsa::avx2) ? 4 : 2;
  EXPECT_EQ(philox_pass_blocks(), expected);
}

TEST(PhiloxBlocks, NormalAndUniformFromWordsAreTheStreamsFirstDraws) {
  int fast = 0;
  for (std::uint32_t step = 0; step < 2000; ++step) {
    Stream stream(9, Purpose::action, 1, 2, step);
    Stream words(9, Purpose::action, 1, 2, step);
    const std::uint32_t w0 = words.next_u32();
    const std::uint32_t w1 = words.next_u32();
    const std::uint32_t w2 = words.next_u32();
    const std::uint32_t w3 = words.next_u32();
    const std::optional<double> normal = Stream::normal_from(w0, w1);
    const double expected = stream.normal();
    if (!normal) continue;  // the stream needed more words than the first two
    ++fast;
    EXPECT_EQ(*normal, expected);
    EXPECT_EQ(Stream::uniform_from(w2, w3), stream.uniform());
  }
  EXPECT_GT(fast, 1900);
  EXPECT_LT(fast, 2000);  // the slow path occurs, too
}

}  // namespace
}  // namespace manyworlds
