// Reading a run's saved policy and writing the output of `manyworlds evaluate`.
#include "manyworlds/io/evaluation_file.hpp"

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/io/job_attributes.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/io/world_parameters.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

// A run's output (format "manyworlds") or a policy file (format "manyworlds-policy") of a version
// this program reads; InputError otherwise.
void check_policy_source(const h5::Group& root, const std::string& path) {
  if (!root.has_attribute("format"))
    throw InputError(path + ": not a manyworlds run output or policy file (no format attribute)");
  const std::string format = root.read_attribute<std::string>("format");
  const std::int64_t version = root.read_attribute<std::int64_t>("format_version");
  const std::int64_t expected = format == output_format_name   ? output_format_version
                                : format == policy_format_name ? policy_format_version
                                                               : -1;
  if (expected < 0)
    throw InputError(path + ": format '" + format + "' is neither a run output ('" + output_format_name +
                     "') nor a policy file ('" + policy_format_name + "')");
  if (version != expected)
    throw InputError(path + ": " + format + " format version " + std::to_string(version) + ", this program reads " +
                     std::to_string(expected));
}

}  // namespace

SavedPolicy read_saved_policy(const std::string& run_output) {
  if (!h5::is_hdf5_file(run_output))
    throw InputError(run_output + ": not an HDF5 file (--policy takes the output of manyworlds run)");
  const h5::File file = h5::File::open_read(run_output);
  const h5::Group root = file.root();
  check_policy_source(root, run_output);
  if (!root.exists("policy/parameters"))
    throw InputError(run_output +
                     ": has no final policy (/policy/parameters): the run did not complete; "
                     "resume it first (manyworlds run ... --resume)");
  const h5::Group policy = root.open_group("policy");
  SavedPolicy saved;
  saved.file = run_output;
  saved.job_name = root.has_attribute("job_name") ? root.read_attribute<std::string>("job_name") : "";
  const auto widths = [&](const char* name) {
    std::vector<int> result;
    for (std::int64_t width : policy.read_attribute<std::vector<std::int64_t>>(name))
      result.push_back(static_cast<int>(width));
    return result;
  };
  saved.policy.hidden = widths("hidden");
  saved.policy.value_hidden = widths("value_hidden");
  saved.policy.max_abs_log_multiplier = policy.read_attribute<double>("max_abs_log_multiplier");
  saved.creatives = static_cast<int>(policy.read_attribute<std::int64_t>("creatives"));
  saved.parameters = root.open_dataset("policy/parameters").read_all<double>();
  saved.final_parameters = root.exists("policy/final_parameters")
                               ? root.open_dataset("policy/final_parameters").read_all<double>()
                               : saved.parameters;
  if (policy.has_attribute("selected_iteration"))
    saved.selected_iteration = static_cast<int>(policy.read_attribute<std::int64_t>("selected_iteration"));
  return saved;
}

void write_evaluation_file(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const SavedPolicy& policy, const TestResults& results, std::int64_t first_test,
                           std::span<const WorldParams> local_test) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  h5::File file = h5::File::create_parallel(path, comm);
  {
    const h5::Group root = file.root();
    write_job_attributes(root, evaluation_format_name, evaluation_format_version, job, priors);
    root.write_attribute("test_worlds", job.evaluation.test_worlds);
    root.write_attribute("policy_file", policy.file);
    root.write_attribute("policy_job_name", policy.job_name);
    write_world_parameters(root, comm, priors, "test_worlds/parameters", job.evaluation.test_worlds, first_test,
                           local_test);
    const h5::Group evaluation = root.create_group("evaluation");
    evaluation.write_attribute("description", "the saved policy and the references on the job's test worlds");
    evaluation.write_attribute("strategies", results.strategies);
    evaluation.write_attribute("robust_roas", job.evaluation.robust_roas);
    evaluation.write_attribute("robust_share", job.evaluation.robust_share);
    evaluation.write_attribute("score_floor", job.evaluation.score_floor);
    evaluation.write_attribute("bootstrap_samples", static_cast<std::int64_t>(job.evaluation.bootstrap_samples));
    write_test_results(evaluation, results, job.evaluation.test_worlds, static_cast<int>(priors.world_types.size()),
                       rank == 0);
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
