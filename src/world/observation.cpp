// What the agent sees at a decision: the observation vector and the step's noise for the policy.
#include "manyworlds/world/observation.hpp"

#include <algorithm>
#include <cmath>

#include "manyworlds/world/world.hpp"

namespace manyworlds {

void World::observe(const QueryEvent& event, Observation& o) {
  const double t = event.time_hours;
  const User& user = users_[event.user];
  const int q = static_cast<int>(event.query_type);
  decision_.hour = hour_of(t);
  decision_.day_of_week = day_of_week_of(t);
  decision_.time_fraction = t / horizon_hours_;
  const double spend = state_.spend;
  const double time_fraction = decision_.time_fraction;
  const double spent_fraction = spend / state_.budget;
  o[obs::time_fraction] = static_cast<float>(time_fraction);
  o[obs::budget_remaining] = static_cast<float>(1.0 - spent_fraction);
  o[obs::pacing_gap] = static_cast<float>(spent_fraction - time_fraction);
  o[obs::hour_sin] = hour_sin_[decision_.hour];
  o[obs::hour_cos] = hour_cos_[decision_.hour];
  o[obs::weekend] = decision_.day_of_week >= 5 ? 1.0f : 0.0f;
  o[obs::query_brand + q] = 1.0f;
  o[obs::device_ios] = user.device == priors_->ios_device ? 1.0f : 0.0f;
  o[obs::urgency_tag] = (user.tags & urgency_mask_) != 0 ? 1.0f : 0.0f;
  o[obs::log_value_per_click] = log_value_per_click_[user.device * query_type_count + q];
  o[obs::recent_ctr] = 10.0f * state_.recent_ctr;
  o[obs::observed_roas] = static_cast<float>(spend > 0 ? std::min(10.0, state_.observed_value / spend) : 0.0);
  o[obs::log_last_price] = state_.log_last_price;
  o[obs::pacing_pressure] = static_cast<float>(std::log1p(state_.pacing.update(spent_fraction, time_fraction)));
}

// The normal and the uniform of the step's action stream: from its precomputed first block when
// the normal's first try succeeds, else from the stream itself (the same numbers either way).
void World::draw_noise() {
  const std::uint32_t step = state_.step;
  if (step < noise_first_ || step >= noise_end_) {
    philox_blocks(stream_key(seed_, Purpose::action), {params_.world_id, state_.episode, step, 0}, 2, noise_steps,
                  noise_words_.data());
    noise_first_ = step;
    noise_end_ = step + noise_steps;
  }
  const std::uint32_t* words = &noise_words_[std::size_t{4} * (step - noise_first_)];
  if (const std::optional<double> normal = Stream::normal_from(words[0], words[1])) {
    decision_.noise.normal = *normal;
    decision_.noise.uniform = Stream::uniform_from(words[2], words[3]);
    return;
  }
  action_stream_.seek_step(step);
  decision_.noise.normal = action_stream_.normal();
  decision_.noise.uniform = action_stream_.uniform();
}

}  // namespace manyworlds
