#!/usr/bin/env bash
# Exit 0 iff the local Slurm cluster answers: slurmctld is up, node is
# idle/mixed/allocated in partition "local", and sacct (accounting) works.
# Usage: slurm/local/status.sh [-q]
set -euo pipefail

# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

quiet=0
[[ ${1:-} == -q ]] && quiet=1
say() { ((quiet)) || echo "$*"; }

if ! have_cmds sinfo scontrol sacct; then
  say "local slurm cluster: not installed (run slurm/local/up.sh as root)"
  exit 1
fi
if ! slurmctld_ok; then
  say "local slurm cluster: DOWN (slurmctld does not answer)"
  exit 1
fi
state=$(node_state)
if ! node_ok; then
  say "local slurm cluster: node $NODE not usable (state: ${state:-unknown})"
  exit 1
fi
if ! sacct_ok; then
  say "local slurm cluster: accounting DOWN (sacct fails; slurmdbd/mariadb not answering)"
  exit 1
fi
say "local slurm cluster: UP (partition $PARTITION, node $NODE $state)"
