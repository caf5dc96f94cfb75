import logging
import multiprocessing

import pytest

from sandbox import _preload, forkserver
from scanner.analyzers import registry


def test_fork_server_preloads_the_analyzer_builder():
    ctx = forkserver.context()

    assert "sandbox._preload" in forkserver.PRELOAD
    assert ctx.get_start_method() == "forkserver"
    assert multiprocessing.forkserver._forkserver._preload_modules == list(forkserver.PRELOAD)


def test_build_builtin_analyzers_builds_each_registered_analyzer_once():
    _preload.build_builtin_analyzers()
    first = {name: registry.instance(name) for name in registry.names()}

    _preload.build_builtin_analyzers()

    assert set(first) == set(registry.names())
    assert all(registry.instance(name) is built for name, built in first.items())


def test_build_builtin_analyzers_logs_a_failing_build_instead_of_raising(monkeypatch, caplog):
    def broken(name):
        raise RuntimeError(name)

    monkeypatch.setattr(registry, "instance", broken)

    with caplog.at_level(logging.ERROR, logger="sandbox._preload"):
        _preload.build_builtin_analyzers()

    assert [r.getMessage() for r in caplog.records] == ["analyzers not prebuilt in the fork server"]


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc only")
def test_heap_threshold_is_set_on_glibc():
    from scanner._heap import return_large_buffers

    assert return_large_buffers() is True
