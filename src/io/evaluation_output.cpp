// Writing /evaluation: growable validation rounds, the validation references and the test results.
#include "manyworlds/io/evaluation_output.hpp"

#include "manyworlds/io/output_schema.hpp"

namespace manyworlds {

namespace {

using Dims = h5::Dims;

struct RoundField {
  const char* name;
  const char* unit;
  const char* description;
  bool per_world;      // axes (round, validation world) instead of (round)
  bool per_parameter;  // axes (round, parameter)
};

const std::vector<RoundField>& round_fields() {
  static const std::vector<RoundField> fields{
      {"iteration", "1", "training iterations completed when the round ran; axis (round)", false, false},
      {"score", "1", "policy's mean normalised score over the validation worlds; axis (round)", false, false},
      {"score_low", "1", "lower end of its paired bootstrap 95% confidence interval; axis (round)", false, false},
      {"score_high", "1", "upper end of that interval; axis (round)", false, false},
      {"mean_return", "currency", "policy's mean expected return per validation world; axis (round)", false, false},
      {"return", "currency", "policy's expected return per validation world; axes (round, validation world)", true,
       false},
      {"policy_parameters", "1", "the evaluated policy snapshot; axes (round, parameter)", false, true},
  };
  return fields;
}

// Writes a whole dataset from rank 0 (other ranks take part with an empty selection).
template <class T>
void write_from_root(const h5::Group& group, const std::string& name, const Dims& dims, const std::vector<T>& values,
                     const char* unit, const char* description, bool root) {
  const h5::Dataset dataset = group.create_dataset<T>(name, dims);
  Dims count = dims;
  if (!root) count[0] = 0;
  dataset.write_rows_at<T>(Dims(dims.size(), 0), count, values.data());
  dataset.set_units(unit);
  dataset.write_attribute("description", description);
}

std::vector<double> interval_part(const std::vector<Interval>& intervals, double Interval::*part) {
  std::vector<double> values;
  values.reserve(intervals.size());
  for (const Interval& interval : intervals) values.push_back(interval.*part);
  return values;
}

void write_tuned(const h5::Group& group, const std::vector<BaselineSpec>& tuned) {
  for (const BaselineSpec& spec : tuned)
    group.write_attribute(std::string("tuned_") + to_string(spec.family), std::vector<double>{spec.a, spec.b});
}

}  // namespace

ValidationDatasets ValidationDatasets::create(const h5::Group& root, const JobConfig& job,
                                              std::int64_t validation_worlds, std::int64_t parameters,
                                              const std::vector<std::string>& strategies) {
  const h5::Group evaluation = root.create_group("evaluation");
  evaluation.write_attribute("description",
                             "the policy judged on worlds never trained on: validation rounds (every choice) and "
                             "the test results (reported); layout in docs/output-format.md");
  evaluation.write_attribute("strategies", strategies);
  evaluation.write_attribute("robust_roas", job.evaluation.robust_roas);
  evaluation.write_attribute("robust_share", job.evaluation.robust_share);
  evaluation.write_attribute("score_floor", job.evaluation.score_floor);
  evaluation.write_attribute("bootstrap_samples", static_cast<std::int64_t>(job.evaluation.bootstrap_samples));
  const h5::Group group = evaluation.create_group("validation");
  group.write_attribute("description", "validation rounds: the policy every evaluation.every iterations");
  ValidationDatasets datasets;
  for (const RoundField& field : round_fields()) {
    const Dims inner = field.per_world       ? Dims{static_cast<std::uint64_t>(validation_worlds)}
                       : field.per_parameter ? Dims{static_cast<std::uint64_t>(parameters)}
                                             : Dims{};
    h5::DatasetOptions options;
    options.max_dims = {h5::unlimited};
    options.chunk = {1};
    Dims dims{0};
    for (std::uint64_t extent : inner) {
      dims.push_back(extent);
      options.max_dims.push_back(extent);
      options.chunk.push_back(extent);
    }
    h5::Dataset dataset = group.create_dataset<double>(field.name, dims, options);
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets.datasets_.emplace(field.name, std::move(dataset));
  }
  return datasets;
}

ValidationDatasets ValidationDatasets::open(const h5::Group& root) {
  ValidationDatasets datasets;
  for (const RoundField& field : round_fields())
    datasets.datasets_.emplace(field.name, root.open_dataset(std::string("evaluation/validation/") + field.name));
  datasets.rounds_ = static_cast<int>(datasets.datasets_.at("iteration").dims().at(0));
  return datasets;
}

void write_validation_references(const h5::Group& file_root, const ValidationReferences& references,
                                 std::int64_t validation_worlds, bool root) {
  const h5::Group group = file_root.open_group("evaluation/validation");
  const auto worlds = static_cast<std::uint64_t>(validation_worlds);
  write_from_root(group, "world_type", {worlds}, references.world_type, "1",
                  "world type of each validation world (see /world_type_names)", root);
  write_from_root(group, "constant_return", {worlds}, references.constant_return, "currency",
                  "tuned constant bid's expected return per validation world (normalised score 0)", root);
  write_from_root(group, "hindsight_return", {worlds}, references.hindsight_return, "currency",
                  "hindsight optimum's expected return per validation world (normalised score 100)", root);
  write_tuned(file_root.open_group("evaluation"), references.tuned);
}

void ValidationDatasets::append(const ValidationRound& round, bool root) {
  const auto row = static_cast<std::uint64_t>(rounds_++);
  const std::uint64_t mine = root ? 1 : 0;
  const std::vector<double> scalars{static_cast<double>(round.iteration), round.score.mean, round.score.low,
                                    round.score.high, round.mean_return};
  const std::vector<std::string> names{"iteration", "score", "score_low", "score_high", "mean_return"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const h5::Dataset& dataset = datasets_.at(names[i]);
    dataset.extend_rows(row + 1);
    dataset.write_rows<double>(row, mine, &scalars[i]);
  }
  for (const auto& [name, values] :
       {std::pair{"return", &round.returns}, std::pair{"policy_parameters", &round.parameters}}) {
    const h5::Dataset& dataset = datasets_.at(name);
    dataset.extend_rows(row + 1);
    dataset.write_rows_at<double>({row, 0}, {mine, dataset.dims().at(1)}, values->data());
  }
}

void write_test_results(const h5::Group& parent, const TestResults& results, std::int64_t test_worlds, int world_types,
                        bool root) {
  parent.write_attribute("selected_iteration", static_cast<std::int64_t>(results.selected_iteration));
  write_tuned(parent, results.tuned);
  const h5::Group test = parent.create_group("test");
  test.write_attribute("description",
                       "every strategy on the test worlds, once after training; axes (strategy, test world) unless "
                       "stated; strategies in /evaluation's strategies attribute");
  test.write_attribute("comparison", "adaptive_pacing");
  const auto strategies = static_cast<std::uint64_t>(results.strategies.size());
  const auto worlds = static_cast<std::uint64_t>(test_worlds);
  const auto types = static_cast<std::uint64_t>(world_types);
  for (const auto& field : world_stat_fields()) {
    std::vector<double> values;
    values.reserve(results.outcomes.size());
    for (const EpisodeStats& stats : results.outcomes) values.push_back(field.value(stats));
    write_from_root(test, field.name, {strategies, worlds}, values, field.unit, field.description, root);
  }
  const ScoreSummary& summary = results.summary;
  write_from_root(test, "world_type", {worlds}, results.world_type, "1",
                  "world type of each test world; axis (test world)", root);
  write_from_root(test, "hindsight_multiplier", {worlds}, results.hindsight_multiplier, "1",
                  "the hindsight optimum's multiplier c (bid = c x true value per click); axis (test world)", root);
  write_from_root(test, "score", {strategies, worlds}, summary.score, "1",
                  "normalised score 100 (R - R_constant_bid) / (R_hindsight - R_constant_bid)", root);
  const auto intervals = [&](const std::string& name, const std::vector<Interval>& values, const Dims& dims,
                             const char* unit, const char* what) {
    write_from_root(test, name, dims, interval_part(values, &Interval::mean), unit, what, root);
    write_from_root(test, name + "_low", dims, interval_part(values, &Interval::low), unit,
                    "lower end of the paired bootstrap 95% confidence interval over test worlds", root);
    write_from_root(test, name + "_high", dims, interval_part(values, &Interval::high), unit,
                    "upper end of that interval", root);
  };
  intervals("mean_score", summary.overall, {strategies}, "1", "mean normalised score; axis (strategy)");
  intervals("mean_score_by_type", summary.by_type, {strategies, types}, "1",
            "mean normalised score per world type (NaN: no test world of the type); axes (strategy, world type)");
  intervals("difference_to_comparison", summary.versus, {strategies}, "1",
            "mean paired difference of normalised scores, strategy - comparison; axis (strategy)");
  write_from_root(test, "mean_return", {strategies}, summary.mean_return, "currency",
                  "mean expected return per test world; axis (strategy)", root);
  write_from_root(test, "success_share", {strategies}, summary.success_share, "1",
                  "share of test worlds where the expected ROAS reached robust_roas; axis (strategy)", root);
}

}  // namespace manyworlds
