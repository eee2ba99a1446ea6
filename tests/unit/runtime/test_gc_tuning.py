import gc
from collections.abc import Iterator

import pytest

from services.runtime.gc_tuning import FULL_COLLECTION_EVERY, tune_garbage_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_full_collections_rarer() -> None:
    young, middle, _ = gc.get_threshold()
    gc.unfreeze()
    tune_garbage_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (young, middle, FULL_COLLECTION_EVERY)


@pytest.mark.usefixtures("restored_collector")
def test_garbage_cycles_are_still_collected_after_tuning() -> None:
    tune_garbage_collector()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2
