"""Where sweep tasks run, behind one interface: ``run(fn, tasks)`` yields ``(task, output)`` as tasks finish.

* ``SerialExecutor``   - in this process (workers=0): debugging, tiny sweeps;
* ``ProcessExecutor``  - a local ``concurrent.futures.ProcessPoolExecutor`` (the default);
* ``DaskExecutor``     - a Dask distributed cluster at ``--scheduler ADDRESS`` (``pip install
  "dask[distributed]"``). Dask may run a task more than once; tasks are pure and results are written
  by the client keyed by config hash, so re-execution is harmless.

A task that raises is the task function's business (``run_task`` turns exceptions into failed rows). What
an executor handles is a *worker that dies* (killed, out of memory, a segfault in native code): that costs
the point that killed it a bounded number of retries, never the other points of the sweep (``lost_output``
is the failed row of a point whose worker died every time). Setting ``run``'s ``stop`` event, or closing its
generator (an interrupted sweep), stops the executor's worker processes.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import tempfile
import threading
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from archsim.errors import ConfigError

#: Times a point whose worker process died is run again, alone in a fresh single-worker pool.
DEFAULT_RETRIES = 2


def lost_output(task: Any, why: str) -> dict[str, Any]:
    """The failed output of ``task`` when no worker could finish it (not stored: the next run retries it)."""
    return {"config_hash": task.config_hash, "status": "failed", "error": f"worker lost: {why}", "metrics": {},
            "lost": True}


class SweepStopped(KeyboardInterrupt):
    """The sweep was asked to stop (its ``stop`` event was set, e.g. by a SIGTERM handler)."""


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise SweepStopped()


def _completed(futures: Iterable[cf.Future], stop: threading.Event | None) -> Iterator[cf.Future]:
    """``as_completed`` that also wakes every 0.2 s to honour ``stop`` (a signal handler's exception can be
    swallowed - e.g. when it lands in an at-fork callback while the pool starts a worker - its event is not)."""
    pending = set(futures)
    while pending:
        done, pending = cf.wait(pending, timeout=None if stop is None else 0.2, return_when=cf.FIRST_COMPLETED)
        _check(stop)
        yield from done


class SerialExecutor:
    """Runs each task in this process, in order."""

    name = "serial"

    def run(self, fn: Callable, tasks: Iterable, stop: threading.Event | None = None
            ) -> Iterator[tuple[Any, dict[str, Any]]]:
        for task in tasks:
            _check(stop)
            yield task, fn(task)


def _worker_init() -> None:
    """Set up a pool worker: it dies with the sweep process (Linux ``PR_SET_PDEATHSIG``, so even a SIGKILLed
    sweep leaves no orphans), ignores the terminal's Ctrl-C (the sweep process stops it) and does not inherit
    the sweep's SIGTERM handler."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass   # not Linux: the sweep's own shutdown still terminates its workers


def _tracked(fn: Callable, task: Any, marker_dir: str) -> Any:
    """Run ``fn(task)`` in a worker, with a marker file naming the task while it runs: after a pool breaks the
    markers left behind say which tasks were running in the processes that died."""
    marker = Path(marker_dir) / task.config_hash
    marker.write_text(str(os.getpid()))
    result = fn(task)
    marker.unlink(missing_ok=True)
    return result


