// Many worlds stepped in lockstep, so that a strategy decides all their pending decisions as one batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// One pending decision of a world that runs in lane `lane` of a Lockstep.
struct Decision {
  const Observation* observation = nullptr;
  DecisionNoise noise;
  int creatives = 0;       // the world's creative count (as BidPolicy::act's `creatives`)
  std::uint32_t lane = 0;  // 0 .. Lockstep::lanes() - 1
};

// A bidding strategy that decides many decisions at once. actions[i] must be exactly what the
// strategy would return for decisions[i] alone: a batch only changes where the arithmetic is done.
class BatchBidPolicy {
 public:
  virtual ~BatchBidPolicy() = default;
  // Called before the first decision of every episode that starts in `lane`.
  virtual void begin_episode(std::uint32_t lane) { (void)lane; }
  // decisions.size() == actions.size(); each lane appears at most once.
  virtual void act(std::span<const Decision> decisions, std::span<Action> actions) = 0;
};

// Per-decision strategies in lockstep: lane l's episodes and decisions go, one at a time, to
// strategies[l] (which may keep state within an episode, as through World::run_episode).
class PerLanePolicies : public BatchBidPolicy {
 public:
  // One strategy per lane (the same object may serve several lanes only if it keeps no state).
  explicit PerLanePolicies(std::vector<BidPolicy*> strategies) : strategies_(std::move(strategies)) {}
  void begin_episode(std::uint32_t lane) override { strategies_.at(lane)->begin_episode(); }
  void act(std::span<const Decision> decisions, std::span<Action> actions) override;

 private:
  std::vector<BidPolicy*> strategies_;
};

// Steps up to lanes() worlds together: every world in flight advances to its next decision, the
// strategy decides them all in one call, every world completes its decision, and so on; a lane
// whose world has run all its episodes takes the next world. Each world's random streams are
// addressed by (world, episode, step), so every world's experiences and statistics are bitwise
// what World::run_episode gives. Buffers are kept between runs (no allocation once warm).
class Lockstep {
 public:
  static constexpr std::size_t default_lanes = 32;
  explicit Lockstep(std::size_t lanes = default_lanes);
  std::size_t lanes() const { return lanes_.size(); }

  // Called when an episode of worlds[world] has ended, with its statistics and its experiences
  // (in place, before they are appended to `out`: values and advantages may be filled in).
  using EpisodeHook = std::function<void(std::size_t world, const EpisodeStats& stats, std::span<Experience> rows)>;

  // Runs episodes first_episode, ..., first_episode + episodes - 1 of every world in `worlds` and
  // appends their experiences to `out` in world order, each world's episodes in order: exactly
  // the rows run_episode would append world by world, episode by episode. `on_episode` sees every
  // world's episodes in order. Throws RuntimeFailure (as run_episode) if `out` would exceed `capacity`.
  void run(std::span<World> worlds, std::uint32_t first_episode, int episodes, BatchBidPolicy& policy,
           std::vector<Experience>& out, std::size_t capacity, const EpisodeHook& on_episode);

 private:
  struct Lane {
    bool active = false;
    std::size_t world = 0;
    int episode = 0;                // 0 .. episodes - 1
    std::size_t episode_first = 0;  // index of the episode's first row in the world's buffer
    Experience* pending = nullptr;
  };
  struct Run;  // the arguments of one run() (src/world/lockstep.cpp)

  bool start_world(Run& run, std::uint32_t lane);
  void start_episode(Run& run, std::uint32_t lane);
  bool advance(Run& run, std::uint32_t lane);
  void add_decision(Run& run, std::uint32_t lane);
  void flush(Run& run);

  std::vector<Lane> lanes_;
  std::vector<std::vector<Experience>> buffers_;  // staging buffers, one per world in flight or waiting
  std::vector<std::size_t> free_buffers_;
  std::vector<std::size_t> world_buffer_;  // per world of the current run: its staging buffer
  std::vector<bool> world_done_;
  std::vector<Decision> decisions_;
  std::vector<Action> actions_;
  std::vector<std::uint32_t> acted_;  // the lanes of the decisions just decided
};

}  // namespace manyworlds
