// Calibration: event rows into sufficient statistics, the model fits and their jackknife standard errors.
#include "manyworlds/calibrate/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/world/model_formulas.hpp"

namespace manyworlds {

namespace {

constexpr int fatigue_draws = 1 << 14;
constexpr int moment_draws = 1 << 18;
constexpr int max_sweeps = 20000;
constexpr double converged = 1e-12;

std::string compact(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.10g", value);
  return buffer;
}

std::size_t cell_of(int segment, int device, int query, std::size_t devices) {
  return (static_cast<std::size_t>(segment) * devices + static_cast<std::size_t>(device)) * query_type_count +
         static_cast<std::size_t>(query);
}

// Probability-weighted mean over the world types of one of their multipliers.
double world_type_mean(const Priors& priors, double WorldTypePrior::*field) {
  double mean = 0;
  for (const WorldTypePrior& type : priors.world_types) mean += type.probability * type.*field;
  return mean;
}

// Fixed draws of a distribution (stream purpose calibration): Monte Carlo expectations under the base priors.
std::vector<double> draws_of(const Distribution& distribution, std::uint32_t id, int count) {
  Stream stream(0, Purpose::calibration, id);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (double& value : values) value = distribution.sample(stream);
  return values;
}

// Mean and variance of ln X under a distribution (Monte Carlo).
std::pair<double, double> log_moments(const Distribution& distribution, std::uint32_t id) {
  const std::vector<double> values = draws_of(distribution, id, moment_draws);
  double sum = 0;
  double square = 0;
  for (double value : values) {
    sum += std::log(value);
    square += std::log(value) * std::log(value);
  }
  const double mean = sum / moment_draws;
  return {mean, std::max(0.0, square / moment_draws - mean * mean)};
}

}  // namespace

// ---- sufficient statistics ---------------------------------------------------------------------

void GroupStatistics::resize(std::size_t cells) {
  impressions.assign(cells, 0.0);
  clicks.assign(cells, 0.0);
  conversions.assign(cells, 0.0);
}

void GroupStatistics::add(const GroupStatistics& more) {
  for (int h = 0; h < 24; ++h) {
    session_starts[h] += more.session_starts[h];
    exposure_hours[h] += more.exposure_hours[h];
  }
  for (std::size_t c = 0; c < impressions.size(); ++c) {
    impressions[c] += more.impressions[c];
    clicks[c] += more.clicks[c];
    conversions[c] += more.conversions[c];
  }
  followups.insert(followups.end(), more.followups.begin(), more.followups.end());
  delays.insert(delays.end(), more.delays.begin(), more.delays.end());
  prices += more.prices;
  log_price_sum += more.log_price_sum;
  log_price_square_sum += more.log_price_square_sum;
}

EventStatistics::EventStatistics(const Priors& base, std::string source, int jackknife_groups)
    : base_(&base),
      source_(std::move(source)),
      cells_(base.segments.size() * base.devices.size() * query_type_count),
      groups_(static_cast<std::size_t>(std::max(1, jackknife_groups))) {
  for (GroupStatistics& group : groups_) group.resize(cells_);
  for (int h = 0; h < 24; ++h) hour_ctr_[h] = model::hour_ctr_factor(base, h);
  ctr_constant_ =
      base.ctr_level.mean() * world_type_mean(base, &WorldTypePrior::ctr) * base.creative_effectiveness.mean();
  crisis_affinity_ = base.creative_crisis_affinity.mean();
  log_attribution_window_ = std::log(base.attribution_window_days * 24.0);
  fatigue_rates_ = draws_of(base.creative_fatigue_rate, 0, fatigue_draws);
}

void EventStatistics::fail(std::int64_t line, const std::string& reason) const {
  throw InputError(source_ + ":" + std::to_string(line) + ": " + reason);
}

void EventStatistics::add(const EventRow& row, std::int64_t line) {
  check_order(row, line);
  advance_day(row);
  ++rows_;
  UserState& user = user_of(row, line);
  add_session(row, user);
  if (row.slot < 1) return;
  if (row.attributed && row.delay_hours > base_->attribution_window_days * 24.0)
    fail(line, "delay_hours = " + compact(row.delay_hours) + " exceeds the base priors' attribution window (" +
                   compact(base_->attribution_window_days) +
                   " days, conversions.attribution_window_days); use base priors with the log's window");
  add_impression(row, user);
}

void EventStatistics::check_order(const EventRow& row, std::int64_t line) {
  const std::string sort_hint = "; sort the rows by world, episode, time_hours";
  if (!started_ || row.world != world_) {
    if (started_) {
      close_episode();
      close_world();
    }
    if (finished_worlds_.count(row.world) != 0)
      fail(line, "world " + std::to_string(row.world) + " appears again after other worlds" + sort_hint);
    started_ = true;
    world_ = row.world;
    WorldStatistics world;
    world.group = static_cast<int>(worlds_.size() % groups_.size());
    world.users.assign(base_->segments.size(), 0.0);
    world.sessions.assign(base_->segments.size(), 0.0);
    world.expected_clicks.assign(cells_, 0.0);
    world.clicks.assign(cells_, 0.0);
    worlds_.push_back(std::move(world));
  } else if (row.episode != episode_) {
    close_episode();
    if (finished_episodes_.count(row.episode) != 0)
      fail(line, "episode " + std::to_string(row.episode) + " of world " + std::to_string(row.world) +
                     " appears again after another episode" + sort_hint);
  } else {
    if (row.time_hours < last_time_)
      fail(line, "time_hours = " + compact(row.time_hours) + " is earlier than the previous row's (" +
                     compact(last_time_) + ") in world " + std::to_string(row.world) + " episode " +
                     std::to_string(row.episode) + sort_hint);
    last_time_ = row.time_hours;
    return;
  }
  start_episode(row);
}

void EventStatistics::start_episode(const EventRow& row) {
  episode_ = row.episode;
  last_time_ = row.time_hours;
  day_ = std::floor(row.time_hours / 24.0);
  day_starts_.fill(0.0);
  ++episodes_;
}

// Adds the days before the row's day, now complete, to the hour-profile counts (days without rows included).
void EventStatistics::advance_day(const EventRow& row) {
  const double day = std::floor(row.time_hours / 24.0);
  if (day <= day_) return;
  GroupStatistics& group = groups_[static_cast<std::size_t>(worlds_.back().group)];
  for (int h = 0; h < 24; ++h) {
    group.session_starts[h] += day_starts_[h];
    group.exposure_hours[h] += day - day_;
  }
  day_starts_.fill(0.0);
  day_ = day;
}

void EventStatistics::close_episode() {
  finished_episodes_.insert(episode_);
  final_days_.push_back({worlds_.back().group, day_, last_time_, day_starts_});
  longest_episode_hours_ = std::max(longest_episode_hours_, std::floor(last_time_) + 1.0);
}

// Final days of the episodes that reached the horizon, observed from the day's start to the horizon.
void EventStatistics::add_final_days() {
  for (const FinalDay& day : final_days_) {
    if (std::floor(day.last_row) + 1.0 < longest_episode_hours_) continue;  // stopped early
    GroupStatistics& group = groups_[static_cast<std::size_t>(day.group)];
    const double hours = longest_episode_hours_ - 24.0 * day.day;
    for (int h = 0; h < 24; ++h) {
      group.session_starts[h] += day.session_starts[h];
      group.exposure_hours[h] += std::clamp(hours - h, 0.0, 1.0);
    }
  }
  final_days_.clear();
}

void EventStatistics::close_world() {
  finished_worlds_.insert(world_);
  finished_episodes_.clear();
  WorldStatistics& world = worlds_.back();
  for (const auto& entry : users_) {
    world.users[static_cast<std::size_t>(entry.second.segment)] += 1.0;
    world.sessions[static_cast<std::size_t>(entry.second.segment)] += entry.second.sessions;
  }
  users_.clear();
}

void EventStatistics::finish() {
  if (!started_) return;
  close_episode();
  close_world();
  add_final_days();
  started_ = false;
}

EventStatistics::UserState& EventStatistics::user_of(const EventRow& row, std::int64_t line) {
  auto [entry, inserted] = users_.try_emplace(row.user);
  UserState& user = entry->second;
  if (inserted) {
    user.segment = row.segment;
    user.device = row.device;
  } else if (user.segment != row.segment || user.device != row.device) {
    const auto& segments = base_->segments;
    const auto& devices = base_->devices;
    fail(line, "user " + std::to_string(row.user) + " of world " + std::to_string(row.world) + " is " +
                   segments[row.segment].name + "/" + devices[row.device].name + " here but " +
                   segments[user.segment].name + "/" + devices[user.device].name +
                   " earlier; a user's segment and device must not change within a world");
  }
  return user;
}

// A query starts a session unless the same user queried less than the priors' longest gap between the queries
// of one session (query_gap_max_minutes) before.
void EventStatistics::add_session(const EventRow& row, UserState& user) {
  const bool new_episode = user.episode != episodes_;
  if (new_episode) {
    user.episode = episodes_;
    user.impressions.clear();
  }
  if (new_episode || row.time_hours - user.last_query >= base_->query_gap_max_minutes / 60.0) {
    user.sessions += 1.0;
    day_starts_[row.hour] += 1.0;
  }
  user.last_query = row.time_hours;
}

// E[1 / (1 + rate * n)] over the base priors' creative fatigue rates.
double EventStatistics::fatigue_factor(std::uint32_t previous_impressions) {
  const std::uint32_t n = std::min<std::uint32_t>(previous_impressions, 65535);
  while (fatigue_factors_.size() <= n) {
    const double k = static_cast<double>(fatigue_factors_.size());
    double sum = 0;
    for (double rate : fatigue_rates_) sum += 1.0 / (1.0 + rate * k);
    fatigue_factors_.push_back(sum / static_cast<double>(fatigue_rates_.size()));
  }
  return fatigue_factors_[n];
}

void EventStatistics::add_impression(const EventRow& row, UserState& user) {
  GroupStatistics& group = groups_[static_cast<std::size_t>(worlds_.back().group)];
  const std::size_t cell = cell_of(row.segment, row.device, row.query_type, base_->devices.size());
  auto seen = std::find_if(user.impressions.begin(), user.impressions.end(),
                           [&](const auto& entry) { return entry.first == row.creative; });
  if (seen == user.impressions.end()) seen = user.impressions.insert(seen, {row.creative, 0});
  const double affinity = row.segment == base_->crisis_segment() ? crisis_affinity_ : 1.0;
  WorldStatistics& world = worlds_.back();
  group.impressions[cell] += 1.0;
  world.expected_clicks[cell] += base_->position_ctr[static_cast<std::size_t>(row.slot - 1)] * hour_ctr_[row.hour] *
                                 fatigue_factor(seen->second) * ctr_constant_ * affinity;
  ++seen->second;
  if (!row.clicked) return;
  group.clicks[cell] += 1.0;
  world.clicks[cell] += 1.0;
  const double log_price = std::log(row.price);
  group.prices += 1.0;
  group.log_price_sum += log_price;
  group.log_price_square_sum += log_price * log_price;
  const double log_window = std::min(log_attribution_window_, std::log(row.followup_hours));
  group.followups.push_back({static_cast<std::uint32_t>(cell), log_window});
  if (!row.attributed) return;
  group.conversions[cell] += 1.0;
  group.delays.push_back({std::log(row.delay_hours), log_window});
}

// ---- the fits -------------------------------------------------------------------------------------

namespace {

// What the fits take from the base priors.
struct FitContext {
  std::size_t segments = 0;
  std::size_t devices = 0;
  double activity_shape = 1;
  int crisis = 0;
  std::vector<double> feature_dependence;
  std::vector<double> device_share;
  std::vector<double> device_ctr;
  std::vector<double> feature_gap;
  int gap_reference = 0;  // device whose feature_gap stays the base's
  std::array<double, query_type_count> base_ctr{};
  std::array<double, query_type_count> cvr_multiplier{};
  std::vector<std::pair<double, double>> world_types;  // (probability, crisis share multiplier)
  double cvr_constant = 1;                             // E[world cvr level]
  double log_median_variance = 0;                      // Var(ln delay_median_hours) over worlds

