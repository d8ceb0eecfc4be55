// Reading a run's saved policy and writing the output of `manyworlds evaluate`.
#include "manyworlds/io/evaluation_file.hpp"

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/io/job_attributes.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/io/world_parameters.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

SavedPolicy read_saved_policy(const std::string& run_output) {
  if (!h5::is_hdf5_file(run_output))
    throw InputError(run_output + ": not an HDF5 file (--policy takes the output of manyworlds run)");
  const h5::File file = h5::File::open_read(run_output);
  const h5::Group root = file.root();
  if (!root.has_attribute("format") || root.read_attribute<std::string>("format") != output_format_name)
    throw InputError(run_output + ": not a manyworlds run output (no format = \"manyworlds\" attribute)");
  const std::int64_t version = root.read_attribute<std::int64_t>("format_version");
  if (version != output_format_version)
    throw InputError(run_output + ": output format version " + std::to_string(version) + ", this program reads " +
                     std::to_string(output_format_version));
  if (!root.exists("policy/parameters"))
    throw InputError(run_output + ": has no final policy (/policy/parameters): the run did not complete; "
                     "resume it first (manyworlds run ... --resume)");
  const h5::Group policy = root.open_group("policy");
  SavedPolicy saved;
  saved.file = run_output;
  saved.job_name = root.read_attribute<std::string>("job_name");
  const auto widths = [&](const char* name) {
    std::vector<int> result;
    for (std::int64_t width : policy.read_attribute<std::vector<std::int64_t>>(name)) result.push_back(static_cast<int>(width));
    return result;
  };
  saved.policy.hidden = widths("hidden");
  saved.policy.value_hidden = widths("value_hidden");
  saved.policy.max_abs_log_multiplier = policy.read_attribute<double>("max_abs_log_multiplier");
  saved.creatives = static_cast<int>(policy.read_attribute<std::int64_t>("creatives"));
  saved.parameters = root.open_dataset("policy/parameters").read_all<double>();
  return saved;
}

void write_evaluation_file(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const SavedPolicy& policy, const EvaluationResults& results) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  h5::File file = h5::File::create_parallel(path, comm);
  {
    const h5::Group root = file.root();
    write_job_attributes(root, evaluation_format_name, evaluation_format_version, job, priors);
    root.write_attribute("worlds", results.worlds);
    root.write_attribute("policy_file", policy.file);
    root.write_attribute("policy_job_name", policy.job_name);

    write_world_parameters(root, comm, priors, "worlds/parameters", results.worlds, results.first_world,
                           results.local_worlds);

    const auto strategies = static_cast<std::uint64_t>(results.strategies.size());
    const auto worlds = static_cast<std::uint64_t>(results.worlds);
    const auto local = static_cast<std::uint64_t>(results.local_worlds.size());
    const auto types = static_cast<std::uint64_t>(priors.world_types.size());
    const h5::Group evaluation = root.create_group("evaluation");
    evaluation.write_attribute("description", "one evaluation episode per strategy and world; axes (strategy, world)");
    evaluation.write_attribute("strategies", results.strategies);
    evaluation.write_attribute("robust_roas", job.evaluation.robust_roas);
    evaluation.write_attribute("robust_share", job.evaluation.robust_share);
    for (const auto& field : world_stat_fields()) {
      std::vector<double> values;
      for (const EpisodeStats& stats : results.outcomes) values.push_back(field.value(stats));
      const h5::Dataset dataset = evaluation.create_dataset<double>(field.name, {strategies, worlds});
      dataset.write_rows_at<double>({0, static_cast<std::uint64_t>(results.first_world)}, {strategies, local},
                                    std::span<const double>(values));
      dataset.set_units(field.unit);
      dataset.write_attribute("description", field.description);
    }
    const std::uint64_t mine = rank == 0 ? 1 : 0;
    const auto summary = [&](const char* name, const char* unit, const char* description, const std::vector<double>& values,
                             const h5::Dims& dims) {
      const h5::Dataset dataset = evaluation.create_dataset<double>(name, dims);
      h5::Dims count = dims;
      count[0] *= mine;
      dataset.write_rows_at<double>(h5::Dims(dims.size(), 0), count, values.data());
      dataset.set_units(unit);
      dataset.write_attribute("description", description);
    };
    summary("success_share", "1", "share of worlds where the strategy reached robust_roas; axis (strategy)",
            results.success_share, {strategies});
    summary("success_share_by_type", "1", "success share per world type; axes (strategy, world type)",
            results.success_share_by_type, {strategies, types});
    summary("mean_return", "currency", "mean expected return (expected value - expected spend) per world; axis (strategy)", results.mean_return, {strategies});
    const auto parameters = static_cast<std::uint64_t>(policy.parameters.size());
    const h5::Dataset saved = root.create_dataset<double>("policy/parameters", {parameters});
    saved.write_rows<double>(0, rank == 0 ? parameters : 0, policy.parameters.data());
    saved.set_units("1");
    saved.write_attribute("description", "the evaluated policy's parameters, as read from policy_file");
  }
  file.flush();
  file.close();
}

}  // namespace manyworlds
