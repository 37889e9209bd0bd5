#!/usr/bin/env bash
# Start (installing it first if needed) a real single-node Slurm 22.05 cluster with
# accounting (munge + mariadb + slurmdbd + slurmctld + slurmd), without systemd.
#
# Usage: slurm/local/up.sh [--check]
#   --check   only report whether the cluster answers (same as status.sh).
# Exit codes: 0 ready; 1 failed to start (see the logs named in the message);
#             2 usage; 3 cannot run Slurm here (no root or no apt / install failed):
#             fall back to submitit's local executor.
# Idempotent: if the cluster already answers it returns in ~1-2 s. A cold start
# (daemons not running) always begins from clean controller + accounting state.
set -euo pipefail

# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

START_MS=$(now_ms)
elapsed() { printf '%d.%01d s' $((($(now_ms) - START_MS) / 1000)) $(((($(now_ms) - START_MS) % 1000) / 100)); }

case "${1:-}" in
  "") ;;
  --check) exec "$SLURM_LOCAL_DIR/status.sh" ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

fallback() {
  echo "slurm-local: $*" >&2
  echo "slurm-local: cannot run the local Slurm cluster here; fall back to submitit's local executor" \
    "(--cluster local-noslurm or MOTHERTONGUE_EXECUTOR=local)." >&2
  exit 3
}

fail() {
  echo "slurm-local: ERROR: $* (after $(elapsed))" >&2
  exit 1
}

# fail_with_log MESSAGE LOGFILE...: print the end of each log, then exit 1.
fail_with_log() {
  local msg=$1 f
  shift
  for f in "$@"; do
    if [[ -s $f ]]; then
      echo "----- last lines of $f -----" >&2
      tail -n 20 "$f" >&2 || true
    fi
  done
  fail "$msg; logs: $*"
}

ready_message() {
  local cpus
  cpus=$(timeout 10 sinfo -h -p "$PARTITION" -n "$NODE" -o %c 2>/dev/null | head -n1)
  echo "local slurm cluster ready: partition $PARTITION, node $NODE, ${cpus:-$CPUS} CPUs (took $(elapsed))"
}

# ---------------------------------------------------------------- config render
render_configs() {
  # Writes the wanted configs into $1 (a directory).
  local out=$1 mem_total real_mem def_mem db_pass
  mem_total=$(free -m | awk '/^Mem:/ {print $2}')
  # Leave ~10% (at least 512 MiB) to the OS and the daemons.
  real_mem=$((mem_total - (mem_total / 10 > 512 ? mem_total / 10 : 512)))
  ((real_mem >= 256)) || real_mem=256
  def_mem=$((real_mem / CPUS))
  ((def_mem <= 2000)) || def_mem=2000
  db_pass=$(cat "$STATE_DIR/db.pass")
  sed -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@HOST@|$NODE|g" -e "s|@SLURM_USER@|$SLURM_USER|g" \
    -e "s|@STATE@|$STATE_DIR|g" -e "s|@LOG@|$LOG_DIR|g" -e "s|@CPUS@|$CPUS|g" \
    -e "s|@REALMEM@|$real_mem|g" -e "s|@DEFMEM@|$def_mem|g" \
    "$SLURM_LOCAL_DIR/slurm.conf.in" >"$out/slurm.conf"
  sed -e "s|@SLURM_USER@|$SLURM_USER|g" -e "s|@STATE@|$STATE_DIR|g" -e "s|@LOG@|$LOG_DIR|g" \
    -e "s|@DB_USER@|$DB_USER|g" -e "s|@DB_PASS@|$db_pass|g" \
    "$SLURM_LOCAL_DIR/slurmdbd.conf.in" >"$out/slurmdbd.conf"
  cp "$SLURM_LOCAL_DIR/cgroup.conf" "$out/cgroup.conf"
}

configs_current() {
  local d=$1 f
  for f in slurm.conf slurmdbd.conf cgroup.conf; do
    cmp -s "$d/$f" "$CONF_DIR/$f" || return 1
  done
}

install_configs() {
  local d=$1
  mkdir -p "$CONF_DIR"
  install -m 0644 -o root -g root "$d/slurm.conf" "$CONF_DIR/slurm.conf"
  install -m 0644 -o root -g root "$d/cgroup.conf" "$CONF_DIR/cgroup.conf"
  install -m 0600 -o "$SLURM_USER" -g root "$d/slurmdbd.conf" "$CONF_DIR/slurmdbd.conf"
}