  explicit FitContext(const Priors& base) {
    segments = base.segments.size();
    devices = base.devices.size();
    activity_shape = base.activity_shape;
    crisis = base.crisis_segment();
    for (const SegmentPrior& segment : base.segments) feature_dependence.push_back(segment.feature_dependence);
    for (const DevicePrior& device : base.devices) {
      device_share.push_back(device.share);
      device_ctr.push_back(device.ctr_multiplier);
      feature_gap.push_back(device.feature_gap);
    }
    gap_reference = static_cast<int>(std::min_element(feature_gap.begin(), feature_gap.end()) - feature_gap.begin());
    for (int q = 0; q < query_type_count; ++q) {
      base_ctr[q] = base.queries[q].base_ctr;
      cvr_multiplier[q] = base.queries[q].cvr_multiplier;
    }
    for (const WorldTypePrior& type : base.world_types) world_types.emplace_back(type.probability, type.crisis_share);
    cvr_constant = base.cvr_level.mean() * world_type_mean(base, &WorldTypePrior::cvr);
    log_median_variance = log_moments(base.delay_median_hours, 1).second;
  }

  int segment_of(std::size_t cell) const { return static_cast<int>(cell / (devices * query_type_count)); }
  int device_of(std::size_t cell) const { return static_cast<int>(cell / query_type_count % devices); }
  int query_of(std::size_t cell) const { return static_cast<int>(cell % query_type_count); }
};

// Root of an increasing function on [low, high] by bisection (f returns its value).
template <class F>
double increasing_root(F&& f, double low, double high) {
  for (int i = 0; i < 200 && high - low > 1e-14 * std::max(1.0, std::fabs(low)); ++i) {
    const double middle = 0.5 * (low + high);
    (f(middle) > 0 ? high : low) = middle;
  }
  return 0.5 * (low + high);
}

// ---- segment shares: users who never searched are estimated from each world's session counts ----

// Zero-truncated negative binomial (gamma activity of shape k): chance that a user with mean m sessions is seen,
// the mean session count of the seen users, and m times its derivative by m.
double seen_probability(double m, double k) { return -std::expm1(-k * std::log1p(m / k)); }
double seen_mean(double m, double k) { return m / seen_probability(m, k); }
double seen_mean_slope(double m, double k) {
  const double p = seen_probability(m, k);
  return m * (p - m * (1.0 - p) / (1.0 + m / k)) / (p * p);
}

// Solves sum_j users_j * seen_mean(exp(x) * scale_j) = sum_j sessions_j for x (one rate of a two-way model),
// by Newton steps from `x` kept inside a shrinking bracket.
double solve_log_rate(const std::vector<std::array<double, 3>>& cells, double k, double x) {
  double sessions = 0;
  for (const auto& [n, c, scale] : cells) sessions += c;
  if (sessions <= 0) return x;
  double low = -40.0;
  double high = 40.0;
  for (int iteration = 0; iteration < 200; ++iteration) {
    double value = -sessions;
    double slope = 0;
    for (const auto& [n, c, scale] : cells) {
      if (n <= 0) continue;
      value += n * seen_mean(std::exp(x) * scale, k);
      slope += n * seen_mean_slope(std::exp(x) * scale, k);
    }
    (value > 0 ? high : low) = x;
    double next = x - value / slope;
    if (!(next > low && next < high)) next = 0.5 * (low + high);
    if (std::fabs(next - x) < 1e-12) return next;
    x = next;
  }
  return x;
}

// Mean sessions of segment s in world w = rate_s * exposure_w; fitted by alternating the two sets (in logs).
void fit_session_rates(const std::vector<const WorldStatistics*>& worlds, const FitContext& c,
                       std::vector<double>& rate, std::vector<double>& exposure) {
  rate.assign(c.segments, 0.0);  // logs
  exposure.assign(worlds.size(), 0.0);
  std::vector<std::array<double, 3>> cells;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    double change = 0;
    for (std::size_t s = 0; s < c.segments; ++s) {
      cells.clear();
      for (std::size_t w = 0; w < worlds.size(); ++w)
        cells.push_back({worlds[w]->users[s], worlds[w]->sessions[s], std::exp(exposure[w])});
      const double updated = solve_log_rate(cells, c.activity_shape, rate[s]);
      change = std::max(change, std::fabs(updated - rate[s]));
      rate[s] = updated;
    }
    for (std::size_t w = 0; w < worlds.size(); ++w) {
      cells.clear();
      for (std::size_t s = 0; s < c.segments; ++s)
        cells.push_back({worlds[w]->users[s], worlds[w]->sessions[s], std::exp(rate[s])});
      exposure[w] = solve_log_rate(cells, c.activity_shape, exposure[w]);
    }
    if (change < 1e-10) break;
  }
  for (double& x : rate) x = std::exp(x);
  for (double& x : exposure) x = std::exp(x);
}

// The prior mean shares whose average over the world types (crisis share multiplied, renormalised) is `observed`.
std::vector<double> invert_world_types(const std::vector<double>& observed, const FitContext& c) {
  std::vector<double> share = observed;
  std::vector<double> implied(share.size());
  for (int iteration = 0; iteration < max_sweeps; ++iteration) {
    std::fill(implied.begin(), implied.end(), 0.0);
    for (const auto& [probability, crisis_share] : c.world_types) {
      const double total = 1.0 + share[c.crisis] * (crisis_share - 1.0);
      for (std::size_t s = 0; s < share.size(); ++s)
        implied[s] += probability * share[s] * (static_cast<int>(s) == c.crisis ? crisis_share : 1.0) / total;
    }
    double change = 0;
    double total = 0;
    for (std::size_t s = 0; s < share.size(); ++s) {
      const double ratio = observed[s] / implied[s];
      change = std::max(change, std::fabs(ratio - 1.0));
      total += share[s] *= ratio;
    }
    for (double& x : share) x /= total;
    if (change < converged) break;
  }
  return share;
}

void fit_shares(const std::vector<const WorldStatistics*>& worlds, const FitContext& c, CalibrationFit& fit) {
  std::vector<double> rate;
  std::vector<double> exposure;
  fit_session_rates(worlds, c, rate, exposure);
  fit.observed_share.assign(c.segments, 0.0);
  double counted = 0;
  std::vector<double> population(c.segments);
  for (std::size_t w = 0; w < worlds.size(); ++w) {
    double total = 0;
    for (std::size_t s = 0; s < c.segments; ++s) {
      const double n = worlds[w]->users[s];
      population[s] = n > 0 ? n / seen_probability(rate[s] * exposure[w], c.activity_shape) : 0.0;
      total += population[s];
    }
    if (total <= 0) continue;
    for (std::size_t s = 0; s < c.segments; ++s) fit.observed_share[s] += population[s] / total;
    counted += 1.0;
  }
  for (double& x : fit.observed_share) x /= counted;
  fit.share = invert_world_types(fit.observed_share, c);
}

// ---- hour of day: session starts per hour of observation, normalised to mean 1 ----

void fit_hours(const GroupStatistics& data, CalibrationFit& fit) {
  double total = 0;
  for (int h = 0; h < 24; ++h) total += fit.hour_profile[h] = data.session_starts[h] / data.exposure_hours[h];
  for (double& x : fit.hour_profile) x *= 24.0 / total;
}

// ---- click-through and conversion: multiplicative Poisson models fitted by raking ----

// Expected count of entry i (world i / cells, cell i % cells) =
// exposure[i] * world[2 w + crisis(s)] * segment[s] * device[d] * query[q] * extra[i]: each world has one effect
// for the crisis segment (its creative affinity varies by world) and one for the other segments.
struct Raking {
  const FitContext* context;
  std::size_t cells;
  const std::vector<double>* exposure;
  const std::vector<double>* observed;
  std::vector<double> extra;
  std::vector<double> world;
  std::vector<double> segment;
  std::vector<double> device;
  std::vector<double> query;

