// The run loop wiring world, sampling, learning, parallel and io layers together.
#include "manyworlds/app/runner.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <utility>

#include "manyworlds/app/agreement.hpp"
#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/evaluation_protocol.hpp"
#include "manyworlds/app/iteration_parts.hpp"
#include "manyworlds/app/progress.hpp"
#include "manyworlds/app/run_files.hpp"
#include "manyworlds/app/sampling_diagnostic.hpp"
#include "manyworlds/app/stop_signal.hpp"
#include "manyworlds/app/timed_collectives.hpp"
#include "manyworlds/app/world_costs.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/checkpoint.hpp"
#include "manyworlds/io/output_file.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {

namespace {

using Clock = std::chrono::steady_clock;

// A new partition of the worlds must lower the busiest rank's cost by more than this share.
constexpr double rebalance_gain = 0.02;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Peak resident memory of this process (Linux reports ru_maxrss in KiB).
double peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

class Runner {
 public:
  Runner(const Job& job, const RunOptions& options, const boost::mpi::communicator& communicator, std::ostream& log)
      : job_(job),
        config_(job.config),
        options_(options),
        communicator_(communicator),
        mpi_(communicator),
        collectives_(mpi_),
        model_(config_.policy, job.priors.creatives),
        protocol_(job, model_, collectives_),
        log_stream_(log),
        log_(log, collectives_.is_root() && !options.quiet, 0, config_.run.iterations),
        simulate_(config_, model_, static_cast<std::size_t>(std::max(1, options.lanes))),
        classify_(config_, job.priors),
        sample_(config_, model_, job.priors),
        train_(config_, model_),
        evaluate_(config_, protocol_) {}

  RunSummary run() {
    const Clock::time_point start = Clock::now();
    const RunFiles files = RunFiles::for_output(options_.output);
    log_.info("manyworlds " MANYWORLDS_VERSION ": job '" + config_.run.name + "' (" + config_.file + "), " +
              std::to_string(config_.run.worlds) + " worlds on " + std::to_string(collectives_.size()) + " ranks, " +
              std::to_string(config_.run.iterations) + " iterations, seed " + std::to_string(config_.run.seed));

    agree([&] { partition_by(estimated_world_costs(job_, config_.run.seed, config_.run.worlds, 0, collectives_)); });
    agree([&] {
      const std::uint64_t seed = config_.run.seed;
      const double horizon = config_.world.horizon_days;
      worlds_ = make_worlds(job_.priors, seed, horizon, world_range_.begin, world_range_.size());
      reserve_experiences();
    });
    RunSummary summary;
    summary.output = options_.output;
    if (collectives_.sum(received_stop_signal() != 0 ? 1 : 0) > 0) return stopped_before_start(summary, start);

    const int first_iteration = prepare_files(files);
    try {
      run_iterations(files, first_iteration, summary);
    } catch (const AgreedFailure& failure) {
      throw AgreedFailure(failure.code(), failure.what() + end_after_failure(files));
    }
    summary.seconds = seconds_since(start);
    return summary;
  }

 private:
  // Every rank reserves room for the experiences its worlds are expected to produce (not the
  // whole run.max_experiences_per_rank: the buffer grows beyond the expectation if it must).
  void reserve_experiences() {
    const double expected = expected_experiences(job_, world_range_);
    const auto capacity = static_cast<double>(config_.run.max_experiences_per_rank);
    const auto wanted = static_cast<std::size_t>(std::min(expected * 1.05, capacity));
    try {
      simulate_.reserve(wanted);
    } catch (const std::bad_alloc&) {
      throw out_of_memory(wanted);
    }
  }
  ResourceError out_of_memory(std::size_t experiences) const {
    return ResourceError("rank " + std::to_string(collectives_.rank()) + " ran out of memory for " +
                         std::to_string(experiences) + " experiences (" +
                         human_bytes(static_cast<double>(sizeof(Experience)) * static_cast<double>(experiences)) +
                         "; run.max_experiences_per_rank = " + std::to_string(config_.run.max_experiences_per_rank) +
                         "): run on more ranks or nodes, or lower run.worlds or world.horizon_days");
  }

