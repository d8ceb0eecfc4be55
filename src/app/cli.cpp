// The command-line interface: parses arguments, runs a subcommand, maps errors to exit codes.
#include "manyworlds/app/cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "manyworlds/app/auctiongym_command.hpp"
#include "manyworlds/app/calibrate_command.hpp"
#include "manyworlds/app/commands.hpp"
#include "manyworlds/app/runner.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/output_schema.hpp"

namespace manyworlds {

namespace {

// The program's version and the output format version it writes (the file attribute format_version).
std::string version_text() {
  return "manyworlds " MANYWORLDS_VERSION " (output format manyworlds v" + std::to_string(output_format_version) + ")";
}

int exit_code(ExitCode code) { return static_cast<int>(code); }

// The help's last lines: the exit codes, then an example of the command.
std::string help_footer(const std::string& example) {
  return "Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 invalid input file, "
         "4 output exists (use --force), 5 impossible resources (ranks, memory, disk space, unwritable folder), "
         "6 interrupted by a signal (after a checkpoint, or before the first iteration with nothing written).\n"
         "Example: " +
         example;
}

// Every subcommand's CLI11 entry and the values its options are parsed into (bound by reference:
// the object stays where it is from the first add_ to the dispatch).
struct Commands {
  // --seed, --worlds and --iterations of run, validate and evaluate.
  std::uint64_t seed = 0;
  std::int64_t worlds = 0;
  int iterations = 0;

  CLI::App* run = nullptr;
  RunArguments run_arguments;
  std::string output;

  CLI::App* validate = nullptr;
  std::string validate_job_path;
  int validate_ranks = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int validate_ranks_per_node = 0;

  CLI::App* evaluate = nullptr;
  EvaluateArguments evaluate_arguments;
  std::string evaluate_output;

  CLI::App* auctiongym = nullptr;
  std::string auctiongym_job;
  std::string auctiongym_output;
  bool auctiongym_force = false;
  std::uint64_t auctiongym_seed = 0;
  std::int64_t auctiongym_rounds = 0;

  CLI::App* calibrate = nullptr;
  std::string calibrate_events;
  std::string calibrate_output;
  std::string calibrate_base;
  bool calibrate_force = false;

  CLI::App* events = nullptr;
  std::string events_job;
  std::string events_output;
  std::int64_t events_worlds = 0;
  int events_episodes = 1;
  bool events_force = false;
};

CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& text) {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        return digits && std::stoll(text) > 0 ? std::string() : "must be a positive whole number, got '" + text + "'";
      },
      "POSITIVE");
}

void add_overrides(CLI::App* command, Commands& commands) {
  command->add_option("--seed", commands.seed, "replace run.seed (0 .. 2^48-1)");
  command->add_option("--worlds", commands.worlds, "replace run.worlds")->check(positive());
  command->add_option("--iterations", commands.iterations, "replace run.iterations")->check(positive());
}

// The overrides given to `command`.
JobOverrides overrides_of(const CLI::App* command, const Commands& commands) {
  JobOverrides overrides;
  if (command->count("--seed") > 0) overrides.seed = commands.seed;
  if (command->count("--worlds") > 0) overrides.worlds = commands.worlds;
  if (command->count("--iterations") > 0) overrides.iterations = commands.iterations;
  return overrides;
}

