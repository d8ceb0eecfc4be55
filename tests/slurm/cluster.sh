#!/usr/bin/env bash
# Brings up / tears down a throwaway one-node SLURM cluster (own munged, slurmctld, slurmd) under one folder.
#
#   tests/slurm/cluster.sh up DIR [CPUS]   tear down whatever DIR holds, then start a fresh cluster in DIR
#   tests/slurm/cluster.sh down DIR        stop this cluster's jobs and daemons by PID (TERM, then KILL)
#   source DIR/env                         point sinfo/sbatch/squeue/scontrol at it (exports SLURM_CONF)
#
# Nothing outside DIR is touched: the cluster has its own munge key and socket, its own free TCP ports,
# state, spool, pid and log files. Needs root (SlurmUser=root; munged runs as the munge user) and the
# Debian packages slurmctld slurmd slurm-client munge. Exit code 77 means "cannot run here" (ctest: skipped).
# Without systemd: every daemon is started directly and stopped by the PID in its pid file, never by name.
set -euo pipefail

readonly SKIP=77
die() { echo "cluster.sh: error: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*" >&2; }

usage() {
  echo "usage: $0 up DIR [CPUS] | down DIR" >&2
  exit 2
}

# The marker the daemons (and the slurmstepd they start) carry in their environment: teardown finds leftovers
# by it (and job processes by SLURM_CONF), so it never touches another cluster's or anyone else's processes.
marker_of() { echo "MANYWORLDS_SLURM_CLUSTER=$1"; }

# ---- process helpers (by PID only) ----

# True while PID runs (a zombie counts as gone: it has exited and only waits for its parent).
# Reads /proc directly: ps is slow (it scans every process), and teardown polls this every 0.1 s.
running() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { IFS= read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ -n $stat && $stat != Z* && $stat != X* ]]
}

name_of() { cat "/proc/$1/comm" 2>/dev/null || echo '?'; }

# True when PID's command line or environment mentions this cluster's folder (guards against reused PIDs).
belongs_to_cluster() {
  local pid=$1 dir=$2
  [[ -r /proc/$pid/cmdline ]] || return 1
  grep -qzF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null && return 0
  grep -qzxF -- "$(marker_of "$dir")" "/proc/$pid/environ" 2>/dev/null
}

# stop_pid NAME PID: TERM, wait up to 10 s, then KILL and wait up to 5 s more.
stop_pid() {
  local name=$1 pid=$2 i
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do running "$pid" || return 0; sleep 0.1; done
  say "$name (pid $pid) ignored TERM for 10 s: sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do running "$pid" || return 0; sleep 0.1; done
  say "warning: $name (pid $pid) is still running after KILL"
  return 1
}

# stop_pid_file NAME FILE DIR: stops the daemon whose PID is in FILE if it is this cluster's.
stop_pid_file() {
  local name=$1 file=$2 dir=$3 pid
  [[ -f $file ]] || return 0
  pid=$(tr -dc '0-9' < "$file")
  if [[ -n $pid ]] && running "$pid"; then
    if belongs_to_cluster "$pid" "$dir"; then
      stop_pid "$name" "$pid" || true
    else
      say "pid file $file names pid $pid, which is not this cluster's $name: left alone"
    fi
  fi
  rm -f "$file"
}

# True when PID is this script, one of its ancestors (the caller) or one of its descendants (its helpers).
related_to_us() {
  local p=$1 ppid rest
  while [[ $p =~ ^[0-9]+$ && $p -gt 1 ]]; do
    [[ $p == "$$" ]] && return 0
    read -r _ _ _ ppid rest 2>/dev/null < "/proc/$p/stat" || return 1
    p=$ppid
  done
  p=$$
  while [[ $p =~ ^[0-9]+$ && $p -gt 1 ]]; do
    [[ $p == "$1" ]] && return 0
    read -r _ _ _ ppid rest 2>/dev/null < "/proc/$p/stat" || return 1
    p=$ppid
  done
  return 1
}

# PIDs of the live processes of this cluster: whatever carries the marker (the daemons and the slurmstepd they
# start) and job processes (their environment names this cluster's slurm.conf and a job id). This script, its
# caller and its helpers are never listed.
cluster_pids() {
  local dir=$1 file pid
  {
    grep -lzxF -- "$(marker_of "$dir")" /proc/[0-9]*/environ 2>/dev/null || true
    grep -lzxF -- "SLURM_CONF=$dir/slurm.conf" /proc/[0-9]*/environ 2>/dev/null | while IFS= read -r file; do
      grep -qz '^SLURM_JOB_ID=' "$file" 2>/dev/null && echo "$file"
    done || true
  } | sort -u | while IFS= read -r file; do
    pid=${file#/proc/}
    pid=${pid%/environ}
    related_to_us "$pid" && continue
    running "$pid" && echo "$pid"
  done
  return 0
}

# ---- teardown ----

down() {
  local dir=$1 i pids pid
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd -P)
  # Jobs first, while the controller can still end them cleanly (no-op when it is not running).
  if [[ -f $dir/slurm.conf && -f $dir/run/slurmctld.pid ]] && running "$(tr -dc '0-9' < "$dir/run/slurmctld.pid")"; then
    SLURM_CONF=$dir/slurm.conf timeout 5 scancel --quiet --full --signal=KILL --state=RUNNING --user="$(id -un)" 2>/dev/null || true
    SLURM_CONF=$dir/slurm.conf timeout 5 scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -t PENDING,RUNNING,COMPLETING,SUSPENDED,REQUEUED -o %i 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  stop_pid_file slurmd "$dir/run/slurmd.pid" "$dir"
  stop_pid_file slurmctld "$dir/run/slurmctld.pid" "$dir"
  # Leftovers of jobs (slurmstepd survives slurmd; tasks may ignore the cancel), found by PID as above.
  pids=$(cluster_pids "$dir")
  for pid in $pids; do stop_pid "leftover process $(name_of "$pid")" "$pid" || true; done
  # munged last: slurmctld and slurmd authenticate through it while they shut down.
  stop_pid_file munged "$dir/munge/munged.pid" "$dir"
  pids=$(cluster_pids "$dir")
  if [[ -n $pids ]]; then
    say "warning: processes of this cluster still running: ${pids//$'\n'/ }"
    ps -o pid,stat,cmd -p "${pids//$'\n'/,}" >&2 || true
    return 1
  fi
  return 0
}