# ---------------------------------------------------------------- fast path
# Already up (works for non-root users too): nothing to do.
if [[ $(id -u) -ne 0 ]]; then
  if cluster_ok; then
    ready_message
    exit 0
  fi
  fallback "not running as root (uid $(id -u)), and no local cluster is running; up.sh must run as root to install and start Slurm."
fi

mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR"
chmod 0755 "$STATE_DIR" "$RUN_DIR" "$LOG_DIR"

# One up.sh/down.sh at a time (e.g. two test sessions starting the cluster together).
exec 9>"$STATE_DIR/lock"
if ! flock -w 300 9; then
  fail "another slurm/local/up.sh or down.sh held $STATE_DIR/lock for 5 minutes"
fi

if [[ ! -s $STATE_DIR/db.pass ]]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$STATE_DIR/db.pass")
fi

WANT_DIR=$(mktemp -d)
trap 'rm -rf "$WANT_DIR"' EXIT

if have_cmds "${REQUIRED_CMDS[@]}"; then
  render_configs "$WANT_DIR"
  if configs_current "$WANT_DIR" && daemon_pid slurmctld >/dev/null && daemon_pid slurmd >/dev/null &&
    daemon_pid slurmdbd >/dev/null; then
    # Our daemons run. A node drained/downed by a failed job kill is resumed rather
    # than restarting the cluster (which would lose everyone's jobs).
    if ! cluster_ok && slurmctld_ok; then
      case "$(node_state)" in
        drain* | down | fail*)
          log "node $NODE is $(node_state); resuming it"
          timeout 10 scontrol update NodeName="$NODE" State=RESUME || true
          ;;
      esac
    fi
    # Give a node that is still registering a few seconds.
    if cluster_ok || wait_for "the running cluster to answer" 20 cluster_ok; then
      ready_message
      exit 0
    fi
    log "cluster processes run but do not answer; restarting from clean state"
  fi
fi

# ---------------------------------------------------------------- install
if ! have_cmds "${REQUIRED_CMDS[@]}"; then
  have_cmds apt-get dpkg || fallback "Slurm is not installed and apt-get is not available to install it."
  log "installing ${APT_PACKAGES[*]} (apt) ..."
  export DEBIAN_FRONTEND=noninteractive
  APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  apt-get "${APT_OPTS[@]}" update -qq >"$LOG_DIR/apt.log" 2>&1 ||
    fallback "apt-get update failed (see $LOG_DIR/apt.log): $(tail -n 3 "$LOG_DIR/apt.log" | tr '\n' ' ')"
  apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >>"$LOG_DIR/apt.log" 2>&1 ||
    fallback "apt-get install ${APT_PACKAGES[*]} failed (see $LOG_DIR/apt.log): $(tail -n 3 "$LOG_DIR/apt.log" | tr '\n' ' ')"
  have_cmds "${REQUIRED_CMDS[@]}" || fallback "packages installed but some of ${REQUIRED_CMDS[*]} are missing"
  log "installed in $(elapsed)"
fi

# ---------------------------------------------------------------- clean restart
# Stop whatever is left of our Slurm daemons; the controller starts from new state.
stop_daemon slurmd
stop_daemon slurmctld
stop_daemon slurmdbd
rm -rf "${STATE_DIR:?}/ctld" "${STATE_DIR:?}/slurmd"
mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/slurmd"
chown "$SLURM_USER" "$STATE_DIR/ctld"
chmod 0700 "$STATE_DIR/ctld"
chmod 0755 "$STATE_DIR/slurmd"

render_configs "$WANT_DIR"
install_configs "$WANT_DIR"

# close_fds: close every descriptor above 2 in this (sub)shell, so that a daemon
# holds neither our lock file nor a pipe of whoever called up.sh.
close_fds() {
  local path fd
  for path in /proc/"$BASHPID"/fd/*; do
    fd=${path##*/}
    if ((fd > 2)); then
      eval "exec $fd>&-" 2>/dev/null || true
    fi
  done
}

# launch NAME COMMAND...: start a daemon in the background, detached, output to a log.
launch() {
  local name=$1
  shift
  (
    close_fds
    exec setsid "$@" </dev/null >>"$LOG_DIR/$name.out" 2>&1
  ) &
  echo $! >"$RUN_DIR/$name.launch.pid"
}