  RunSummary stopped_before_start(RunSummary& summary, Clock::time_point start) const {
    summary.interrupted = true;
    const int received = received_stop_signal();
    summary.stop_message = std::string("stopped by ") +
                           (received != 0 ? signal_name(received) : "a signal to another rank") +
                           " before the first iteration: nothing was written and there is nothing to resume; run again "
                           "(with or without --resume) to start anew";
    summary.seconds = seconds_since(start);
    return summary;
  }

  // Restores the checkpoint (resume) or clears a stale one (a new run); then holds back disk space.
  // Returns the first iteration to run. Nothing is changed if this throws.
  int prepare_files(const RunFiles& files) {
    bool resume = false;
    agree([&] {
      if (!collectives_.is_root()) return;
      resume = options_.resume && std::filesystem::exists(files.checkpoint);
      if (options_.resume && !resume)  // said even with --quiet: the user asked for something else
        log_stream_ << "note: no checkpoint " << files.checkpoint << " to resume from: starting anew" << std::endl;
    });
    std::vector<std::int64_t> flag{resume ? 1 : 0};
    collectives_.broadcast(flag);
    const int first_iteration = flag[0] != 0 ? restore(files) : 0;
    agree([&] {
      if (!collectives_.is_root()) return;
      if (flag[0] == 0) std::filesystem::remove(files.checkpoint);
      reserve_ = SpaceReserve(files.reserve, reserve_bytes);
    });
    return first_iteration;
  }

  void run_iterations(const RunFiles& files, int first_iteration, RunSummary& summary) {
    const OutputLayout layout = output_layout();
    agree([&] {
      if (first_iteration > 0) {
        output_.emplace(OutputFile::open(files.partial, mpi_.raw_comm(), layout));
        return;
      }
      output_.emplace(OutputFile::create(files.partial, mpi_.raw_comm(), config_, job_.priors, layout));
      std::vector<WorldParams> params;
      for (const World& world : worlds_) params.push_back(world.params());
      output_->write_worlds(job_.priors, world_range_.begin, params);
      std::vector<WorldParams> validation;
      for (const World& world : protocol_.validation_worlds()) validation.push_back(world.params());
      std::vector<WorldParams> test;
      for (const World& world : protocol_.test_worlds()) test.push_back(world.params());
      output_->write_evaluation_worlds(job_.priors, protocol_.validation_range().begin, validation,
                                       protocol_.test_range().begin, test);
    });
    agree([&] {
      protocol_.tune(log_);
      protocol_.measure_validation_references();
    });
    if (first_iteration == 0) {
      secure_output_space_for(output_->append_bytes_upper_bound(true), "the first validation round");
      agree([&] { output_->write_validation_references(protocol_.references()); });
      validate_into(0, *output_);  // the untrained policy is a candidate too
    }
    log_ = ProgressLog(log_stream_, collectives_.is_root() && !options_.quiet, first_iteration, config_.run.iterations);
    if (first_iteration > 0)
      log_.info("resumed from " + files.checkpoint + " at iteration " + std::to_string(first_iteration + 1));
    log_.info("writing " + files.partial + " (renamed to " + options_.output + " when complete)");
    last_checkpoint_ = Clock::now();
    for (int iteration = first_iteration; iteration < config_.run.iterations; ++iteration) {
      const IterationMetrics metrics = iterate(iteration, *output_);
      summary.decisions += metrics.decisions;
      summary.final_mean_return = metrics.mean_episode_return;
      summary.iterations = iteration + 1;
      if (iteration + 1 == config_.run.iterations) break;
      const IterationEnd end = iteration_end(iteration);
      if (end.stop || end.checkpoint) write_checkpoint_after(iteration, files, layout);
      if (end.stop) {
        agree([&] { close_output(); });
        summary.interrupted = true;
        const int received = received_stop_signal();
        summary.stop_message =
            std::string("stopped by ") + (received != 0 ? signal_name(received) : "a signal to another rank") +
            " after iteration " + std::to_string(iteration + 1) + "; continue with: manyworlds run " + config_.file +
            " -o " + options_.output + " --resume";
        return;
      }
    }
    TestResults test;
    agree([&] { test = protocol_.test(train_.parameters(), log_); });
    if (collectives_.is_root()) {
      summary.test_score = test.summary.overall[static_cast<int>(TestStrategy::policy)];
      summary.test_versus_adaptive_pacing = test.summary.versus[static_cast<int>(TestStrategy::policy)];
    }
    const SelectedSnapshot& selected = protocol_.selected();
    secure_output_space_for(output_->finish_bytes_upper_bound(static_cast<int>(job_.priors.world_types.size())),
                            "the test results and the final policy");
    agree([&] {
      output_->write_test(test, static_cast<int>(job_.priors.world_types.size()));
      output_->write_final_policy(selected.iteration >= 0 ? selected.parameters : train_.parameters(),
                                  train_.parameters(), selected.iteration);
      close_output();
    });
    collectives_.barrier();
    agree([&] {
      if (!collectives_.is_root()) return;
      trim_output_space(files.partial);
      std::filesystem::rename(files.partial, options_.output);
      std::filesystem::remove(files.checkpoint);
      reserve_.release();
    });
  }