  Raking(const FitContext& c, const std::vector<double>& exposure_per_entry,
         const std::vector<double>& observed_per_entry)
      : context(&c),
        cells(c.segments * c.devices * query_type_count),
        exposure(&exposure_per_entry),
        observed(&observed_per_entry),
        extra(exposure_per_entry.size(), 1.0),
        world(2 * (exposure_per_entry.size() / cells), 1.0),
        segment(c.segments, 1.0),
        device(c.devices, 1.0),
        query(query_type_count, 1.0) {}

  double expected(std::size_t i) const {
    const FitContext& c = *context;
    const std::size_t cell = i % cells;
    return (*exposure)[i] * world[world_of(i)] * segment[c.segment_of(cell)] * device[c.device_of(cell)] *
           query[c.query_of(cell)] * extra[i];
  }

  std::size_t world_of(std::size_t i) const {
    return 2 * (i / cells) + (context->segment_of(i % cells) == context->crisis ? 1 : 0);
  }

  // Sets each level of one margin so its expected total equals its observed total; returns the largest change.
  template <class Level>
  double rake(std::vector<double>& factor, Level level_of) {
    std::vector<double> expected_total(factor.size(), 0.0);
    std::vector<double> observed_total(factor.size(), 0.0);
    for (std::size_t i = 0; i < exposure->size(); ++i) {
      expected_total[level_of(i)] += expected(i);
      observed_total[level_of(i)] += (*observed)[i];
    }
    double change = 0;
    for (std::size_t k = 0; k < factor.size(); ++k) {
      if (expected_total[k] <= 0) continue;
      const double ratio = observed_total[k] / expected_total[k];
      change = std::max(change, std::fabs(ratio - 1.0));
      factor[k] *= ratio;
    }
    return change;
  }

