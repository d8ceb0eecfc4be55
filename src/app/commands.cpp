// The subcommands run, validate and evaluate: load and check input on rank 0, agree, broadcast, work.
#include "manyworlds/app/commands.hpp"

#include <filesystem>
#include <iomanip>
#include <iostream>

#include <boost/mpi/communicator.hpp>
#include <boost/serialization/vector.hpp>

#include "manyworlds/app/command_support.hpp"
#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/runner.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/evaluation_file.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"

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
  return mpi_command([&](const boost::mpi::communicator& world) {
    Job job;
    std::string output;
    agreed(world, [&] {
      if (world.rank() != 0) return;
      job = load_job_with_priors(arguments.job_path, arguments.overrides);
      output = default_output_path(job.config);
      check_output_path(output, arguments.force, !arguments.resume);
      check_ranks(world.size(), job.config.run.worlds);
    });
    agreed(world, [&] {
      broadcast_object(world, job);
      broadcast_object(world, output);
    });
    RunOptions options;
    options.output = output;
    options.quiet = arguments.quiet;
    options.resume = arguments.resume;
    options.checkpoint_every =
        arguments.checkpoint_every >= 0 ? arguments.checkpoint_every : job.config.run.checkpoint_every;
    options.lanes = arguments.lanes;
    const RunSummary summary = run_job(job, options, world, std::cerr);
    if (summary.interrupted) {
      if (world.rank() == 0) std::cerr << "interrupted: " << summary.stop_message << std::endl;
      return exit_code(ExitCode::interrupted);
    }
    if (world.rank() == 0) {
      std::cout << "output: " << std::filesystem::absolute(summary.output).string() << "\n"
                << "iterations: " << summary.iterations << ", decisions: " << static_cast<std::int64_t>(summary.decisions)
                << ", wall time: " << summary.seconds << " s on " << world.size() << " ranks\n"
                << "final mean return per episode: " << summary.final_mean_return << "\n"
                << "held-out success share (ROAS >= " << job.config.evaluation.robust_roas
                << "): policy " << summary.final_policy_success_share << ", best baseline "
                << summary.best_baseline_success_share << std::endl;
    }
    return 0;
  });
}