  // What all ranks agree on after an iteration: stop (a signal reached any rank) and/or checkpoint
  // (every checkpoint_every iterations, or checkpoint_minutes after the last one by rank 0's clock).
  struct IterationEnd {
    bool stop = false;
    bool checkpoint = false;
  };
  IterationEnd iteration_end(int iteration) {
    const double minutes = options_.checkpoint_minutes;
    const bool late = collectives_.is_root() && minutes > 0 && seconds_since(last_checkpoint_) >= 60.0 * minutes;
    std::vector<std::int64_t> votes{received_stop_signal() != 0 ? 1 : 0, late ? 1 : 0};
    collectives_.sum_int64(votes);
    const bool every = options_.checkpoint_every > 0 && (iteration + 1) % options_.checkpoint_every == 0;
    return {votes[0] > 0, votes[1] > 0 || every};
  }

  // Collective: rank 0 secures room on OUTPUT.partial's disk for the next `bytes` of collective
  // writes (secure_output_space) and every rank agrees on the outcome, so a full disk ends every rank
  // with the same error BEFORE the collective HDF5 calls (one that fails inside parallel HDF5 on some
  // ranks only leaves the others waiting in its barriers).
  void secure_output_space_for(double bytes, const std::string& what) {
    agree([&] {
      if (collectives_.is_root()) secure_output_space(options_.output + ".partial", bytes, what);
    });
  }

  void close_output() {
    if (output_) output_->close();
    output_.reset();
  }

  // After an agreed failure: frees the held-back space (so that closing can write the file's
  // metadata even on a full disk), closes the output, and keeps OUTPUT.partial only if a checkpoint
  // can continue it. Returns the end of the error message.
  std::string end_after_failure(const RunFiles& files) {
    if (collectives_.is_root()) reserve_.release();
    collectives_.barrier();
    try {
      close_output();
    } catch (const Error&) {
      output_.reset();  // every rank saw the failure (the close agrees); the file is left as it is
    }
    std::string kept;
    if (collectives_.is_root()) kept = clean_up_after_failure(files, config_.file);
    return kept;
  }

  OutputLayout output_layout() const {
    OutputLayout layout;
    layout.worlds = config_.run.worlds;
    layout.validation_worlds = config_.evaluation.validation_worlds;
    layout.test_worlds = config_.evaluation.test_worlds;
    layout.batch_size = config_.sampling.batch_size;
    layout.policy_parameters = model_.parameter_count();
    layout.creatives = model_.creatives();
    layout.evaluation_strategies = test_strategy_names();
    layout.policy_hidden = config_.policy.hidden;
    layout.value_hidden = config_.policy.value_hidden;
    layout.ranks = collectives_.size();
    return layout;
  }

