# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for slurm/local/{up,down,status}.sh.
# Sourced, not executed. Every path below can be overridden from the environment.

SLURM_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${SLURM_LOCAL_STATE_DIR:-/var/lib/slurm-local}"
LOG_DIR="${SLURM_LOCAL_LOG_DIR:-/var/log/slurm-local}"
RUN_DIR="$STATE_DIR/run"
CONF_DIR=/etc/slurm
CLUSTER="${SLURM_LOCAL_CLUSTER:-mothertongue}"
ACCOUNT="${SLURM_LOCAL_ACCOUNT:-mothertongue}"
PARTITION=local
CPUS="${SLURM_LOCAL_CPUS:-8}"
SLURM_USER=root
DB_USER=slurm
DB_NAME=slurm_acct_db
MYSQL_SOCKET=/run/mysqld/mysqld.sock
NODE="$(hostname -s 2>/dev/null || true)"
NODE="${NODE:-localhost}"

# Binaries that must exist for the cluster to run.
REQUIRED_CMDS=(munged munge unmunge mariadbd mysqladmin mariadb slurmdbd slurmctld slurmd
  sinfo squeue sbatch scancel scontrol sacct sacctmgr srun)
APT_PACKAGES=(munge mariadb-server slurm-wlm slurmdbd slurm-client)

log() { printf '[slurm-local] %s\n' "$*"; }
warn() { printf '[slurm-local] WARNING: %s\n' "$*" >&2; }

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: poll COMMAND every 0.2 s until it
# succeeds (return 0) or the timeout passes (return 1).
wait_for() {
  local desc=$1 timeout=$2
  shift 2
  local deadline=$(($(now_ms) + timeout * 1000))
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if (($(now_ms) >= deadline)); then
      warn "timed out after ${timeout}s waiting for $desc"
      return 1
    fi
    sleep 0.2
  done
}

# alive PID: the process exists and is not a zombie.
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# pid_from_file FILE: print the pid stored in FILE if that process is alive.
pid_from_file() {
  local f=$1 pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] || return 1
  alive "$pid" || return 1
  printf '%s\n' "$pid"
}

# proc_name PID: the process' command name (comm).
proc_name() { cat "/proc/$1/comm" 2>/dev/null || true; }

# daemon_pid NAME: pid of our running daemon NAME (checked against its comm so a
# recycled pid is never mistaken for it), from its own pid file or our launch record.
daemon_pid() {
  local name=$1 f pid
  for f in "$RUN_DIR/$name.pid" "$RUN_DIR/$name.launch.pid"; do
    if pid=$(pid_from_file "$f") && [[ $(proc_name "$pid") == "$name" ]]; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

not_alive() { ! alive "$1"; }

# stop_daemon NAME [TIMEOUT]: SIGTERM our daemon NAME by pid, SIGKILL after TIMEOUT s.
stop_daemon() {
  local name=$1 timeout=${2:-15} pid
  if ! pid=$(daemon_pid "$name"); then
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.launch.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for "$name to exit" "$timeout" not_alive "$pid"; then
    warn "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for "$name to die" 5 not_alive "$pid" || true
  fi
  rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.launch.pid"
}

have_cmds() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || return 1
  done
}

# Readiness probes (each prints nothing and returns 0/1).
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
mariadb_ok() { mysqladmin --socket="$MYSQL_SOCKET" --connect-timeout=2 ping >/dev/null 2>&1; }
slurmdbd_ok() { timeout 10 sacctmgr -n -P show cluster >/dev/null 2>&1; }
slurmctld_ok() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }
sacct_ok() { timeout 10 sacct -n -X -S now-1minutes -o JobID >/dev/null 2>&1; }

# node_state: the node's state in the local partition, e.g. idle, mixed, down*.
node_state() { timeout 10 sinfo -h -p "$PARTITION" -n "$NODE" -o %T 2>/dev/null | head -n1; }

node_ok() {
  case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

# cluster_ok: the cluster answers (controller up, node usable, accounting works).
cluster_ok() {
  have_cmds sinfo scontrol sacct || return 1
  slurmctld_ok && node_ok && sacct_ok
}