  double rake_worlds() {
    return rake(world, [this](std::size_t i) { return world_of(i); });
  }
  double rake_segments() {
    return rake(segment, [this](std::size_t i) { return context->segment_of(i % cells); });
  }
  double rake_devices() {
    return rake(device, [this](std::size_t i) { return context->device_of(i % cells); });
  }
  double rake_queries() {
    return rake(query, [this](std::size_t i) { return context->query_of(i % cells); });
  }
};

// Totals of a per-cell quantity by query type.
std::array<double, query_type_count> by_query(const std::vector<double>& per_cell) {
  std::array<double, query_type_count> totals{};
  for (std::size_t cell = 0; cell < per_cell.size(); ++cell) totals[cell % query_type_count] += per_cell[cell];
  return totals;
}

// Scale of `fitted` that makes its weighted mean equal the base priors' (the documented reference).
template <class A, class B, class W>
double reference_scale(const A& fitted, const B& base, const W& weight) {
  double fitted_mean = 0;
  double base_mean = 0;
  for (std::size_t i = 0; i < fitted.size(); ++i) {
    fitted_mean += weight[i] * fitted[i];
    base_mean += weight[i] * base[i];
  }
  return base_mean / fitted_mean;
}

// CTR = base_ctr[q] * segment[s] * device[d] * world effect * known factors. The world effects absorb each world's
// click-through level, which also decides how often and how high the ad is shown (creative effectiveness enters
// the quality score); their plain mean over the worlds that showed the ad is 1. Reference: the share-weighted mean
// device multiplier and the impression-weighted mean base_ctr stay the base priors'; the segments carry the level.
void fit_ctr(const std::vector<const WorldStatistics*>& worlds, const GroupStatistics& data, const FitContext& c,
             CalibrationFit& fit) {
  std::vector<double> exposure;
  std::vector<double> observed;
  for (const WorldStatistics* world : worlds) {
    exposure.insert(exposure.end(), world->expected_clicks.begin(), world->expected_clicks.end());
    observed.insert(observed.end(), world->clicks.begin(), world->clicks.end());
  }
  Raking model(c, exposure, observed);
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    const double change =
        std::max({model.rake_worlds(), model.rake_segments(), model.rake_devices(), model.rake_queries()});
    if (change < converged) break;
  }
  // Mean world effect of the crisis segment [1] and of the others [0], over the worlds where the ad was shown.
  std::array<double, 2> level{};
  std::array<double, 2> shown{};
  std::vector<double> shown_exposure(model.world.size(), 0.0);
  for (std::size_t i = 0; i < exposure.size(); ++i) shown_exposure[model.world_of(i)] += exposure[i];
  for (std::size_t k = 0; k < model.world.size(); ++k) {
    if (shown_exposure[k] <= 0) continue;
    level[k % 2] += model.world[k];
    shown[k % 2] += 1.0;
  }
  const double device_scale = reference_scale(model.device, c.device_ctr, c.device_share);
  const double query_scale = reference_scale(model.query, c.base_ctr, by_query(data.impressions));
  fit.device_ctr = model.device;
  for (double& x : fit.device_ctr) x *= device_scale;
  for (int q = 0; q < query_type_count; ++q) fit.base_ctr[q] = model.query[q] * query_scale;
  fit.segment_ctr = model.segment;
  for (std::size_t s = 0; s < c.segments; ++s) {
    const std::size_t k = static_cast<int>(s) == c.crisis ? 1 : 0;
    fit.segment_ctr[s] *= level[k] / shown[k] / (device_scale * query_scale);
  }
}