  // Rank 0 checks the checkpoint and the output prefix it vouches for, then cuts the output back
  // to it; every rank gets the learner's state. Nothing is changed unless every check passes.
  int restore(const RunFiles& files) {
    CheckpointState state;
    agree([&] {
      if (!collectives_.is_root()) return;
      state = read_checkpoint(files.checkpoint, {job_fingerprint(job_), config_.run.iterations});
      if (state.learner_version != learner_state_version)
        throw InputError(files.checkpoint + ": learner state version " + std::to_string(state.learner_version) +
                         ", this program reads version " + std::to_string(learner_state_version) +
                         "; resume it with the program that wrote it");
      protocol_.restore_selected(restore_learner_state(state.learner, train_, config_.run.iterations));
      verify_output(files.partial, files.checkpoint, state.output);
      rewind_output(files.partial, state.output);
      digests_ = state.output;
    });
    std::vector<std::int64_t> next{state.next_iteration, protocol_.selected().iteration};
    collectives_.broadcast(next);
    // Every rank steps Adam in the data-parallel update: all need the restored parameters and moments.
    std::vector<double> parameters = train_.parameters();
    std::vector<double> adam =
        collectives_.is_root() ? train_.trainer().export_optimizer_state() : std::vector<double>{};
    collectives_.broadcast(parameters);
    collectives_.broadcast(adam);
    train_.restore(parameters, adam);
    SelectedSnapshot selected = protocol_.selected();
    selected.iteration = static_cast<int>(next[1]);
    collectives_.broadcast(selected.score);
    collectives_.broadcast(selected.parameters);
    protocol_.restore_selected(std::move(selected));
    return static_cast<int>(next[0]);
  }

  // Collective: closes the output (flushing it), rank 0 brings the output digests up to date
  // (reading only the rows written since the last checkpoint) and writes the learner's state with
  // them (atomically); the output is reopened to go on. Costs O(state + new rows), not O(output).
  void write_checkpoint_after(int iteration, const RunFiles& files, const OutputLayout& layout) {
    const Clock::time_point start = Clock::now();
    agree([&] { close_output(); });
    std::uintmax_t bytes = 0;
    std::uintmax_t output_bytes = 0;
    agree([&] {
      if (!collectives_.is_root()) return;
      digests_ = digest_output(files.partial, digests_);
      CheckpointState state;
      state.fingerprint = job_fingerprint(job_);
      state.next_iteration = iteration + 1;
      state.learner_version = learner_state_version;
      state.learner = learner_state(train_, protocol_.selected());
      state.output = digests_;
      write_checkpoint(files.checkpoint, state);
      bytes = std::filesystem::file_size(files.checkpoint);
      output_bytes = std::filesystem::file_size(files.partial);
    });
    agree([&] { output_.emplace(OutputFile::open(files.partial, mpi_.raw_comm(), layout)); });
    last_checkpoint_ = Clock::now();
    log_.checkpoint_written();
    log_.info("checkpoint written after iteration " + std::to_string(iteration + 1) + ": " + files.checkpoint + " (" +
              std::to_string(bytes) + " bytes in " + human_duration(seconds_since(start)) +
              "; the output it continues: " + std::to_string(output_bytes) + " bytes)");
  }

  // Where an iteration started: its clock and the collectives' counters.
  // agreed() on this run's ranks, counted: each agreement is one collective operation of
  // /runtime/collective_calls (its waiting shows in the phase it ends).
  template <class Body>
  void agree(Body&& body) {
    ++agreements_;
    agreed(communicator_, std::forward<Body>(body));
  }

  // Collective operations so far: those of collectives_ and the agreements.
  std::int64_t collective_calls() const { return collectives_.calls() + agreements_; }

  struct IterationStart {
    Clock::time_point time;
    std::int64_t bytes = 0;
    double collective_seconds = 0;
    std::int64_t calls = 0;
  };

