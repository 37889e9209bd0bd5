from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


# Session fixtures of the pretrain tests (a tiny dataset, one clean reference run), shared by the
# pretrain, spike, checkpoint and evaluate tests.
pytest_plugins = ["tests.pretrain_support"]
