// The subcommands run, validate and evaluate: load and check input on rank 0, agree, broadcast, work.
#include "manyworlds/app/commands.hpp"

#include <boost/mpi/communicator.hpp>
#include <boost/serialization/vector.hpp>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "manyworlds/app/command_support.hpp"
#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/evaluation_protocol.hpp"
#include "manyworlds/app/preflight.hpp"
#include "manyworlds/app/runner.hpp"
#include "manyworlds/app/stop_signal.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/evaluation_file.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/parallel/node.hpp"

namespace manyworlds {

namespace {

int exit_code(ExitCode code) { return static_cast<int>(code); }

void check_ranks(int ranks, std::int64_t worlds) {
  if (ranks > worlds)
    throw ResourceError(std::to_string(ranks) + " ranks but only " + std::to_string(worlds) +
                        " worlds: every rank needs at least one world; run with at most " + std::to_string(worlds) +
                        " ranks or raise run.worlds (--worlds)");
}

}  // namespace

int run_command(const RunArguments& arguments) {
  const StopSignal signals;  // before MPI_Init: a SIGUSR1/SIGTERM at any moment of the run is seen
  return mpi_command([&](const boost::mpi::communicator& world) {
    Job job;
    std::string output;
    agreed(world, [&] {
      if (world.rank() != 0) return;
      job = load_job_with_priors(arguments.job_path, arguments.overrides);
      output = default_output_path(job.config);
      check_output_path(output, arguments.force, !arguments.resume);
      check_ranks(world.size(), job.config.run.worlds);
      if (arguments.diagnose_draws > 0 && world.size() > 1)
        throw ResourceError(
            "--diagnose-sampling compares batches with the whole population of an iteration: run it on "
            "one rank (without mpirun, or mpirun -n 1)");
    });
    agreed(world, [&] {
      broadcast_object(world, job);
      broadcast_object(world, output);
    });
    const int on_node = ranks_on_this_node(world);
    agreed(world, [&] {
      preflight(job, estimate_resources(job, world.size()),
                {output, arguments.resume, world.rank(), world.size(), on_node});
    });
    RunOptions options;
    options.output = output;
    options.quiet = arguments.quiet;
    options.resume = arguments.resume;
    options.checkpoint_every =
        arguments.checkpoint_every >= 0 ? arguments.checkpoint_every : job.config.run.checkpoint_every;
    options.lanes = arguments.lanes;
    options.diagnose_draws = arguments.diagnose_draws;
    options.checkpoint_minutes =
        arguments.checkpoint_minutes >= 0 ? arguments.checkpoint_minutes : job.config.run.checkpoint_minutes;
    const RunSummary summary = run_job(job, options, world, std::cerr);
    if (summary.interrupted) {
      if (world.rank() == 0) std::cerr << "interrupted: " << summary.stop_message << std::endl;
      return exit_code(ExitCode::interrupted);
    }
    if (world.rank() == 0) {
      std::cout << "output: " << std::filesystem::absolute(summary.output).string() << "\n"
                << "iterations: " << summary.iterations
                << ", decisions: " << static_cast<std::int64_t>(summary.decisions) << ", wall time: " << summary.seconds
                << " s on " << world.size() << " ranks\n"
                << "final mean return per episode: " << summary.final_mean_return << "\n"
                << "test score of the reported policy: " << summary.test_score.mean << " [" << summary.test_score.low
                << ", " << summary.test_score.high << "], vs adaptive pacing "
                << summary.test_versus_adaptive_pacing.mean << " [" << summary.test_versus_adaptive_pacing.low << ", "
                << summary.test_versus_adaptive_pacing.high << "]" << std::endl;
    }
    return 0;
  });
}

int validate_command(const std::string& job_path, const JobOverrides& overrides, int ranks, int ranks_per_node) {
  const Job job = load_job_with_priors(job_path, overrides);
  std::cout << describe(job.config);
  std::cout << "[priors]     " << job.priors.file << ": " << job.priors.segments.size() << " segments, "
            << job.priors.devices.size() << " devices, " << job.priors.strategies.size() << " competitor strategies, "
            << job.priors.world_types.size() << " world types, " << job.priors.creatives << " creatives\n";
  const ResourceEstimate estimate = estimate_resources(job, ranks);
  std::cout << "estimate for " << ranks << " rank(s): " << static_cast<std::int64_t>(estimate.decisions_per_episode)
            << " decisions per episode, " << static_cast<std::int64_t>(estimate.experiences_per_rank)
            << " experiences on the busiest rank per iteration (estimated imbalance " << std::fixed
            << std::setprecision(3) << estimate.imbalance << std::defaultfloat
            << " of blocks balanced by expected queries), memory per rank about "
            << human_bytes(estimate.memory_per_rank_bytes) << ", output at most " << human_bytes(estimate.output_bytes)
            << " (uncompressed)\n";
  if (job.config.run.worlds < ranks)
    std::cout << "warning: " << ranks << " ranks exceed " << job.config.run.worlds
              << " worlds: the run would refuse to start\n";
  std::cout << std::flush;
  const std::string output = default_output_path(job.config);
  preflight(job, estimate, {output, false, 0, ranks, std::min(ranks, ranks_per_node)});
  std::cout << "preflight passed: output folder of " << output
            << " writable with enough space, memory per rank available\n"
            << "job is valid" << std::endl;
  return 0;
}

int evaluate_command(const EvaluateArguments& arguments) {
  return mpi_command([&](const boost::mpi::communicator& world) {
    Job job;
    SavedPolicy saved;
    std::string output;
    agreed(world, [&] {
      if (world.rank() != 0) return;
      job = load_job_with_priors(arguments.job_path, arguments.overrides);
      saved = read_saved_policy(arguments.policy_path);
      if (saved.creatives != job.priors.creatives)
        throw InputError(arguments.policy_path + ": the policy chooses among " + std::to_string(saved.creatives) +
                         " creatives, the priors of " + arguments.job_path + " have " +
                         std::to_string(job.priors.creatives) +
                         " ('creatives.count'); evaluate it on a compatible job");
      const PolicyModel model(saved.policy, saved.creatives);
      for (const auto* parameters : {&saved.parameters, &saved.final_parameters})
        if (static_cast<std::int64_t>(parameters->size()) != model.parameter_count())
          throw InputError(arguments.policy_path + ": /policy holds " + std::to_string(parameters->size()) +
                           " parameters, its /policy attributes describe " + std::to_string(model.parameter_count()));
      output = arguments.overrides.output.value_or(job.config.run.name + "-evaluation.h5");
      check_output_path(output, arguments.force);
      check_ranks(world.size(), job.config.run.worlds);
    });
    agreed(world, [&] {
      broadcast_object(world, job);
      broadcast_object(world, output);
      broadcast_object(world, saved.policy);
      broadcast_object(world, saved.parameters);
      broadcast_object(world, saved.final_parameters);
      broadcast_object(world, saved.selected_iteration);
      broadcast_object(world, saved.creatives);
      broadcast_object(world, saved.file);
      broadcast_object(world, saved.job_name);
    });

    const PolicyModel model(saved.policy, saved.creatives);
    MpiCollectives collectives(world);
    const ProgressLog log(std::cerr, world.rank() == 0, 0, 0);
    EvaluationProtocol protocol(job, model, collectives);
    TestResults results;
    agreed(world, [&] {
      protocol.tune(log);
      protocol.restore_selected({saved.selected_iteration, 0.0, saved.parameters});
      results = protocol.test(saved.final_parameters, log);
    });
    std::vector<WorldParams> params;
    for (const World& w : protocol.test_worlds()) params.push_back(w.params());
    const std::string partial = output + ".partial";
    write_evaluation_file(partial, collectives.raw_comm(), job.config, job.priors, saved, results,
                          protocol.test_range().begin, params);
    collectives.barrier();
    agreed(world, [&] {
      if (world.rank() == 0) std::filesystem::rename(partial, output);
    });
    if (world.rank() == 0) {
      std::cout << "evaluated " << saved.file << " on the " << job.config.evaluation.test_worlds << " test worlds of "
                << job.config.file << " (test seed "
                << (job.config.evaluation.test_seed != 0 ? job.config.evaluation.test_seed : job.config.run.seed)
                << ")\n";
      std::vector<std::string> type_names;
      for (const WorldTypePrior& type : job.priors.world_types) type_names.push_back(type.name);
      for (const std::string& line : describe_test_results(results, type_names)) std::cout << line << "\n";
      std::cout << "output: " << std::filesystem::absolute(output).string() << std::endl;
    }
    return 0;
  });
}

}  // namespace manyworlds
