# The two commands a researcher needs first:
#   make demo   set up, start the embedded Slurm cluster, run the Cantonese demo pipeline
#   make test   set up, start the embedded Slurm cluster, run the test suite
.PHONY: setup cluster demo test lint down

setup:
	bash env/setup.sh cpu

cluster:
	bash slurm/local/up.sh

# Without root or apt, up.sh exits 3 and the demo runs on submitit's local executor instead.
demo: setup
	@if bash slurm/local/up.sh; then cluster=local; else rc=$$?; [ $$rc -eq 3 ] || exit $$rc; \
	  echo "no Slurm here: running the demo with --cluster local-noslurm"; cluster=local-noslurm; fi; \
	.venv/bin/mothertongue run configs/pipeline/demo-cantonese.yaml --cluster $$cluster

test: setup cluster
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

down:
	bash slurm/local/down.sh