# ---- bring-up ----

free_port() {
  # A TCP port below the kernel's ephemeral range that nothing listens on and that is not in $1.
  local avoid=${1:-} port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12000))
    [[ $port == "$avoid" ]] && continue
    [[ -z $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && { echo "$port"; return 0; }
  done
  die "found no free TCP port in 20000-31999"
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2 i
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  say "timed out after ${seconds} s waiting for $what"
  return 1
}

show_logs() {
  local dir=$1 log
  for log in "$dir/munge/munged.log" "$dir/log/slurmctld.log" "$dir/log/slurmd.log"; do
    [[ -f $log ]] || continue
    echo "---- last lines of $log ----" >&2
    tail -n 25 "$log" >&2
  done
}

node_idle() { [[ $(sinfo -h -n "$1" -o %T 2>/dev/null) == idle ]]; }

up() {
  local dir=$1 cpus=${2:-8} missing=() tool host ctld_port slurmd_port
  [[ $cpus =~ ^[1-9][0-9]*$ ]] || die "CPUS must be a positive whole number, got '$cpus'"
  [[ $(id -u) == 0 ]] || { say "needs root (SlurmUser=root, munged as the munge user): skipped"; exit $SKIP; }
  for tool in munged mungekey munge unmunge slurmctld slurmd sbatch squeue scontrol sinfo scancel srun runuser ss; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    say "missing ${missing[*]}: install with apt-get install --no-install-recommends slurmctld slurmd slurm-client munge (or scripts/setup-debian): skipped"
    exit $SKIP
  fi
  id munge >/dev/null 2>&1 || die "no 'munge' user: is the munge package installed correctly?"

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  # Unix socket paths (munge, slurmstepd, PMIx) must stay under 108 bytes.
  ((${#dir} <= 60)) || die "cluster folder path is ${#dir} characters long ($dir): use one of at most 60 (socket path limit)"
  if [[ -n $(ls -A "$dir") && ! -f $dir/.manyworlds-slurm-cluster ]]; then
    die "$dir is not empty and holds no cluster of this script: refusing to wipe it"
  fi
  down "$dir" || die "could not stop the previous cluster in $dir"
  find "$dir" -mindepth 1 -delete
  echo "throwaway SLURM cluster of tests/slurm/cluster.sh: wiped by its next bring-up" > "$dir/.manyworlds-slurm-cluster"
  chmod 755 "$dir"
  mkdir -p "$dir"/{munge,state,spool,log,run}
  host=$(hostname -s)

  # munge: a fresh key and a private socket, so the machine's own munged (if any) is never involved.
  # munged insists that everyone may traverse its socket folder (and that only it may write there).
  chown munge:munge "$dir/munge" && chmod 711 "$dir/munge"
  mungekey --create --keyfile="$dir/munge/munge.key" --force 2>/dev/null || die "mungekey could not create $dir/munge/munge.key"
  chown munge:munge "$dir/munge/munge.key" && chmod 600 "$dir/munge/munge.key"
  runuser -u munge -- env "$(marker_of "$dir")" munged \
      --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
      --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    || { show_logs "$dir"; die "munged did not start"; }
  wait_for 10 "munged to answer" bash -c "munge -n -S '$dir/munge/munge.socket' | unmunge -S '$dir/munge/munge.socket'" \
    || { show_logs "$dir"; die "munge -n | unmunge fails on $dir/munge/munge.socket"; }

  ctld_port=$(free_port)
  slurmd_port=$(free_port "$ctld_port")
  cat > "$dir/slurm.conf" <<EOF
# Throwaway one-node cluster written by tests/slurm/cluster.sh; everything lives under $dir.
ClusterName=mwtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MailProg=/bin/true
MpiDefault=pmix
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
JobRequeue=1
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf" > "$dir/env"
  export SLURM_CONF=$dir/slurm.conf

  env "$(marker_of "$dir")" slurmctld -f "$dir/slurm.conf" -c || { show_logs "$dir"; die "slurmctld did not start"; }
  wait_for 15 "slurmctld to answer" bash -c 'scontrol ping | grep -q "is UP"' \
    || { show_logs "$dir"; die "slurmctld does not answer (scontrol ping)"; }
  env "$(marker_of "$dir")" slurmd -f "$dir/slurm.conf" -N "$host" || { show_logs "$dir"; die "slurmd did not start"; }
  wait_for 20 "node $host to become idle" node_idle "$host" \
    || { sinfo -N -l >&2 || true; show_logs "$dir"; die "node $host did not become idle"; }
  say "up in $dir: node $host with $cpus CPUs, slurmctld port $ctld_port, slurmd port $slurmd_port (source $dir/env)"
}

[[ $# -ge 2 ]] || usage
case $1 in
  up) [[ $# -le 3 ]] || usage; up "$2" "${3:-8}" ;;
  down) [[ $# -eq 2 ]] || usage; down "$2" ;;
  *) usage ;;
esac