// The feature gap of one device: solves the Poisson score equation
// sum_cells conversions * dep / (1 - gap * dep) = sum_cells (expected without the gap) * dep.
double fit_gap(const Raking& model, const FitContext& c, int device) {
  double right = 0;
  for (std::size_t cell = 0; cell < model.exposure->size(); ++cell)
    if (c.device_of(cell) == device)
      right += model.expected(cell) / model.extra[cell] * c.feature_dependence[c.segment_of(cell)];
  const auto score = [&](double gap) {
    double left = 0;
    for (std::size_t cell = 0; cell < model.exposure->size(); ++cell) {
      const double dependence = c.feature_dependence[c.segment_of(cell)];
      if (c.device_of(cell) == device && (*model.observed)[cell] > 0)
        left += (*model.observed)[cell] * dependence / (1.0 - gap * dependence);
    }
    return left - right;
  };
  if (right <= 0 || score(0.0) >= 0) return 0.0;
  if (!(score(1.0) > 0)) return 1.0;
  return increasing_root(score, 0.0, 1.0);
}

// Per-cell sum over clicks of the chance that a conversion falls inside the click's follow-up window.
std::vector<double> conversion_exposure(const GroupStatistics& data, double log_mean, double log_sd, double constant) {
  std::vector<double> exposure(data.clicks.size(), 0.0);
  for (const ClickFollowup& click : data.followups)
    exposure[click.cell] += constant * model::share_within(click.log_window, log_mean, log_sd);
  return exposure;
}