int validate_command(const std::string& job_path, const JobOverrides& overrides, int ranks) {
  const Job job = load_job_with_priors(job_path, overrides);
  std::cout << describe(job.config);
  std::cout << "[priors]     " << job.priors.file << ": " << job.priors.segments.size() << " segments, "
            << job.priors.devices.size() << " devices, " << job.priors.strategies.size() << " competitor strategies, "
            << job.priors.world_types.size() << " world types, " << job.priors.creatives << " creatives\n";
  const ResourceEstimate estimate = estimate_resources(job, ranks);
  std::cout << "estimate for " << ranks << " rank(s): " << static_cast<std::int64_t>(estimate.decisions_per_episode)
            << " decisions per episode, " << static_cast<std::int64_t>(estimate.experiences_per_rank)
            << " experiences on the busiest rank per iteration, memory per rank about "
            << human_bytes(estimate.memory_per_rank_bytes) << ", output at most "
            << human_bytes(estimate.output_bytes) << " (uncompressed)\n";
  if (job.config.run.worlds < ranks)
    std::cout << "warning: " << ranks << " ranks exceed " << job.config.run.worlds << " worlds: the run would refuse to start\n";
  if (!estimate.fits_buffer)
    std::cout << "warning: the busiest rank's experiences exceed run.max_experiences_per_rank ("
              << job.config.run.max_experiences_per_rank << "): use more ranks or raise the limit\n";
  std::cout << "job is valid" << std::endl;
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
                         std::to_string(job.priors.creatives) + " ('creatives.count'); evaluate it on a compatible job");
      const PolicyModel model(saved.policy, saved.creatives);
      if (static_cast<std::int64_t>(saved.parameters.size()) != model.parameter_count())
        throw InputError(arguments.policy_path + ": /policy/parameters holds " + std::to_string(saved.parameters.size()) +
                         " values, its /policy attributes describe " + std::to_string(model.parameter_count()));
      output = arguments.overrides.output.value_or(job.config.run.name + "-evaluation.h5");
      check_output_path(output, arguments.force);
      check_ranks(world.size(), job.config.run.worlds);
    });
    agreed(world, [&] {
      broadcast_object(world, job);
      broadcast_object(world, output);
      broadcast_object(world, saved.policy);
      broadcast_object(world, saved.parameters);
      broadcast_object(world, saved.creatives);
      broadcast_object(world, saved.file);
      broadcast_object(world, saved.job_name);
    });

    const IdRange range = block_of(job.config.run.worlds, world.size(), world.rank());
    std::vector<World> worlds;
    std::vector<EpisodeStats> outcomes;
    const PolicyModel model(saved.policy, saved.creatives);
    InferencePolicy policy(model, saved.parameters, InferencePolicy::Mode::greedy);
    const auto baselines = make_baselines(saved.policy);
    std::vector<BidPolicy*> strategies{&policy};
    for (const auto& baseline : baselines) strategies.push_back(baseline.get());
    agreed(world, [&] {
      worlds = make_worlds(job.priors, job.config.run.seed, job.config.world.horizon_days, range.begin, range.size());
      std::vector<Experience> scratch;
      outcomes = evaluate(worlds, strategies, scratch, static_cast<std::size_t>(job.config.run.max_experiences_per_rank));
    });

    // Rank 0 needs all outcomes (O(strategies x worlds)) for the success shares.
    MpiCollectives collectives(world);
    std::vector<int> local_types;
    std::vector<WorldParams> params;
    for (const World& w : worlds) {
      local_types.push_back(w.params().world_type);
      params.push_back(w.params());
    }
    const std::vector<int> types = collectives.gather(local_types);
    std::vector<EpisodeStats> world_major;
    for (std::size_t w = 0; w < worlds.size(); ++w)
      for (std::size_t s = 0; s < strategies.size(); ++s) world_major.push_back(outcomes[s * worlds.size() + w]);
    const std::vector<EpisodeStats> gathered = collectives.gather(world_major);

    EvaluationResults results;
    results.strategies = evaluation_strategy_names();
    results.worlds = job.config.run.worlds;
    results.first_world = range.begin;
    results.local_worlds = params;
    results.outcomes = outcomes;
    if (world.rank() == 0) {
      std::vector<EpisodeStats> strategy_major(gathered.size());
      for (std::size_t w = 0; w < types.size(); ++w)
        for (std::size_t s = 0; s < strategies.size(); ++s)
          strategy_major[s * types.size() + w] = gathered[w * strategies.size() + s];
      const Robustness robust = robustness(strategy_major, types, static_cast<int>(strategies.size()),
                                           static_cast<int>(job.priors.world_types.size()), job.config.evaluation.robust_roas);
      results.success_share = robust.success_share;
      results.success_share_by_type = robust.success_share_by_type;
      results.mean_return = robust.mean_return;
    }
    const std::string partial = output + ".partial";
    write_evaluation_file(partial, collectives.raw_comm(), job.config, job.priors, saved, results);
    collectives.barrier();
    agreed(world, [&] {
      if (world.rank() == 0) std::filesystem::rename(partial, output);
    });
    if (world.rank() == 0) {
      std::cout << "evaluated " << saved.file << " on the " << job.config.run.worlds << " worlds of " << job.config.file
                << " (seed " << job.config.run.seed << ")\n";
      std::cout << std::left << std::setw(24) << "strategy" << std::right << std::setw(14) << "mean return"
                << std::setw(12) << "ROAS>=" << job.config.evaluation.robust_roas << "\n";
      for (std::size_t s = 0; s < results.strategies.size(); ++s)
        std::cout << std::left << std::setw(24) << results.strategies[s] << std::right << std::fixed
                  << std::setprecision(1) << std::setw(14) << results.mean_return[s] << std::setw(12)
                  << std::setprecision(2) << results.success_share[s] << "\n";
      std::cout << "output: " << std::filesystem::absolute(output).string() << std::endl;
    }
    return 0;
  });
}

}  // namespace manyworlds