void add_run(CLI::App& app, Commands& commands) {
  RunArguments& arguments = commands.run_arguments;
  CLI::App* run = app.add_subcommand("run", "run a job (under mpirun for several ranks) and write its HDF5 output");
  run->add_option("job", arguments.job_path, "job file (TOML), e.g. jobs/quickstart.toml")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("-o,--output", commands.output, "output file (default: run.output, else <run.name>.h5)");
  add_overrides(run, commands);
  run->add_flag("--force", arguments.force, "replace an existing output file once the new one is complete");
  run->add_flag("-q,--quiet", arguments.quiet, "no progress lines");
  run->add_flag("--resume", arguments.resume,
                "continue an interrupted run from OUTPUT.checkpoint (same job and options; any number of ranks)");
  run->add_option("--checkpoint-every", arguments.checkpoint_every,
                  "write OUTPUT.checkpoint every N iterations (default: run.checkpoint_every; one is always written on "
                  "SIGUSR1/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  arguments.lanes = RunOptions::default_lanes;
  run->add_option("--lanes", arguments.lanes,
                  "worlds each rank steps together, deciding their decisions as one batched policy evaluation "
                  "(default: " +
                      std::to_string(RunOptions::default_lanes) +
                      "; only speed depends on it, results are bitwise the same)")
      ->check(CLI::Range(1, 1024));
  run->add_option("--diagnose-sampling", arguments.diagnose_draws,
                  "after every iteration's draw, draw N batches of every sampling arm and write how far their policy "
                  "gradients and crisis-value estimates fall from the whole population's to OUTPUT.sampling.csv "
                  "(one rank only; docs/sampling.md)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--checkpoint-minutes", arguments.checkpoint_minutes,
                  "also write OUTPUT.checkpoint when this many minutes have passed since the last one (default: "
                  "run.checkpoint_minutes, 15; 0: never by time)")
      ->check(CLI::NonNegativeNumber);
  run->footer(help_footer("mpirun -n 4 manyworlds run jobs/quickstart.toml -o quickstart.h5"));
  commands.run = run;
}

void add_validate(CLI::App& app, Commands& commands) {
  CLI::App* validate = app.add_subcommand(
      "validate", "check a job file and its priors, print the resolved job and size estimates (no MPI needed)");
  validate->add_option("job", commands.validate_job_path, "job file (TOML)")->required()->check(CLI::ExistingFile);
  validate
      ->add_option("--ranks", commands.validate_ranks, "estimate for this many ranks (default: this machine's cores)")
      ->check(CLI::PositiveNumber);
  validate
      ->add_option("--ranks-per-node", commands.validate_ranks_per_node,
                   "ranks that will share this machine's memory in the memory check (default: all of --ranks)")
      ->check(CLI::PositiveNumber);
  add_overrides(validate, commands);
  validate->footer(help_footer("manyworlds validate jobs/default.toml --ranks 64"));
  commands.validate = validate;
}

void add_evaluate(CLI::App& app, Commands& commands) {
  EvaluateArguments& arguments = commands.evaluate_arguments;
  CLI::App* evaluate = app.add_subcommand(
      "evaluate",
      "evaluate a finished run's policy and the baselines on another job's worlds (under mpirun for several ranks)");
  evaluate->add_option("job", arguments.job_path, "job file whose worlds to evaluate on")
      ->required()
      ->check(CLI::ExistingFile);
  evaluate->add_option("--policy", arguments.policy_path, "output file of a finished manyworlds run")
      ->required()
      ->check(CLI::ExistingFile);
  evaluate->add_option("-o,--output", commands.evaluate_output, "output file (default: <run.name>-evaluation.h5)");
  evaluate->add_flag("--force", arguments.force, "replace an existing output file");
  add_overrides(evaluate, commands);
  evaluate->footer(help_footer(
      "mpirun -n 4 manyworlds evaluate --policy quickstart.h5 jobs/quickstart.toml --seed 7 -o evaluation.h5"));
  commands.evaluate = evaluate;
}

void add_auctiongym(CLI::App& app, Commands& commands) {
  CLI::App* auctiongym = app.add_subcommand(
      "auctiongym",
      "run the AuctionGym-compatible scenario (6 truthful oracle bidders, second price; docs/auctiongym.md) "
      "under mpirun and write per-round statistics to HDF5");
  auctiongym->add_option("job", commands.auctiongym_job, "scenario file (TOML), e.g. jobs/auctiongym-sp-oracle.toml")
      ->required()
      ->check(CLI::ExistingFile);
  auctiongym->add_option("-o,--output", commands.auctiongym_output,
                         "output file (default: run.output, else <run.name>.h5)");
  auctiongym->add_flag("--force", commands.auctiongym_force,
                       "replace an existing output file once the new one is complete");
  auctiongym->add_option("--seed", commands.auctiongym_seed, "replace run.seed (0 .. 2^48-1)");
  auctiongym->add_option("--rounds", commands.auctiongym_rounds, "replace run.rounds")->check(positive());
  auctiongym->footer(
      help_footer("mpirun -n 4 manyworlds auctiongym jobs/auctiongym-sp-oracle.toml --seed 7 --rounds 5 -o ag.h5"));
  commands.auctiongym = auctiongym;
}

void add_calibrate(CLI::App& app, Commands& commands) {
  CLI::App* calibrate = app.add_subcommand(
      "calibrate",
      "fit the priors (segment shares, click-through and conversion rates by segment and device, delays, "
      "hour-of-day profile, price level) to an event log and write a complete priors file (no MPI; "
      "docs/calibration.md)");
  calibrate->add_option("events", commands.calibrate_events, "event log (CSV; format in docs/calibration.md)")
      ->required()
      ->check(CLI::ExistingFile);
  calibrate->add_option("-o,--output", commands.calibrate_output, "priors file to write (TOML)")->required();
  calibrate
      ->add_option("--base", commands.calibrate_base,
                   "priors to start from: unfitted entries and the segment/device names come from it (e.g. "
                   "jobs/priors/default.toml)")
      ->required()
      ->check(CLI::ExistingFile);
  calibrate->add_flag("--force", commands.calibrate_force, "replace an existing output file");
  calibrate->footer(help_footer("manyworlds calibrate events.csv -o priors.toml --base jobs/priors/default.toml"));
  commands.calibrate = calibrate;
}

void add_events(CLI::App& app, Commands& commands) {
  CLI::App* events = app.add_subcommand("events",
                                        "simulate an event log (CSV) from a job's priors, with a constant bid at the "
                                        "reference price; input for calibrate");
  events
      ->add_option("job", commands.events_job,
                   "job file (TOML): priors, run.seed, world.horizon_days and run.worlds come from it")
      ->required()
      ->check(CLI::ExistingFile);
  events->add_option("-o,--output", commands.events_output, "event log to write (CSV)")->required();
  events->add_option("--worlds", commands.events_worlds, "worlds to simulate (default: run.worlds)")->check(positive());
  events->add_option("--episodes", commands.events_episodes, "campaigns per world (default: 1)")->check(positive());
  events->add_flag("--force", commands.events_force, "replace an existing output file");
  events->footer(help_footer("manyworlds events jobs/quickstart.toml -o events.csv"));
  commands.events = events;
}

// A first argument that is neither an option nor a command: one line naming the commands
// (CLI11 would say only that a subcommand is required, or print the help for `manyworlds fit --help`).
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return std::nullopt;
  const std::string given = argv[1];
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->get_name() == given) return std::nullopt;
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  return "'" + given + "' is not a command of manyworlds; the commands are " + names;
}