// CVR = cvr[s] * (1 - feature_gap[d] * feature_dependence[s]) * cvr_multiplier[q] * E[cvr level] * P(in window).
// A gap common to all devices is not separable from the segments' cvr, so the device with the smallest base gap is
// the reference: its gap, feature_dependence and the click-weighted mean cvr_multiplier stay the base priors'.
void fit_cvr(const GroupStatistics& data, const FitContext& c, CalibrationFit& fit) {
  const std::vector<double> exposure = conversion_exposure(data, fit.delay_log_mean, fit.delay_log_sd, c.cvr_constant);
  Raking model(c, exposure, data.conversions);
  std::vector<double> gap = c.feature_gap;
  for (int sweep = 0; sweep < max_sweeps; ++sweep) {
    for (std::size_t cell = 0; cell < exposure.size(); ++cell)
      model.extra[cell] = 1.0 - gap[c.device_of(cell)] * c.feature_dependence[c.segment_of(cell)];
    double change = std::max(model.rake_segments(), model.rake_queries());
    for (std::size_t d = 0; d < c.devices; ++d) {
      if (static_cast<int>(d) == c.gap_reference) continue;
      const double updated = fit_gap(model, c, static_cast<int>(d));
      change = std::max(change, std::fabs(updated - gap[d]));
      gap[d] = updated;
    }
    if (change < converged) break;
  }
  const double query_scale = reference_scale(model.query, c.cvr_multiplier, by_query(data.clicks));
  for (int q = 0; q < query_type_count; ++q) fit.cvr_multiplier[q] = model.query[q] * query_scale;
  fit.segment_cvr = model.segment;
  for (double& x : fit.segment_cvr) x /= query_scale;
  fit.feature_gap = gap;
}

// ---- delays: log-normal fitted by maximum likelihood, each delay truncated at its click's window ----

// log Phi(a) and phi(a) / Phi(a), with the asymptotic forms far in the lower tail.
double log_normal_cdf(double a) {
  if (a > -30) return std::log(model::normal_cdf(a));
  return -0.5 * a * a - std::log(-a) - 0.5 * std::log(model::two_pi);
}
double inverse_mills(double a) {
  if (a > -30) return std::exp(-0.5 * a * a) / std::sqrt(model::two_pi) / model::normal_cdf(a);
  return -a - 1.0 / a;
}

struct DelayLikelihood {
  double value = 0;
  std::array<double, 2> gradient{};  // by (mu, ln sigma)
  std::array<std::array<double, 2>, 2> hessian{};
};

DelayLikelihood delay_likelihood(const std::vector<DelayObservation>& delays, double mu, double log_sigma) {
  const double sigma = std::exp(log_sigma);
  DelayLikelihood l;
  for (const DelayObservation& d : delays) {
    const double z = (d.log_delay - mu) / sigma;
    const double a = (d.log_window - mu) / sigma;
    const double lambda = inverse_mills(a);
    const double slope = -lambda * (a + lambda);  // d lambda / d a
    l.value += -log_sigma - 0.5 * z * z - log_normal_cdf(a);
    l.gradient[0] += (z + lambda) / sigma;
    l.gradient[1] += -1.0 + z * z + a * lambda;
    l.hessian[0][0] += -(1.0 + slope) / (sigma * sigma);
    l.hessian[0][1] += -(2.0 * z + lambda + a * slope) / sigma;
    l.hessian[1][1] += -2.0 * z * z - a * lambda - a * a * slope;
  }
  l.hessian[1][0] = l.hessian[0][1];
  return l;
}