# wait_daemon NAME TIMEOUT PROBE: poll PROBE until it succeeds; give up early if
# the daemon launched as NAME has exited.
wait_daemon() {
  local name=$1 timeout=$2 probe=$3 pid
  pid=$(cat "$RUN_DIR/$name.launch.pid")
  local deadline=$(($(now_ms) + timeout * 1000))
  while ! "$probe"; do
    if ! alive "$pid"; then
      warn "$name (pid $pid) exited"
      return 1
    fi
    if (($(now_ms) >= deadline)); then
      warn "timed out after ${timeout}s waiting for $name"
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- munge
if munge_ok; then
  log "munge already answers"
else
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  chmod 0700 /var/lib/munge /var/log/munge
  # A munged killed without cleanup leaves a stale socket lock behind.
  if ! pgrep -u munge -x munged >/dev/null 2>&1; then
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock /run/munge/munged.pid
  fi
  log "starting munged"
  # munged daemonizes itself and writes /run/munge/munged.pid.
  (
    close_fds
    exec runuser -u munge -- /usr/sbin/munged </dev/null >>"$LOG_DIR/munged.out" 2>&1
  ) ||
    fail_with_log "munged failed to start" "$LOG_DIR/munged.out" /var/log/munge/munged.log
  wait_for "munge" 15 munge_ok || fail_with_log "munge does not answer" "$LOG_DIR/munged.out" /var/log/munge/munged.log
  cp /run/munge/munged.pid "$RUN_DIR/munged.pid" 2>/dev/null || true
fi

# ---------------------------------------------------------------- mariadb
if mariadb_ok; then
  log "mariadb already answers"
else
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    log "initialising mariadb data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOG_DIR/mariadb-install.log" 2>&1 ||
      fail_with_log "mariadb-install-db failed" "$LOG_DIR/mariadb-install.log"
  fi
  touch "$LOG_DIR/mariadb.log"
  chown mysql:mysql "$LOG_DIR/mariadb.log"
  log "starting mariadbd"
  launch mariadbd /usr/sbin/mariadbd --user=mysql --pid-file=/run/mysqld/mariadbd.pid \
    --socket="$MYSQL_SOCKET" --bind-address=127.0.0.1 --log-error="$LOG_DIR/mariadb.log" \
    --innodb-buffer-pool-size=1024M --innodb-lock-wait-timeout=900
  wait_daemon mariadbd 60 mariadb_ok || fail_with_log "mariadb does not answer" "$LOG_DIR/mariadb.log" "$LOG_DIR/mariadbd.out"
fi

# Fresh controller state => fresh accounting database (job ids restart at 1, and
# sacct would otherwise report an old job for a reused id).
DB_PASS=$(cat "$STATE_DIR/db.pass")
mariadb --socket="$MYSQL_SOCKET" -u root <<SQL || fail "could not prepare the accounting database in mariadb"
DROP DATABASE IF EXISTS $DB_NAME;
CREATE DATABASE $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL

# ---------------------------------------------------------------- slurmdbd
log "starting slurmdbd"
launch slurmdbd /usr/sbin/slurmdbd -D
wait_daemon slurmdbd 60 slurmdbd_ok || fail_with_log "slurmdbd does not answer" "$LOG_DIR/slurmdbd.log" "$LOG_DIR/slurmdbd.out"

# Register the cluster, an account and users so jobs are accounted.
sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null
sacctmgr -i -Q add account "$ACCOUNT" Cluster="$CLUSTER" Description="mothertongue local" Organization=mothertongue >/dev/null
USERS=(root)
[[ -n ${SUDO_USER:-} && ${SUDO_USER} != root ]] && USERS+=("$SUDO_USER")
for u in ${SLURM_LOCAL_USERS:-}; do USERS+=("$u"); done
for u in "${USERS[@]}"; do
  sacctmgr -i -Q add user "$u" DefaultAccount="$ACCOUNT" Cluster="$CLUSTER" >/dev/null
done

# ---------------------------------------------------------------- slurmctld
log "starting slurmctld"
launch slurmctld /usr/sbin/slurmctld -D
wait_daemon slurmctld 60 slurmctld_ok || fail_with_log "slurmctld does not answer" "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmctld.out"

# ---------------------------------------------------------------- slurmd
log "starting slurmd"
launch slurmd /usr/sbin/slurmd -D
if ! wait_daemon slurmd 60 node_ok; then
  fail_with_log "node $NODE is not usable (state: $(node_state))" "$LOG_DIR/slurmd.log" "$LOG_DIR/slurmd.out" "$LOG_DIR/slurmctld.log"
fi
wait_for "sacct" 30 sacct_ok || fail_with_log "sacct does not work" "$LOG_DIR/slurmdbd.log" "$LOG_DIR/slurmctld.log"

ready_message