  IterationMetrics iterate(int iteration, OutputFile& output) {
    const IterationStart start{Clock::now(), collectives_.bytes_moved(), collectives_.seconds(), collective_calls()};
    RuntimeMetrics runtime;

    // 1. Simulate this rank's worlds with the current policy; values and advantages per episode.
    SimulatePart::Result simulation;
    double simulated = 0;  // this rank's own simulation time, before the agreement waits for the others
    agree([&] {
      try {
        simulation = simulate_.run(iteration, worlds_, train_.parameters());
      } catch (const std::bad_alloc&) {
        throw out_of_memory(simulate_.experiences().size());
      }
      simulated = seconds_since(start.time);
    });
    // The wait for the slowest rank inside the agreement: what imbalance costs, kept out of the phases that follow.
    const double waited = seconds_since(start.time) - simulated;

    // 2. Event types (collective: the value percentile spans all ranks).
    Clock::time_point phase = Clock::now();
    const IdentificationCounts identification = classify_.run(simulate_.experiences(), collectives_);
    runtime.classify_seconds = seconds_since(phase);

    // 3. The batch: decided from per-world summaries; rows stay with their owners.
    phase = Clock::now();
    SampledBatch batch;
    agree([&] { batch = sample_.run(iteration, simulate_.experiences(), simulation.slices, collectives_); });
    runtime.sample_seconds = seconds_since(phase);
    const std::vector<double> behaviour_parameters = train_.parameters();
    const BehaviourColumns behaviour = sample_.behaviour_of(batch.rows, behaviour_parameters);
    if (options_.diagnose_draws > 0) diagnose(iteration, simulation.slices);

    // 4. Every rank trains on its own rows; rank 0 sums the per-world figures in world order.
    const IterationMetrics metrics = train(iteration, simulation.summaries, identification, batch, runtime);

    // 5. Validation every `every` iterations and after the last.
    evaluate(iteration, output, runtime);

    // 6. The iteration's rows in the file, then the transport and timing figures of every rank.
    phase = Clock::now();
    agree([&] {
      record_.run(output, {iteration, world_range_.begin, simulation.summaries, &batch, &behaviour,
                           behaviour_parameters, metrics});
    });
    runtime.write_seconds = seconds_since(phase);
    finish_runtime(iteration, output, start, simulation.summaries, {simulated, waited, metrics.decisions}, runtime);
    log_.iteration(iteration, metrics, runtime, config_.sampling.batch_size);
    return metrics;
  }

  // Step 4 of an iteration (collective): rank 0's figures from the gathered per-world sums, then
  // every rank's update on its own rows.
  IterationMetrics train(int iteration, const std::vector<WorldIterationSummary>& local_summaries,
                         const IdentificationCounts& identification, const SampledBatch& batch,
                         RuntimeMetrics& runtime) {
    const Clock::time_point phase = Clock::now();
    const std::vector<WorldIterationSummary> summaries = collectives_.gather(local_summaries);
    const Clock::time_point serial = Clock::now();
    IterationMetrics metrics;
    if (collectives_.is_root()) metrics = iteration_metrics(config_, summaries, identification, batch.summary);
    runtime.serial_seconds = seconds_since(serial);
    agree([&] { train_.run(iteration, batch, collectives_, metrics, runtime); });
    runtime.update_seconds = seconds_since(phase);
    return metrics;
  }

  // Step 5 of an iteration (collective): first, all ranks agree that the disk has room for what
  // this iteration writes (validation and record); then the validation round if one is due.
  void evaluate(int iteration, OutputFile& output, RuntimeMetrics& runtime) {
    const Clock::time_point phase = Clock::now();
    const bool evaluate_now = evaluate_.due(iteration);
    secure_output_space_for(output.append_bytes_upper_bound(evaluate_now),
                            "iteration " + std::to_string(iteration + 1));
    if (evaluate_now) validate_into(iteration + 1, output);
    runtime.evaluate_seconds = evaluate_now ? seconds_since(phase) : 0.0;
  }

  // This rank's own figures of an iteration, before they are combined over the ranks.
  struct RankFigures {
    double simulated = 0;  // seconds simulating
    double waited = 0;     // seconds waiting for the slowest rank after simulating
    double decisions = 0;  // over all ranks (rank 0's metrics)
  };

