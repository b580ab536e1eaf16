from pathlib import Path

import pytest
import torch

from aelab.data.benchmarks import data_root

# One thread: on a shared 2-core machine, two torch threads spin waiting for each other
# and small networks train many times slower than on one.
torch.set_num_threads(1)

# The same place the library looks: $AELAB_DATA_DIR, else ../shared/data beside the clone.
SHARED_DATA = data_root()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"the shared data sets are not at {SHARED_DATA}; set AELAB_DATA_DIR to their folder"
        )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
