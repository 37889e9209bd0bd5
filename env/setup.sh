#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment: .venv with pinned packages.
#
#   env/setup.sh        CPU profile (laptops, CI, CPU nodes): env/requirements-cpu.txt
#   env/setup.sh gpu    GPU profile (CUDA nodes): env/requirements-gpu.txt on top of the CPU pins
#
# Idempotent: a second run with unchanged requirements returns in about a second.
# Set PYTHON to choose the interpreter (>= 3.11), PIP_EXTRA_INDEX_URL for a PyTorch wheel index.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=${1:-cpu}
case $profile in cpu | gpu) ;; *) echo "usage: env/setup.sh [cpu|gpu]" >&2; exit 2 ;; esac

python=${PYTHON:-}
if [[ -z $python ]]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
[[ -n $python ]] || { echo "env/setup.sh: need Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }

requirements=(env/requirements-cpu.txt)
[[ $profile == gpu ]] && requirements+=(env/requirements-gpu.txt)
stamp=.venv/.mothertongue-setup
want=$(cat "${requirements[@]}" setup.py pyproject.toml | sha256sum | cut -c1-16)-$profile
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "env/setup.sh: .venv is up to date ($profile profile)"
  exit 0
fi

start=$SECONDS
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
# A fresh venv's pip (23.2) does not normalise extras such as nemo-curator[text_cpu]: upgrade first.
.venv/bin/python -m pip install -q --upgrade pip
args=()
for r in "${requirements[@]}"; do args+=(-r "$r"); done
# (some sites configure extra package indexes that lack most packages: keep their warnings out of the log)
.venv/bin/python -m pip install -q "${args[@]}" 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }
.venv/bin/python -m pip install -q --no-deps -e .
echo "$want" >"$stamp"
echo "env/setup.sh: .venv ready ($profile profile) in $((SECONDS - start)) s: $(.venv/bin/python -W ignore -c 'import torch, megatron.core, nemo_curator; print("torch", torch.__version__, "| megatron-core", megatron.core.__version__, "| nemo-curator", nemo_curator.__version__)')"
