// The lockstep loop: worlds advance to their next decisions, one batch decides them, worlds complete them.
#include "manyworlds/world/lockstep.hpp"

#include <limits>
#include <stdexcept>

namespace manyworlds {

namespace {

// Worlds that may be staged (in flight or finished but waiting for an earlier world) per lane:
// bounds the staging memory when one world runs much longer than the others.
constexpr std::size_t staged_worlds_per_lane = 4;

}  // namespace

void PerLanePolicies::act(std::span<const Decision> decisions, std::span<Action> actions) {
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    actions[i] = strategies_.at(d.lane)->act(*d.observation, d.creatives, d.noise);
  }
}

struct Lockstep::Run {
  std::span<World> worlds;
  std::uint32_t first_episode;
  int episodes;
  BatchBidPolicy& policy;
  std::vector<Experience>& out;
  std::size_t capacity;
  const EpisodeHook& on_episode;
  std::size_t next_world = 0;   // the next world a lane takes
  std::size_t next_flush = 0;   // the next world to append to `out`
  std::size_t staged_rows = 0;  // rows in staging buffers
};

Lockstep::Lockstep(std::size_t lanes) : lanes_(lanes) {
  if (lanes == 0) throw std::invalid_argument("Lockstep needs at least one lane");
  decisions_.reserve(lanes);
  actions_.reserve(lanes);
  acted_.reserve(lanes);
}

void Lockstep::run(std::span<World> worlds, std::uint32_t first_episode, int episodes, BatchBidPolicy& policy,
                   std::vector<Experience>& out, std::size_t capacity, const EpisodeHook& on_episode) {
  Run run{worlds, first_episode, episodes, policy, out, capacity, on_episode};
  world_buffer_.assign(worlds.size(), 0);
  world_done_.assign(worlds.size(), false);
  for (Lane& lane : lanes_) lane = Lane{};
  if (episodes <= 0) return;
  // Each pass completes every lane's decision and moves the lane straight on to its next one, so
  // that a world's state is visited once per step (while it is still in the cache).
  decisions_.clear();
  for (std::uint32_t l = 0; l < lanes_.size(); ++l)
    if (start_world(run, l) && advance(run, l)) add_decision(run, l);
  while (!decisions_.empty()) {
    actions_.resize(decisions_.size());
    policy.act(decisions_, actions_);
    acted_.clear();
    for (const Decision& d : decisions_) acted_.push_back(d.lane);
    decisions_.clear();
    for (std::size_t i = 0; i < acted_.size(); ++i) {
      const std::uint32_t l = acted_[i];
      worlds[lanes_[l].world].complete_decision(actions_[i], *lanes_[l].pending);
      if (advance(run, l)) add_decision(run, l);
    }
    // Lanes left idle while too many worlds were staged.
    for (std::uint32_t l = 0; l < lanes_.size(); ++l)
      if (!lanes_[l].active && start_world(run, l) && advance(run, l)) add_decision(run, l);
  }
}

void Lockstep::add_decision(Run& run, std::uint32_t lane) {
  const World& world = run.worlds[lanes_[lane].world];
  decisions_.push_back({&lanes_[lane].pending->obs, world.decision_noise(), world.creatives(), lane});
}

// Gives `lane` the next world (with a staging buffer), unless every world is taken or too many are staged.
bool Lockstep::start_world(Run& run, std::uint32_t lane) {
  if (run.next_world >= run.worlds.size()) return false;
  if (run.next_world - run.next_flush >= staged_worlds_per_lane * lanes_.size()) return false;
  if (free_buffers_.empty()) {
    free_buffers_.push_back(buffers_.size());
    buffers_.emplace_back();
  }
  const std::size_t buffer = free_buffers_.back();
  free_buffers_.pop_back();
  buffers_[buffer].clear();
  world_buffer_[run.next_world] = buffer;
  lanes_[lane] = Lane{true, run.next_world++, 0, 0, nullptr};
  start_episode(run, lane);
  return true;
}

void Lockstep::start_episode(Run& run, std::uint32_t lane) {
  Lane& l = lanes_[lane];
  std::vector<Experience>& buffer = buffers_[world_buffer_[l.world]];
  l.episode_first = buffer.size();
  run.worlds[l.world].begin_episode(run.first_episode + static_cast<std::uint32_t>(l.episode), buffer);
  run.policy.begin_episode(lane);
}

// Moves `lane` to its world's next decision, through episode ends and on to later worlds; false
// when the lane has nothing to decide now.
bool Lockstep::advance(Run& run, std::uint32_t lane) {
  for (;;) {
    Lane& l = lanes_[lane];
    World& world = run.worlds[l.world];
    std::vector<Experience>& buffer = buffers_[world_buffer_[l.world]];
    l.pending = world.next_decision(buffer, std::numeric_limits<std::size_t>::max());
    if (l.pending != nullptr) {
      if (run.out.size() + ++run.staged_rows > run.capacity) throw_buffer_full(run.capacity);
      return true;
    }
    const EpisodeStats stats = world.end_episode(buffer);
    run.on_episode(l.world, stats,
                   std::span<Experience>(buffer.data() + l.episode_first, buffer.size() - l.episode_first));
    if (++l.episode < run.episodes) {
      start_episode(run, lane);
      continue;
    }
    world_done_[l.world] = true;
    l.active = false;
    flush(run);
    if (!start_world(run, lane)) return false;
  }
}

// Appends the finished worlds at the front of the queue to `out`, in world order.
void Lockstep::flush(Run& run) {
  while (run.next_flush < run.next_world && world_done_[run.next_flush]) {
    const std::size_t buffer = world_buffer_[run.next_flush];
    const std::vector<Experience>& rows = buffers_[buffer];
    run.out.insert(run.out.end(), rows.begin(), rows.end());
    run.staged_rows -= rows.size();
    free_buffers_.push_back(buffer);
    ++run.next_flush;
  }
}

}  // namespace manyworlds