void fit_delays(const GroupStatistics& data, CalibrationFit& fit) {
  double sum = 0;
  double square = 0;
  for (const DelayObservation& d : data.delays) {
    sum += d.log_delay;
    square += d.log_delay * d.log_delay;
  }
  const double n = static_cast<double>(data.delays.size());
  double mu = sum / n;
  double log_sigma = 0.5 * std::log(std::max(1e-6, square / n - mu * mu));
  DelayLikelihood l = delay_likelihood(data.delays, mu, log_sigma);
  for (int iteration = 0; iteration < 200; ++iteration) {
    const auto& h = l.hessian;
    const double det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    double step_mu = -(h[1][1] * l.gradient[0] - h[0][1] * l.gradient[1]) / det;
    double step_sigma = -(h[0][0] * l.gradient[1] - h[1][0] * l.gradient[0]) / det;
    if (!(det > 0) || !(h[0][0] < 0)) {  // not concave here: gradient ascent instead
      step_mu = 0.1 * l.gradient[0] / n;
      step_sigma = 0.1 * l.gradient[1] / n;
    }
    DelayLikelihood next = delay_likelihood(data.delays, mu + step_mu, log_sigma + step_sigma);
    for (int halving = 0; halving < 60 && !(next.value >= l.value); ++halving) {
      step_mu *= 0.5;
      step_sigma *= 0.5;
      next = delay_likelihood(data.delays, mu + step_mu, log_sigma + step_sigma);
    }
    if (!(next.value >= l.value)) break;
    mu += step_mu;
    log_sigma += step_sigma;
    l = next;
    if (std::fabs(step_mu) + std::fabs(step_sigma) < 1e-12) break;
  }
  fit.delay_log_mean = mu;
  fit.delay_log_sd = std::exp(log_sigma);
}

void fit_prices(const GroupStatistics& data, CalibrationFit& fit) {
  fit.price_log_mean = data.log_price_sum / data.prices;
  fit.price_log_sd =
      std::sqrt(std::max(0.0, data.log_price_square_sum / data.prices - fit.price_log_mean * fit.price_log_mean));
}

CalibrationFit fit_all(const GroupStatistics& data, const std::vector<const WorldStatistics*>& worlds,
                       const FitContext& c) {
  CalibrationFit fit;
  fit_shares(worlds, c, fit);
  fit_hours(data, fit);
  fit_ctr(worlds, data, c, fit);
  fit_delays(data, fit);
  fit_cvr(data, c, fit);
  fit_prices(data, fit);
  // Pooled log delays = world median (spread from the base priors) + within-world log-normal noise.
  fit.delay_median_hours = std::exp(fit.delay_log_mean);
  fit.delay_sigma_rms = std::sqrt(std::max(1e-6, fit.delay_log_sd * fit.delay_log_sd - c.log_median_variance));
  return fit;
}

// ---- data checks, counts, jackknife ----

GroupStatistics merged(const EventStatistics& data, int excluded_group) {
  GroupStatistics total;
  total.resize(data.groups().front().clicks.size());
  for (std::size_t g = 0; g < data.groups().size(); ++g)
    if (static_cast<int>(g) != excluded_group) total.add(data.groups()[g]);
  return total;
}

std::vector<const WorldStatistics*> worlds_except(const EventStatistics& data, int excluded_group) {
  std::vector<const WorldStatistics*> worlds;
  for (const WorldStatistics& world : data.worlds())
    if (world.group != excluded_group) worlds.push_back(&world);
  return worlds;
}

CalibrationCounts count(const EventStatistics& data, const GroupStatistics& total, const FitContext& c) {
  CalibrationCounts n;
  n.rows = data.rows();
  n.worlds = static_cast<std::int64_t>(data.worlds().size());
  n.episodes = data.episodes();
  n.segment_users.assign(c.segments, 0.0);
  n.segment_sessions.assign(c.segments, 0.0);
  n.segment_clicks.assign(c.segments, 0.0);
  n.segment_conversions.assign(c.segments, 0.0);
  n.device_clicks.assign(c.devices, 0.0);
  n.device_conversions.assign(c.devices, 0.0);
  for (const WorldStatistics& world : data.worlds())
    for (std::size_t s = 0; s < c.segments; ++s) {
      n.segment_users[s] += world.users[s];
      n.segment_sessions[s] += world.sessions[s];
      n.users += world.users[s];
      n.sessions += world.sessions[s];
    }
  for (std::size_t cell = 0; cell < total.clicks.size(); ++cell) {
    n.impressions += total.impressions[cell];
    n.clicks += total.clicks[cell];
    n.conversions += total.conversions[cell];
    n.segment_clicks[c.segment_of(cell)] += total.clicks[cell];
    n.segment_conversions[c.segment_of(cell)] += total.conversions[cell];
    n.device_clicks[c.device_of(cell)] += total.clicks[cell];
    n.device_conversions[c.device_of(cell)] += total.conversions[cell];
  }
  return n;
}