// Parses the command line; an exit code if there is nothing to run (help, version, a bad command line).
std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  if (const std::optional<std::string> problem = unknown_command(app, argc, argv)) {
    std::cerr << "error: " << *problem << " (see manyworlds --help)" << std::endl;
    return exit_code(ExitCode::usage_error);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& request) {
    return app.exit(request);
  } catch (const CLI::CallForAllHelp& request) {
    return app.exit(request);
  } catch (const CLI::CallForVersion& request) {
    return app.exit(request);
  } catch (const CLI::ParseError& error) {
    const std::vector<CLI::App*> given = app.get_subcommands();  // the command the error is about, if any
    const std::string help =
        given.empty() ? "manyworlds --help" : "manyworlds " + given.front()->get_name() + " --help";
    std::cerr << "error: " << error.what() << " (see " << help << ")" << std::endl;
    return exit_code(ExitCode::usage_error);
  }
  return std::nullopt;
}

// Runs the parsed subcommand; returns its exit code.
int dispatch(Commands& commands) {
  if (commands.run->parsed()) {
    JobOverrides overrides = overrides_of(commands.run, commands);
    if (!commands.output.empty()) overrides.output = commands.output;
    commands.run_arguments.overrides = overrides;
    return run_command(commands.run_arguments);
  }
  if (commands.calibrate->parsed())
    return calibrate_command(commands.calibrate_events, commands.calibrate_output, commands.calibrate_base,
                             commands.calibrate_force);
  if (commands.events->parsed())
    return events_command(commands.events_job, commands.events_output, commands.events_worlds, commands.events_episodes,
                          commands.events_force);
  if (commands.auctiongym->parsed()) {
    ScenarioOverrides scenario_overrides;
    if (commands.auctiongym->count("--seed") > 0) scenario_overrides.seed = commands.auctiongym_seed;
    if (commands.auctiongym->count("--rounds") > 0) scenario_overrides.rounds = commands.auctiongym_rounds;
    return auctiongym_command(commands.auctiongym_job, commands.auctiongym_output, commands.auctiongym_force,
                              scenario_overrides, std::cerr);
  }
  if (commands.evaluate->parsed()) {
    JobOverrides overrides = overrides_of(commands.evaluate, commands);
    if (!commands.evaluate_output.empty()) overrides.output = commands.evaluate_output;
    commands.evaluate_arguments.overrides = overrides;
    return evaluate_command(commands.evaluate_arguments);
  }
  const int ranks_per_node =
      commands.validate_ranks_per_node > 0 ? commands.validate_ranks_per_node : commands.validate_ranks;
  return validate_command(commands.validate_job_path, overrides_of(commands.validate, commands),
                          commands.validate_ranks, ranks_per_node);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "manyworlds: simulate many ad-auction markets in parallel, importance-sample their "
      "experiences and train a bidding agent on all of them (MPI + parallel HDF5)."};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.footer(help_footer("mpirun -n 4 manyworlds run jobs/quickstart.toml (any command: manyworlds COMMAND --help)"));
  Commands commands;
  add_run(app, commands);
  add_validate(app, commands);
  add_evaluate(app, commands);
  add_auctiongym(app, commands);
  add_calibrate(app, commands);
  add_events(app, commands);
  if (const std::optional<int> code = parse(app, argc, argv)) return *code;
  try {
    return dispatch(commands);
  } catch (const Error& error) {
    std::cerr << "error: " << error.what() << std::endl;
    return exit_code(error.code());
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << std::endl;
    return exit_code(ExitCode::runtime_error);
  }
}

}  // namespace manyworlds
