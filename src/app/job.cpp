// Loading a job: job file, overrides, priors, and the checks that span both files.
#include "manyworlds/app/job.hpp"

#include "manyworlds/core/errors.hpp"
#include "manyworlds/sampling/event_types.hpp"

namespace manyworlds {

Job load_job_with_priors(const std::string& path, const JobOverrides& overrides) {
  Job job;
  job.config = load_job(path);
  if (overrides.seed) job.config.run.seed = *overrides.seed;
  if (overrides.worlds) job.config.run.worlds = *overrides.worlds;
  if (overrides.iterations) job.config.run.iterations = *overrides.iterations;
  if (overrides.output) job.config.run.output = *overrides.output;
  try {
    resolve_batch_size(job.config);
    validate_job(job.config);
  } catch (const InputError& error) {
    throw InputError(std::string("command line: ") + error.what());
  }
  try {
    job.priors = load_priors(job.config.world.priors_path);
  } catch (const InputError& error) {
    throw InputError(std::string(error.what()) + " (priors of " + path + ", key 'world.priors')");
  }
  try {
    EventTyper typer(job.config.sampling.events, job.priors.tags);
  } catch (const InputError& error) {
    throw InputError(path + ": " + error.what());
  }
  return job;
}

}  // namespace manyworlds
