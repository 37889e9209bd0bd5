# The two commands a researcher needs first:
#   make demo   set up, start the embedded Slurm cluster, run the Cantonese demo pipeline
#   make test   set up, start the embedded Slurm cluster, run the test suite
.PHONY: setup cluster demo test lint down

setup:
	bash env/setup.sh cpu

cluster:
	bash slurm/local/up.sh

demo: setup cluster
	.venv/bin/mothertongue run configs/pipeline/demo-cantonese.yaml

test: setup cluster
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

down:
	bash slurm/local/down.sh
