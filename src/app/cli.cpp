// The command-line interface: parses arguments, runs a subcommand, maps errors to exit codes.
#include "manyworlds/app/cli.hpp"

#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>

#include "manyworlds/app/agreement.hpp"
#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/job.hpp"
#include "manyworlds/app/runner.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/checkpoint.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"

namespace manyworlds {

namespace {

constexpr const char* version_text = "manyworlds " MANYWORLDS_VERSION " (output format manyworlds v1)";

int exit_code(ExitCode code) { return static_cast<int>(code); }

void check_output_path(const std::string& output, bool force, bool resume) {
  const std::filesystem::path path(output);
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder))
    throw InputError("output " + output + ": the folder " + folder.string() + " does not exist; create it or pass another --output");
  if (std::filesystem::exists(path) && !force)
    throw OutputExistsError("output " + output + " exists; pass --force to replace it (the old file stays until the new run completes) or choose another --output");
  const std::string checkpoint = checkpoint_path_for(output);
  if (!resume && std::filesystem::exists(checkpoint) && !force)
    throw OutputExistsError("a checkpoint " + checkpoint + " of an unfinished run exists; pass --resume to continue it, or --force to start over");
}

struct RunArguments {
  std::string job_path;
  JobOverrides overrides;
  bool force = false;
  bool quiet = false;
  bool resume = false;
  int checkpoint_every = -1;   // -1: the job file's run.checkpoint_every
};

int run_command(int argc, char** argv, const RunArguments& arguments) {
  boost::mpi::environment environment(argc, argv);
  const boost::mpi::communicator world;
  try {
    Job job;
    std::string output;
    agreed(world, [&] {
      if (world.rank() != 0) return;
      job = load_job_with_priors(arguments.job_path, arguments.overrides);
      output = default_output_path(job.config);
      check_output_path(output, arguments.force, arguments.resume);
      if (world.size() > job.config.run.worlds)
        throw ResourceError(std::to_string(world.size()) + " ranks but only " + std::to_string(job.config.run.worlds) +
                            " worlds: every rank needs at least one world; run with at most " +
                            std::to_string(job.config.run.worlds) + " ranks or raise run.worlds (--worlds)");
    });
    agreed(world, [&] {
      broadcast_object(world, job);
      broadcast_object(world, output);
    });
    RunOptions options;
    options.output = output;
    options.quiet = arguments.quiet;
    options.resume = arguments.resume;
    options.checkpoint_every = arguments.checkpoint_every >= 0 ? arguments.checkpoint_every : job.config.run.checkpoint_every;
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
  } catch (const AgreedFailure& error) {
    if (world.rank() == 0) std::cerr << "error: " << error.what() << std::endl;
    return exit_code(error.code());
  } catch (const std::exception& error) {
    // A failure on this rank alone: the others may wait in a collective forever, so abort the job.
    const ExitCode code = dynamic_cast<const Error*>(&error) ? dynamic_cast<const Error&>(error).code()
                                                              : ExitCode::runtime_error;
    std::cerr << "error (rank " << world.rank() << "): " << error.what() << std::endl;
    environment.abort(exit_code(code));
    return exit_code(code);
  }
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

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"manyworlds: simulate many ad-auction markets in parallel, importance-sample their "
               "experiences and train a bidding agent on all of them (MPI + parallel HDF5)."};
  app.set_version_flag("--version", version_text);
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 invalid input file, "
             "4 output exists (use --force), 5 impossible resources, 6 interrupted after a checkpoint.\n"
             "Run in parallel with: mpirun -n 4 manyworlds run jobs/quickstart.toml");

  RunArguments run_arguments;
  std::uint64_t seed = 0;
  std::int64_t worlds = 0;
  int iterations = 0;
  std::string output;
  const CLI::Validator positive(
      [](std::string& text) {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        return digits && std::stoll(text) > 0 ? std::string() : "must be a positive whole number, got '" + text + "'";
      },
      "POSITIVE");
  const auto add_overrides = [&](CLI::App* command) {
    command->add_option("--seed", seed, "replace run.seed (0 .. 2^48-1)");
    command->add_option("--worlds", worlds, "replace run.worlds")->check(positive);
    command->add_option("--iterations", iterations, "replace run.iterations")->check(positive);
  };

  CLI::App* run = app.add_subcommand("run", "run a job (under mpirun for several ranks) and write its HDF5 output");
  run->add_option("job", run_arguments.job_path, "job file (TOML), e.g. jobs/quickstart.toml")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--output", output, "output file (default: run.output, else <run.name>.h5)");
  add_overrides(run);
  run->add_flag("--force", run_arguments.force, "replace an existing output file once the new one is complete");
  run->add_flag("-q,--quiet", run_arguments.quiet, "no progress lines");
  run->add_flag("--resume", run_arguments.resume,
                "continue an interrupted run from OUTPUT.checkpoint (same job and options; any number of ranks)");
  run->add_option("--checkpoint-every", run_arguments.checkpoint_every,
                  "write OUTPUT.checkpoint every N iterations (default: run.checkpoint_every; one is always written on SIGUSR1/SIGTERM)")
      ->check(CLI::NonNegativeNumber);

  std::string validate_job_path;
  int validate_ranks = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App* validate = app.add_subcommand("validate", "check a job file and its priors, print the resolved job and size estimates (no MPI needed)");
  validate->add_option("job", validate_job_path, "job file (TOML)")->required()->check(CLI::ExistingFile);
  validate->add_option("--ranks", validate_ranks, "estimate for this many ranks (default: this machine's cores)")->check(CLI::PositiveNumber);
  add_overrides(validate);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& request) {
    return app.exit(request);
  } catch (const CLI::CallForAllHelp& request) {
    return app.exit(request);
  } catch (const CLI::CallForVersion& request) {
    return app.exit(request);
  } catch (const CLI::ParseError& error) {
    std::cerr << "error: " << error.what() << " (see manyworlds --help)" << std::endl;
    return exit_code(ExitCode::usage_error);
  }

  JobOverrides overrides;
  const auto collect_overrides = [&](CLI::App* command) {
    if (command->count("--seed") > 0) overrides.seed = seed;
    if (command->count("--worlds") > 0) overrides.worlds = worlds;
    if (command->count("--iterations") > 0) overrides.iterations = iterations;
  };
  try {
    if (run->parsed()) {
      collect_overrides(run);
      if (!output.empty()) overrides.output = output;
      run_arguments.overrides = overrides;
      return run_command(argc, argv, run_arguments);
    }
    collect_overrides(validate);
    return validate_command(validate_job_path, overrides, validate_ranks);
  } catch (const Error& error) {
    std::cerr << "error: " << error.what() << std::endl;
    return exit_code(error.code());
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << std::endl;
    return exit_code(ExitCode::runtime_error);
  }
}

}  // namespace manyworlds