// Refuses logs that cannot support every fitted entry, naming what is missing.
void check_coverage(const EventStatistics& data, const GroupStatistics& total, const CalibrationCounts& n) {
  const Priors& base = data.base();
  const std::string where = data.source() + ": ";
  const std::string fix = "; use a longer log, or one that covers it";
  if (n.rows == 0) throw InputError(where + "the event log has no rows");
  for (std::size_t s = 0; s < base.segments.size(); ++s) {
    const std::string name = "segment '" + base.segments[s].name + "'";
    if (n.segment_users[s] == 0) throw InputError(where + "no users of " + name + fix);
    if (n.segment_sessions[s] <= n.segment_users[s])
      throw InputError(where + "every user of " + name +
                       " has a single session, so its users who never searched cannot be estimated" + fix);
    if (n.segment_clicks[s] == 0) throw InputError(where + "no clicks from " + name + fix);
    if (n.segment_conversions[s] == 0) throw InputError(where + "no attributed conversions from " + name + fix);
  }
  for (std::size_t d = 0; d < base.devices.size(); ++d)
    if (n.device_clicks[d] == 0) throw InputError(where + "no clicks on device '" + base.devices[d].name + "'" + fix);
  const auto clicks = by_query(total.clicks);
  const auto conversions = by_query(total.conversions);
  for (int q = 0; q < query_type_count; ++q) {
    const std::string name = std::string("query type '") + query_type_names[q] + "'";
    if (clicks[q] == 0) throw InputError(where + "no clicks on " + name + fix);
    if (conversions[q] == 0) throw InputError(where + "no attributed conversions on " + name + fix);
  }
  for (int h = 0; h < 24; ++h)
    if (total.session_starts[h] == 0)
      throw InputError(where + "no session starts at hour " + std::to_string(h) + " of the day" + fix);
  if (total.delays.size() < 10)
    throw InputError(where + "fewer than 10 attributed conversions for the delay fit" + fix);
}

std::vector<double> flat(CalibrationFit fit) {
  std::vector<double> values;
  fit.for_each([&](double& x) { values.push_back(x); });
  return values;
}

// Delete-a-group jackknife over the groups of worlds that hold data.
CalibrationFit jackknife(const EventStatistics& data, const FitContext& c, const CalibrationFit& estimate,
                         int& groups_used) {
  std::vector<int> groups;
  for (const WorldStatistics& world : data.worlds())
    if (std::find(groups.begin(), groups.end(), world.group) == groups.end()) groups.push_back(world.group);
  groups_used = groups.size() >= 2 ? static_cast<int>(groups.size()) : 0;
  std::vector<std::vector<double>> replicates;
  for (int g = 0; g < groups_used; ++g)
    replicates.push_back(flat(fit_all(merged(data, groups[g]), worlds_except(data, groups[g]), c)));
  CalibrationFit se = estimate;
  std::size_t i = 0;
  std::vector<double> values(replicates.size());
  se.for_each([&](double& x) {
    for (std::size_t r = 0; r < replicates.size(); ++r) values[r] = replicates[r][i];
    x = jackknife_standard_error(values);
    ++i;
  });
  return se;
}

// conversions.delay_median_hours rescaled so that E[ln median] = ln(fitted median); conversions.delay_sigma
// rescaled so that E[sigma^2] = fitted delay_sigma_rms^2 (each keeps the base priors' shape).
void map_delays(const Priors& base, CalibrationResult& result) {
  const double log_median = log_moments(base.delay_median_hours, 1).first;
  result.delay_median_hours =
      scaled_distribution(base.delay_median_hours, result.fit.delay_median_hours / std::exp(log_median),
                          base.file + ": 'conversions.delay_median_hours'");
  double square = 0;
  for (double sigma : draws_of(base.delay_sigma, 2, moment_draws)) square += sigma * sigma / moment_draws;
  if (square <= 0) {
    result.delay_sigma = Distribution{Distribution::Kind::constant, result.fit.delay_sigma_rms, 0.0};
    return;
  }
  result.delay_sigma = scaled_distribution(base.delay_sigma, result.fit.delay_sigma_rms / std::sqrt(square),
                                           base.file + ": 'conversions.delay_sigma'");
}

}  // namespace

CalibrationResult fit_event_statistics(const EventStatistics& data) {
  const FitContext context(data.base());
  const GroupStatistics total = merged(data, -1);
  CalibrationResult result;
  result.counts = count(data, total, context);
  check_coverage(data, total, result.counts);
  result.fit = fit_all(total, worlds_except(data, -1), context);
  result.feature_gap_reference = context.gap_reference;
  result.se = jackknife(data, context, result.fit, result.counts.jackknife_groups);
  map_delays(data.base(), result);
  return result;
}

double jackknife_standard_error(const std::vector<double>& replicates) {
  const double groups = static_cast<double>(replicates.size());
  if (replicates.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double mean = 0;
  for (double r : replicates) mean += r / groups;
  double sum = 0;
  for (double r : replicates) sum += (r - mean) * (r - mean);
  return std::sqrt(sum * (groups - 1.0) / groups);
}

Distribution scaled_distribution(const Distribution& distribution, double factor, const std::string& key) {
  using Kind = Distribution::Kind;
  Distribution result = distribution;
  switch (distribution.kind) {
    case Kind::beta:
      throw InputError(key +
                       " is a beta distribution, which calibrate cannot rescale; "
                       "make it lognormal, gamma, uniform or a number in the base priors");
    case Kind::uniform_int:
      result.kind = Kind::uniform;
      [[fallthrough]];
    case Kind::uniform:
    case Kind::normal:
      result.a *= factor;
      result.b *= factor;
      break;
    default:  // constant: value, lognormal: median, gamma: mean
      result.a *= factor;
  }
  return result;
}

}  // namespace manyworlds
