"""Where the per-file work runs: in this process, a local process pool, or a Dask cluster.

Every executor takes a lazy stream of :class:`~synthmark.batch.work.Task` (and ready
:class:`~synthmark.batch.work.Outcome` objects, passed through in order) and yields outcomes as
files finish, keeping at most a small window of files in flight, so memory does not grow
with the size of the batch. The ledger stays with the caller (the coordinator).

* :class:`InlineExecutor` (``jobs=1``): no subprocess at all.
* :class:`ProcessExecutor` (``jobs>1``): a ``forkserver`` process pool; workers read their
  source file and write their output into DEST themselves. A worker that dies (out of memory,
  a crash in a native decoder) takes down the pool: the files in flight are retried once on a
  fresh pool, and a file that kills a worker twice is recorded as ``crash``.
* :class:`DaskExecutor` (``scheduler="tcp://host:port"`` or a ``distributed.Client``): the
  optional ``batch`` extra. Workers need synthmark installed but no access to SRC or DEST:
  the coordinator sends each file's bytes and writes the bytes that come back. Imported only
  when used.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from synthmark.batch.work import Options, Outcome, Task, process
from synthmark.errors import BatchError

__all__ = ["DaskExecutor", "Executor", "InlineExecutor", "ProcessExecutor", "default_jobs", "make_executor"]

Item = Task | Outcome


class Executor(Protocol):
    """Runs tasks; ``remote`` executors need each task's bytes and return outputs as bytes."""

    remote: bool
    workers: int

    def run(self, items: Iterable[Item], options: Options) -> Iterator[Outcome]: ...


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _crash(task: Task, why: str) -> Outcome:
    return Outcome(
        task.rel,
        "failed",
        action="failed",
        source_size=task.size,
        source_mtime_ns=task.mtime_ns,
        error_kind="crash",
        error=f"{task.rel}: {why}; the file was retried once; check it alone with 'synthmark verify'",
    )


class InlineExecutor:
    """One file after another in this process."""

    remote = False
    workers = 1

    def run(self, items: Iterable[Item], options: Options) -> Iterator[Outcome]:
        for item in items:
            yield item if isinstance(item, Outcome) else process(item, options)


_WORKER_OPTIONS: Options | None = None


def _init_worker(options: Options) -> None:
    global _WORKER_OPTIONS
    _WORKER_OPTIONS = options
    # One thread per worker: the pool is the parallelism.
    import cv2

    cv2.setNumThreads(1)


def _run(task: Task) -> Outcome:
    if _WORKER_OPTIONS is None:  # pragma: no cover - the initializer always runs first
        raise BatchError("worker started without options", fix="report this bug")
    return process(task, _WORKER_OPTIONS)


class ProcessExecutor:
    """A local pool of ``jobs`` worker processes (``forkserver`` start: no fork of a threaded
    coordinator)."""

    remote = False

    def __init__(self, jobs: int) -> None:
        self.workers = max(1, jobs)

    def _pool(self, options: Options) -> ProcessPoolExecutor:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["synthmark.batch.work"])
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(options,))

    def run(self, items: Iterable[Item], options: Options) -> Iterator[Outcome]:
        window = 4 * self.workers
        source = iter(items)
        pending: dict[Future[Outcome], Task] = {}
        retried: set[str] = set()
        pool = self._pool(options)
        finished_on_pool = 0  # files this pool finished: a pool that dies before any did not start
        try:
            exhausted = False
            while True:
                broken: list[Task] = []
                while not exhausted and len(pending) < window:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                    elif isinstance(item, Outcome):
                        yield item
                    else:
                        try:
                            pending[pool.submit(_run, item)] = item
                        except BrokenProcessPool:
                            broken.append(item)
                            break
                if not pending and not broken:
                    return
                if pending and not broken:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = pending.pop(future)
                        try:
                            outcome = future.result()
                        except BrokenProcessPool:
                            broken.append(task)
                            continue
                        finished_on_pool += 1
                        yield outcome
                if broken:
                    if finished_on_pool == 0 and retried:
                        raise BatchError(
                            "the worker processes cannot start",
                            fix="a script that runs a batch with jobs > 1 needs the "
                            "'if __name__ == \"__main__\":' guard (multiprocessing); or use jobs=1",
                        )
                    # Every file in flight is lost with the pool: retry each once on a new one.
                    broken += list(pending.values())
                    pending.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool, finished_on_pool = self._pool(options), 0
                    for task in broken:
                        if task.rel in retried:
                            yield _crash(task, "a worker process died on this file (out of memory or a crash)")
                        else:
                            retried.add(task.rel)
                            pending[pool.submit(_run, task)] = task
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Files sent to a Dask cluster; the caller's ledger and DEST stay here.

    ``scheduler`` is the scheduler's address (``tcp://host:8786``) or a connected
    ``distributed.Client`` (left open). Requires the ``batch`` extra (``dask[distributed]``).
    """

    remote = True

    def __init__(self, scheduler: str | Any) -> None:
        try:
            # Typed as Any: distributed's own annotations are partial.
            distributed: Any = importlib.import_module("distributed")
        except ImportError as exc:
            raise BatchError(
                "Dask is not installed", fix="pip install 'synthmark[batch]' (dask[distributed]) or drop --scheduler"
            ) from exc
        self._own = isinstance(scheduler, str)
        self._distributed = distributed
        self.client: Any
        try:
            self.client = distributed.Client(scheduler, timeout="20s") if self._own else scheduler
        except OSError as exc:
            raise BatchError(
                f"cannot reach the Dask scheduler {scheduler} ({exc})",
                fix="check the address (tcp://HOST:PORT) and that the scheduler runs",
            ) from exc
        threads = self.client.nthreads()
        self.workers = max(1, sum(threads.values()))

    def close(self) -> None:
        if self._own:
            self.client.close()

    def run(self, items: Iterable[Item], options: Options) -> Iterator[Outcome]:
        as_completed = self._distributed.as_completed
        shared = self.client.scatter(options, broadcast=True, hash=False)
        window = 2 * self.workers + 2
        source = iter(items)
        running = as_completed()
        tasks: dict[str, Task] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(tasks) < window:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                    elif isinstance(item, Outcome):
                        yield item
                    else:
                        key = f"synthmark-batch-{uuid.uuid4().hex}"
                        tasks[key] = item
                        running.add(self.client.submit(process, item, shared, key=key, pure=False, retries=1))
                if not tasks:
                    return
                future = next(running)
                task = tasks.pop(future.key)
                try:
                    outcome = future.result()
                except Exception as exc:  # KilledWorker and friends: the file is recorded, the batch goes on
                    outcome = _crash(task, f"the Dask worker failed ({type(exc).__name__}: {exc})")
                future.release()
                yield outcome
        finally:
            for future in list(running.futures):
                future.cancel()


def make_executor(jobs: int | None, scheduler: str | Any | None) -> Executor:
    """The executor for ``--jobs`` / ``--scheduler``: Dask when a scheduler is given, else a
    process pool of ``jobs`` (default: every core), inline for one job."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise BatchError(f"--jobs {jobs} is not a number of processes", fix="pass --jobs 1 or more")
    if jobs == 1:
        return InlineExecutor()
    return ProcessExecutor(jobs)