  // The end of an iteration (collective): re-partitioning, the figures of every rank, /runtime.
  void finish_runtime(int iteration, OutputFile& output, const IterationStart& start,
                      const std::vector<WorldIterationSummary>& local_summaries, const RankFigures& figures,
                      RuntimeMetrics& runtime) {
    const Clock::time_point phase = Clock::now();
    bool moved = false;
    agree([&] { moved = rebalance(local_summaries); });
    runtime.balance_seconds = seconds_since(phase);
    runtime.partition_changes = moved ? 1.0 : 0.0;
    runtime.batch_write_seconds = output.last_batch_write_seconds();
    runtime.batch_bytes = output.batch_bytes_per_iteration();
    runtime.batch_writes_collective = output.batch_writes_collective() ? 1.0 : 0.0;
    gather_rank_figures(runtime, figures.simulated, figures.waited, collectives_.bytes_moved() - start.bytes);
    runtime.decisions_per_second = figures.decisions / std::max(runtime.simulate_seconds, 1e-9);
    runtime.collective_seconds = collectives_.seconds() - start.collective_seconds;
    runtime.collective_calls = static_cast<double>(collective_calls() - start.calls);
    runtime.iteration_seconds = seconds_since(start.time);
    agree([&] { output.append_runtime(iteration, runtime); });
  }

  // This rank's worlds: a contiguous block of balanced cost (the same bounds on every rank).
  void partition_by(const std::vector<double>& costs) {
    bounds_ = balanced_bounds(costs, collectives_.size());
    world_range_ = {bounds_[static_cast<std::size_t>(collectives_.rank())],
                    bounds_[static_cast<std::size_t>(collectives_.rank()) + 1]};
  }

  // Collective, after an iteration: re-partitions the worlds by their measured cost (queries plus
  // decisions, identical on every rank) when that lowers the busiest rank's cost by more than
  // rebalance_gain. Worlds that change rank are rebuilt from the seed (a world holds no state
  // between episodes), so results do not change. Returns whether the partition changed.
  bool rebalance(const std::vector<WorldIterationSummary>& local_summaries) {
    std::vector<double> local;
    for (const WorldIterationSummary& summary : local_summaries)
      local.push_back(static_cast<double>(summary.stats.queries + summary.stats.decisions));
    const std::vector<double> costs = collectives_.allgather(local);
    const std::vector<std::int64_t> current = bounds_;
    if (imbalance_of(costs, balanced_bounds(costs, collectives_.size())) * (1.0 + rebalance_gain) >=
        imbalance_of(costs, current))
      return false;
    const IdRange previous = world_range_;
    partition_by(costs);
    std::vector<World> moved;
    moved.reserve(static_cast<std::size_t>(world_range_.size()));
    for (std::int64_t id = world_range_.begin; id < world_range_.end; ++id) {
      if (previous.contains(id)) {
        moved.push_back(std::move(worlds_[static_cast<std::size_t>(id - previous.begin)]));
      } else {
        std::vector<World> built = make_worlds(job_.priors, config_.run.seed, config_.world.horizon_days, id, 1);
        moved.push_back(std::move(built.front()));
      }
    }
    worlds_ = std::move(moved);
    return true;
  }

  // Per-rank figures combined over ranks (collective): slowest and mean simulation, mean wait,
  // bytes, experiences and peak memory.
  void gather_rank_figures(RuntimeMetrics& runtime, double simulated, double waited, std::int64_t bytes) {
    const double rss = peak_rss_bytes();
    std::vector<double> largest{simulated, static_cast<double>(simulate_.experiences().size()), rss, -rss,
                                static_cast<double>(bytes)};
    collectives_.max_double(largest);
    ExactSum sums(2);
    sums.add(0, simulated);
    sums.add(1, waited);
    std::array<double, 2> totals{};
    sums.reduce(collectives_, totals);
    const double ranks = collectives_.size();
    runtime.simulate_seconds = largest[0];
    runtime.max_rank_experiences = largest[1];
    runtime.max_rank_rss_bytes = largest[2];
    runtime.min_rank_rss_bytes = -largest[3];
    runtime.root_rss_bytes = rss;
    runtime.max_rank_bytes_moved = largest[4];
    runtime.simulate_mean_seconds = totals[0] / ranks;
    runtime.simulate_imbalance = largest[0] / std::max(totals[0] / ranks, 1e-12);
    runtime.wait_seconds = totals[1] / ranks;
    runtime.bytes_moved = static_cast<double>(collectives_.sum(bytes)) / 2.0;
  }