class ProcessExecutor:
    """A local process pool of ``workers`` processes (default: the CPUs this process may use).

    When a worker dies the pool breaks and every unfinished future fails with ``BrokenProcessPool``. The tasks
    that were running then (the marker files say which) are each run again alone, in a fresh single-worker pool,
    up to ``retries`` times, so a death is attributed to exactly one point; the tasks that had not started go to
    a fresh pool untouched.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, retries: int = DEFAULT_RETRIES) -> None:
        if not workers:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.workers = max(1, int(workers or 1))
        self.retries = int(retries)
        self._pools: list[cf.ProcessPoolExecutor] = []

    def _pool(self, workers: int) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
        self._pools.append(pool)
        return pool

    def _stop(self, pool: cf.ProcessPoolExecutor, terminate: bool) -> None:
        if terminate:
            # Python 3.14 has ProcessPoolExecutor.terminate_workers(); before that the processes are only
            # reachable through the pool's private map
            stop = getattr(pool, "terminate_workers", None)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            if stop is not None:
                stop()
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join(timeout=5)
        else:
            pool.shutdown(wait=True, cancel_futures=True)
        if pool in self._pools:
            self._pools.remove(pool)

    def _isolated(self, fn: Callable, suspects: list, marker_dir: str, stop: threading.Event | None
                  ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """Run each suspect alone in its own single-worker pool (all at once), ``retries`` rounds."""
        for attempt in range(self.retries):
            if not suspects:
                return
            pools = {t.config_hash: self._pool(1) for t in suspects}
            futures = {pools[t.config_hash].submit(_tracked, fn, t, marker_dir): t for t in suspects}
            suspects = []
            for fut in _completed(futures, stop):
                task = futures[fut]
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    suspects.append(task)
                    continue
                yield task, result
            for pool in pools.values():
                self._stop(pool, terminate=False)
        for task in suspects:
            yield task, lost_output(task, f"the worker process died running this point {self.retries + 1} times "
                                          "(killed, out of memory or crashed in native code)")

    def run(self, fn: Callable, tasks: Iterable, stop: threading.Event | None = None
            ) -> Iterator[tuple[Any, dict[str, Any]]]:
        queue = list(tasks)
        empty_breaks = 0     # breaks with no task running (a worker died between tasks): bounded too
        with tempfile.TemporaryDirectory(prefix="archsim-sweep-") as marker_dir:
            try:
                while queue:
                    pool = self._pool(self.workers)
                    futures = {pool.submit(_tracked, fn, t, marker_dir): t for t in queue}
                    unfinished = []
                    for fut in _completed(futures, stop):
                        task = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            unfinished.append(task)
                            continue
                        yield task, result
                    self._stop(pool, terminate=bool(unfinished))
                    running = {p.name for p in Path(marker_dir).iterdir()}
                    suspects = [t for t in unfinished if t.config_hash in running]
                    queue = [t for t in unfinished if t.config_hash not in running]
                    for name in running:
                        (Path(marker_dir) / name).unlink(missing_ok=True)
                    if unfinished and not suspects:
                        empty_breaks += 1
                        if empty_breaks > self.retries:
                            for task in queue:
                                yield task, lost_output(task, "the worker pool kept dying before running it")
                            return
                    yield from self._isolated(fn, suspects, marker_dir, stop)
            finally:
                for pool in list(self._pools):   # interrupted (generator closed or an exception): stop the workers
                    self._stop(pool, terminate=True)


class DaskExecutor:
    """Tasks on a Dask distributed scheduler (an address string or an existing ``Client``).

    Dask itself reschedules the tasks of a worker that dies and gives up on a task that killed
    ``distributed.scheduler.allowed-failures`` workers (``KilledWorker``): only that point is lost.
    """

    name = "dask"

    def __init__(self, scheduler: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--scheduler", "scheduler", "Dask distributed is not installed",
                              expected='pip install "archsim[dask]" (dask[distributed])') from None
        self._own = not isinstance(scheduler, Client)
        self.client = _connect(Client, scheduler) if self._own else scheduler

    def run(self, fn: Callable, tasks: Iterable, stop: threading.Event | None = None
            ) -> Iterator[tuple[Any, dict[str, Any]]]:
        from distributed import as_completed

        futures = {}
        for task in tasks:
            key = f"archsim-sweep-{getattr(task, 'config_hash', id(task))}"
            futures[self.client.submit(fn, task, key=key, pure=False)] = task
        try:
            for fut in as_completed(list(futures)):
                _check(stop)
                task = futures[fut]
                try:
                    yield task, fut.result()
                except Exception as exc:   # the task function never raises: this is the cluster losing it
                    yield task, lost_output(task, f"{type(exc).__name__}: {exc}")
        finally:
            self.client.cancel([f for f in futures if not f.done()])
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


def make_executor(scheduler: Any = None, workers: int | None = None, retries: int = DEFAULT_RETRIES):
    """Dask when ``scheduler`` is given, serial when ``workers == 0``, else a local process pool."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    if workers == 0:
        return SerialExecutor()
    return ProcessExecutor(workers, retries)
