#!/usr/bin/env bash
# Smoke test of the running local cluster (run slurm/local/up.sh first):
#   1. `sbatch --wrap hostname` reaches COMPLETED in sacct;
#   2. `scancel --signal=USR2` reaches a running job step (and --batch the batch shell);
#   3. `sbatch --requeue` + `scontrol requeue` runs the job again (SLURM_RESTART_COUNT=1).
# Usage: slurm/local/smoke.sh [--quick]   (--quick: only step 1). Exit 0 iff all pass.
set -euo pipefail

# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

WORK=$(mktemp -d /tmp/slurm-local-smoke.XXXXXX)
chmod 0755 "$WORK"
cd "$WORK"
trap 'rm -rf "$WORK"' EXIT
failures=0

job_state() { timeout 10 sacct -j "$1" -n -X -o State 2>/dev/null | tail -n1 | tr -d ' '; }
is_state() { [[ $(job_state "$1") == "$2" ]]; }
file_has() { grep -q "$2" "$1" 2>/dev/null; }
check() {
  local name=$1
  shift
  if "$@"; then
    echo "PASS $name"
  else
    echo "FAIL $name"
    failures=$((failures + 1))
  fi
}

t0=$(now_ms)
id=$(sbatch --parsable -o hostname.out --wrap hostname)
check "sbatch --wrap hostname -> COMPLETED (job $id)" wait_for "job $id COMPLETED" 60 is_state "$id" COMPLETED
echo "     took $(($(now_ms) - t0)) ms; output: $(cat hostname.out 2>/dev/null)"

if [[ ${1:-} != --quick ]]; then
  cat >sig.sh <<'EOF'
#!/bin/bash
trap 'echo batch-got-USR2' USR2
srun bash -c 'trap "echo step-got-USR2; exit 0" USR2; echo step-started; for i in $(seq 600); do sleep 0.1; done' &
wait
for i in $(seq 300); do sleep 0.1; done &
wait
EOF
  id=$(sbatch --parsable -o sig.out sig.sh)
  wait_for "job $id step to start" 60 file_has sig.out step-started || true
  scancel --signal=USR2 "$id"
  check "scancel --signal=USR2 reaches the job step" wait_for "step USR2" 20 file_has sig.out step-got-USR2
  scancel --signal=USR2 --batch "$id"
  check "scancel --signal=USR2 --batch reaches the batch shell" wait_for "batch USR2" 20 file_has sig.out batch-got-USR2
  scancel "$id" 2>/dev/null || true

  cat >rq.sh <<'EOF'
#!/bin/bash
echo "run restart_count=${SLURM_RESTART_COUNT:-0}"
[[ ${SLURM_RESTART_COUNT:-0} != 0 ]] || sleep 300
EOF
  id=$(sbatch --parsable --requeue --open-mode=append -o rq.out rq.sh)
  wait_for "job $id to run" 60 file_has rq.out restart_count=0 || true
  t0=$(now_ms)
  scontrol requeue "$id"
  check "scontrol requeue re-runs the job" wait_for "requeued job $id to run again" 90 file_has rq.out restart_count=1
  echo "     restarted $(($(now_ms) - t0)) ms after scontrol requeue"
  check "requeued job $id -> COMPLETED" wait_for "job $id COMPLETED" 60 is_state "$id" COMPLETED
fi

if ((failures)); then
  echo "smoke: $failures check(s) failed"
  exit 1
fi
echo "smoke: all checks passed"
