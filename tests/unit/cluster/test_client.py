"""The shell around the Kubernetes client: what holds without a server."""

from __future__ import annotations

import gc

from tenancy.cluster.client import in_parallel


def test_parallel_work_runs_with_the_cyclic_collector_off() -> None:
    """While the worker threads run, no automatic collection can free (on a worker) an object
    that must be freed on its own thread, such as the embedded Rego engine: that failed a test
    run once (`regoruspy::Engine is unsendable, but is being dropped on another thread`). The
    collector's state is restored afterwards."""
    assert gc.isenabled()
    seen = in_parallel(lambda _: gc.isenabled(), range(16))
    assert seen == [False] * 16
    assert gc.isenabled()
    gc.disable()
    try:
        in_parallel(lambda _: None, range(2))
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
