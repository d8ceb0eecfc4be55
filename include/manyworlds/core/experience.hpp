// The fixed-size Experience record: one per agent decision, trivially copyable.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

namespace manyworlds {

// Length of the observation vector (its layout is documented in docs/world-model.md).
inline constexpr int obs_dim = 17;
using Observation = std::array<float, obs_dim>;

// Bits of Experience::flags.
enum ExperienceFlag : std::uint8_t {
  flag_done = 1u << 0,          // last decision of its episode
  flag_crisis_truth = 1u << 1,  // the user is in the crisis segment (simulator ground truth)
  flag_won = 1u << 2,           // the agent's ad was shown
  flag_clicked = 1u << 3,       // the ad was clicked
  flag_converted = 1u << 4,     // the click converted within the attribution window
};

// Event types the sampler tells apart.
enum class EventType : std::uint8_t { regular = 0, crisis = 1 };

struct Experience {
  Observation obs{};               // what the agent saw
  float log_bid_multiplier = 0;    // action, continuous: bid = reference bid * exp(this)
  float log_prob = 0;              // log-probability of the action under the behaviour policy
  float value_estimate = 0;        // V(obs) of the behaviour policy's value head
  float expected_reward = 0;       // expected value - expected cost given the auction's outcome (currency units);
                                   // the realized reward is conversion_value - cost
  float expected_cost = 0;         // expected cost given the auction's outcome: click-through x price (currency units)
  float mean_expected_reward = 0;  // the same auction (same competitors' bids) priced at the policy's mean bid:
  float mean_expected_cost = 0;    // ... its expected reward and cost (common random numbers for the advantage)
  float advantage = 0;             // GAE advantage, computed inside the episode
  float value_target = 0;          // advantage + value_estimate (the value head's target)
  float conversion_value = 0;      // attributed conversion value (currency units)
  float cost = 0;                  // price paid for a click (currency units)
  float bid = 0;                   // bid placed (currency units)
  float time_hours = 0;            // when the decision happened, hours since the episode started
  std::int32_t world = 0;          // global world id
  std::int32_t episode = 0;        // global episode index of that world
  std::int32_t step = 0;           // decision index inside the episode; the next observation is step + 1
  std::uint32_t tags = 0;          // metadata keyword bits visible to the advertiser
  std::uint8_t creative = 0;       // action, discrete: creative shown
  std::uint8_t flags = 0;          // ExperienceFlag bits
  std::uint8_t event_type = 0;     // EventType assigned before sampling
  std::uint8_t segment = 0;        // ground-truth user segment index
  std::uint8_t query_type = 0;     // QueryType index
  std::uint8_t device = 0;         // device index
  std::uint8_t slot = 0;           // ad slot won (1-based), 0 when not shown
  std::uint8_t world_type = 0;     // world type index

  bool done() const { return (flags & flag_done) != 0; }
  bool crisis_truth() const { return (flags & flag_crisis_truth) != 0; }
};

static_assert(std::is_trivially_copyable_v<Experience>);
static_assert(sizeof(Experience) == 144, "Experience is documented as 144 bytes");

}  // namespace manyworlds
