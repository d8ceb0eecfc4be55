// Event logs: one row per auction, simulated from priors or read from a CSV file (format in docs/calibration.md).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {

// One auction of the advertiser's log. Names in the CSV, indices into the priors here.
struct EventRow {
  std::uint32_t world = 0;    // market / campaign id
  std::uint32_t episode = 0;  // campaign flight of that market
  double time_hours = 0;      // hours since midnight at the start of the episode
  int hour = 0;               // hour of day, floor(time_hours) mod 24
  int day_of_week = 0;        // 0 = Monday (informational)
  std::uint64_t user = 0;     // user id, unique within a world
  int segment = 0;            // index into Priors::segments
  int device = 0;             // index into Priors::devices
  int query_type = 0;         // QueryType
  int creative = 0;           // the advertiser's creative shown (or offered)
  double bid = 0;             // the advertiser's bid (informational)
  double reserve_price = 0;   // (informational)
  int eligible_bidders = 0;   // bids at or above the reserve (informational)
  int slot = 0;               // 1-based slot of the advertiser's ad, 0 = not shown
  double price = 0;           // price per click of the slot (paid only if clicked)
  bool clicked = false;
  bool converted = false;       // a conversion happened, attributed or not (informational)
  double delay_hours = 0;       // click to conversion
  double conversion_value = 0;  // attributed conversion value (informational)
  bool attributed = false;      // a conversion credited to this click within the attribution window
  double followup_hours = 0;    // how long after the click a conversion would have been logged
};

// The CSV columns, in the order the writer uses. A reader needs the required ones, in any order.
inline constexpr int event_column_count = 21;
inline constexpr std::array<const char*, event_column_count> event_columns{"world",
                                                                           "episode",
                                                                           "time_hours",
                                                                           "hour",
                                                                           "day_of_week",
                                                                           "user",
                                                                           "segment",
                                                                           "device",
                                                                           "query_type",
                                                                           "creative",
                                                                           "bid",
                                                                           "reserve_price",
                                                                           "eligible_bidders",
                                                                           "slot",
                                                                           "price",
                                                                           "clicked",
                                                                           "converted",
                                                                           "delay_hours",
                                                                           "conversion_value",
                                                                           "attributed",
                                                                           "followup_hours"};
// Columns the fit uses; the others are optional (defaults in docs/calibration.md).
inline constexpr std::array<const char*, 14> required_event_columns{
    "world",      "episode",  "time_hours", "hour",  "user",    "segment",    "device",
    "query_type", "creative", "slot",       "price", "clicked", "attributed", "delay_hours"};

// Writes the header on construction and one CSV line per row; segment, device and query type as names.
class EventCsvWriter {
 public:
  EventCsvWriter(std::ostream& out, const Priors& priors);
  void write(const EventRow& row);

 private:
  std::ostream* out_;
  const Priors* priors_;
  std::string line_;
};

// Reads a CSV event log, calling `sink` with each row and its 1-based line number. Every problem is an
// InputError naming file, line and column. Segment and device names must be those of `priors`.
using EventSink = std::function<void(const EventRow& row, std::int64_t line)>;
void read_event_log(std::istream& in, const std::string& file, const Priors& priors, const EventSink& sink);
void read_event_log_file(const std::string& path, const Priors& priors, const EventSink& sink);

// Turns the simulator's auction records into event rows of one world at a time.
class EventRecorder : public AuctionObserver {
 public:
  explicit EventRecorder(std::function<void(const EventRow&)> sink) : sink_(std::move(sink)) {}
  void begin_world(const WorldParams& world);
  void on_auction(const AuctionRecord& record) override;

 private:
  std::function<void(const EventRow&)> sink_;
  std::uint32_t world_ = 0;
  double followup_hours_ = 0;
};

// What to simulate: worlds first_world .. first_world + worlds - 1, each for `episodes` campaign horizons.
struct EventSimulation {
  std::uint64_t seed = 1;
  std::uint32_t first_world = 0;
  std::int64_t worlds = 1;
  int episodes = 1;
  double horizon_days = 1;
};

// Simulates the worlds with `bidder` as the advertiser and passes every auction to `sink`, world by world,
// episodes in order, rows in time order (the order read_event_log's consumers expect).
void simulate_events(const Priors& priors, const EventSimulation& simulation, BidPolicy& bidder,
                     const std::function<void(const EventRow&)>& sink);

}  // namespace manyworlds