  // Collective: a validation round of the current policy after `iterations` iterations, appended to the output.
  void validate_into(int iterations, OutputFile& output) {
    ValidationRound round;
    agree([&] { round = evaluate_.run(iterations, train_.parameters(), log_); });
    agree([&] { output.append_validation(round); });
  }

  // The sampling diagnostic (one rank): every arm's batches against this iteration's population,
  // appended to OUTPUT.sampling.csv and logged.
  void diagnose(int iteration, const std::vector<WorldSlice>& slices) {
    const std::string path = options_.output + ".sampling.csv";
    const bool fresh = !std::filesystem::exists(path) || std::filesystem::file_size(path) == 0;
    std::ofstream csv(path, std::ios::app);
    if (fresh)
      csv << "iteration,arm,draws,gradient_mse,gradient_bias_squared,gradient_relative_mse,crisis_value_mse,mean_ess\n";
    for (const ArmDiagnosis& arm : diagnose_sampling(simulate_.experiences(), slices, iteration, config_, model_,
                                                     train_.parameters(), options_.diagnose_draws)) {
      csv << iteration << ',' << arm.arm << ',' << options_.diagnose_draws << ',' << arm.gradient.mean_squared_error
          << ',' << arm.gradient.bias_squared << ',' << arm.gradient.relative_error << ','
          << arm.crisis_value.mean_squared_error << ',' << arm.effective_sample_size << '\n';
      char text[200];
      std::snprintf(
          text, sizeof text,
          "sampling diagnostic, iteration %d, %s: gradient relative MSE %.4f, crisis value MSE %.4g, ESS %.0f",
          iteration + 1, arm.arm.c_str(), arm.gradient.relative_error, arm.crisis_value.mean_squared_error,
          arm.effective_sample_size);
      log_.info(text);
    }
    if (!csv) throw RuntimeFailure(path + ": could not write the sampling diagnostic");
  }

  const Job& job_;
  const JobConfig& config_;
  RunOptions options_;
  boost::mpi::communicator communicator_;
  MpiCollectives mpi_;
  TimedCollectives collectives_;
  std::int64_t agreements_ = 0;  // agree() calls so far
  PolicyModel model_;
  EvaluationProtocol protocol_;
  std::ostream& log_stream_;
  ProgressLog log_;
  SimulatePart simulate_;
  ClassifyPart classify_;
  SamplePart sample_;
  TrainPart train_;
  EvaluatePart evaluate_;
  RecordPart record_;
  std::vector<std::int64_t> bounds_;  // world partition: rank r owns [bounds_[r], bounds_[r + 1])
  IdRange world_range_;
  std::vector<World> worlds_;
  std::optional<OutputFile> output_;    // OUTPUT.partial while it is open
  std::vector<DatasetDigest> digests_;  // rank 0: the output as the last checkpoint vouched for it
  SpaceReserve reserve_;                // rank 0: disk space held back (RunFiles::reserve)
  Clock::time_point last_checkpoint_ = Clock::now();
};

}  // namespace

std::string job_fingerprint(const Job& job) {
  JobConfig config = job.config;
  config.file.clear();  // the same job may be given by another path
  config.world.priors_path.clear();
  config.run.output.clear();
  config.run.checkpoint_every = 0;
  config.run.checkpoint_minutes = 0;
  return describe(config) + "[job text]\n" + job.config.text + "[priors text]\n" + job.priors.text;
}

RunSummary run_job(const Job& job, const RunOptions& options, const boost::mpi::communicator& communicator,
                   std::ostream& log) {
  Runner runner(job, options, communicator, log);
  return runner.run();
}

}  // namespace manyworlds
