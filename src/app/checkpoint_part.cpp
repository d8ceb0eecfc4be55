// The checkpoint part of a run: the learner's state (policy, Adam, selected snapshot) as a StateRecord and back.
#include "manyworlds/app/iteration_parts.hpp"

namespace manyworlds {

StateRecord learner_state(const TrainPart& train, const SelectedSnapshot& selected) {
  const std::vector<double> adam = train.trainer().export_optimizer_state();  // [t, m..., v...]
  const auto half = static_cast<std::ptrdiff_t>((adam.size() - 1) / 2);
  StateRecord record;
  record.put("policy_parameters", train.parameters());
  record.put_integer("adam_step", static_cast<std::int64_t>(adam[0]));
  record.put("adam_first_moment", std::vector<double>(adam.begin() + 1, adam.begin() + 1 + half));
  record.put("adam_second_moment", std::vector<double>(adam.begin() + 1 + half, adam.end()));
  record.put_integer("selected_iteration", selected.iteration);
  record.put("selected_score", std::vector<double>{selected.score});
  record.put("selected_parameters", selected.iteration >= 0 ? selected.parameters : train.parameters());
  return record;
}

SelectedSnapshot restore_learner_state(const StateRecord& record, TrainPart& train, int iterations) {
  const std::size_t count = train.parameters().size();
  const std::vector<double> parameters = record.reals("policy_parameters", {.size = count});
  std::vector<double> adam{static_cast<double>(record.integer("adam_step", 0, std::int64_t{1} << 52))};
  const std::vector<double> first = record.reals("adam_first_moment", {.size = count});
  const std::vector<double> second = record.reals("adam_second_moment", {.size = count, .min = 0.0});
  adam.insert(adam.end(), first.begin(), first.end());
  adam.insert(adam.end(), second.begin(), second.end());
  train.restore(parameters, adam);
  SelectedSnapshot selected;
  selected.iteration = static_cast<int>(record.integer("selected_iteration", -1, iterations));
  selected.score = record.reals("selected_score", {.size = 1})[0];
  selected.parameters = record.reals("selected_parameters", {.size = count});
  return selected;
}

}  // namespace manyworlds
