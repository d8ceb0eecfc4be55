// The pacing dual variable: a budget's shadow price tracked online from the share spent and the time passed.
#pragma once

#include <algorithm>

namespace manyworlds {

// Settings of PacingDual (the priors' [agent] pacing_step and pacing_max for the observation).
struct PacingSignal {
  double step = 10;    // change of mu per unit of budget share spent ahead of (or behind) the target
  double max_mu = 50;  // mu stays in [0, max_mu]
};

// Dual subgradient descent on the budget constraint (as in the budget-pacing literature, e.g.
// Balseiro & Gur 2019): mu starts at 0; at every later decision it moves by step x (the budget share
// spent since the previous decision - the share that spreads the budget left evenly over the time
// left), projected onto [0, max_mu]. A bid of value / (1 + mu) then spends the budget evenly.
class PacingDual {
 public:
  explicit PacingDual(const PacingSignal& signal) : signal_(signal) {}

  void reset() { started_ = false; }

  // mu at a decision where `spent` of the budget and `time` of the horizon (both shares) are gone.
  double update(double spent, double time) {
    if (!started_) {
      mu_ = 0;
      started_ = true;
    } else {
      const double target = (1.0 - last_spent_) * (time - last_time_) / std::max(1e-9, 1.0 - last_time_);
      mu_ = std::clamp(mu_ + signal_.step * ((spent - last_spent_) - target), 0.0, signal_.max_mu);
    }
    last_spent_ = spent;
    last_time_ = time;
    return mu_;
  }

 private:
  PacingSignal signal_;
  double mu_ = 0;
  double last_spent_ = 0;
  double last_time_ = 0;
  bool started_ = false;
};

}  // namespace manyworlds
