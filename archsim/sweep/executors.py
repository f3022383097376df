"""Where sweep tasks run, behind one ``submit``/``as_completed`` interface.

* ``SerialExecutor``   - in this process (workers=0): debugging, tiny sweeps;
* ``ProcessExecutor``  - a local ``concurrent.futures.ProcessPoolExecutor`` (the default);
* ``DaskExecutor``     - a Dask distributed cluster at ``--scheduler ADDRESS`` (``pip install
  "dask[distributed]"``). Dask may run a task more than once; tasks are pure and results are written
  by the client keyed by config hash, so re-execution is harmless.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
from typing import Any, Callable, Iterable, Iterator

from archsim.errors import ConfigError


class SerialExecutor:
    """Runs each task when it is submitted."""

    name = "serial"

    def submit(self, fn: Callable, arg: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.set_result(fn(arg))
        return fut

    def as_completed(self, futures: Iterable) -> Iterator:
        return iter(list(futures))

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A local process pool of ``workers`` processes (default: the CPUs this process may use)."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        if not workers:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.workers = max(1, int(workers or 1))
        self._pool = cf.ProcessPoolExecutor(max_workers=self.workers)

    def submit(self, fn: Callable, arg: Any) -> cf.Future:
        return self._pool.submit(fn, arg)

    def as_completed(self, futures: Iterable) -> Iterator:
        return cf.as_completed(list(futures))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask distributed scheduler (an address string or an existing ``Client``)."""

    name = "dask"

    def __init__(self, scheduler: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--scheduler", "scheduler", "Dask distributed is not installed",
                              expected='pip install "archsim[dask]" (dask[distributed])') from None
        self._own = not isinstance(scheduler, Client)
        self.client = _connect(Client, scheduler) if self._own else scheduler

    def submit(self, fn: Callable, arg: Any):
        key = f"archsim-sweep-{getattr(arg, 'config_hash', id(arg))}"
        return self.client.submit(fn, arg, key=key, pure=False)

    def as_completed(self, futures: Iterable) -> Iterator:
        from distributed import as_completed
        return iter(as_completed(list(futures)))

    def close(self) -> None:
        if self._own:
            self.client.close()


#: Seconds a sweep waits for its Dask scheduler to answer before it gives up.
CONNECT_TIMEOUT_S = 10


def _connect(client_type, address: Any):
    """A Dask ``Client`` on ``address``; a malformed or unreachable address is a ConfigError naming it."""
    expected = "the address of a running Dask scheduler, e.g. tcp://host:8786"
    if not isinstance(address, str) or not address.strip():
        raise ConfigError("--scheduler", "scheduler", "bad address", value=address, has_value=True,
                          expected=expected)
    try:
        return client_type(address, timeout=CONNECT_TIMEOUT_S)
    except (ValueError, TypeError) as exc:
        raise ConfigError("--scheduler", "scheduler", f"malformed address ({exc})", value=address,
                          has_value=True, expected=expected) from None
    except (OSError, TimeoutError) as exc:
        raise ConfigError("--scheduler", "scheduler", f"no Dask scheduler answered within {CONNECT_TIMEOUT_S} s "
                          f"({type(exc).__name__})", value=address, has_value=True, expected=expected) from None


def make_executor(scheduler: Any = None, workers: int | None = None):
    """Dask when ``scheduler`` is given, serial when ``workers == 0``, else a local process pool."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    if workers == 0:
        return SerialExecutor()
    return ProcessExecutor(workers)
