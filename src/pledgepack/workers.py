"""Worker processes that end with the command that started them, even one killed with -9.

Pools run under multiprocessing's fork server: forking a process that holds Arrow's or
DuckDB's threads is not safe. A worker's parent is then the fork server, and the fork
server's parent the command. Left alone, both outlive a command killed with SIGKILL, idle
for good and holding their memory: each worker keeps the pipe the fork server waits on open,
and each waits for work on a queue it holds both ends of. On Linux each of them asks the
kernel for SIGKILL when its parent ends (PR_SET_PDEATHSIG), so the command's end takes the
fork server, and the fork server's end its workers. Elsewhere nothing changes.

The kernel sends that signal when the *thread* that started the process ends: a fork server
started by a command's thread that has since ended is gone, and multiprocessing starts a new
one when a pool next needs it.
"""
from __future__ import annotations

import gc
import os
import sys

GUARD = "pledgepack._forkserver_guard"
# Imported once by the fork server as it starts, so that each worker is forked with them:
# `__main__` (the default), the guard, the parse's module (0.08 s a worker otherwise) and
# pyarrow with the code that makes the build's rows Arrow tables (0.1-0.2 s a worker).
PRELOAD = ["__main__", GUARD, "pledgepack.content.folder", "pledgepack._arrow_worker"]
# Whose child each must be, passed down in the environment: a pid read after the parent is
# gone would be init's, and the guard would hold on to nothing.
COMMAND_PID = "PLEDGEPACK_COMMAND_PID"
SERVER_PID = "PLEDGEPACK_FORKSERVER_PID"
SAFE_PATH = "PYTHONSAFEPATH"


# pledgepack does no linear algebra. numpy, which pyarrow imports, starts OpenBLAS's threads
# as it is imported, and they spin for about 0.1 s of CPU before they sleep. Measured: a
# process that imports pyarrow used 0.2 s of CPU with them and 0.1 s without; the database's
# child of a one-chapter rebuild at 100k statements 0.05 s less, taken from a busy core.
QUIET_BLAS = {"OPENBLAS_NUM_THREADS": "1"}


def quiet_blas() -> None:
    """For a process that runs a pledgepack command and nothing else (the command line, the
    benchmarks' children), before numpy is imported: OpenBLAS starts no threads of its own.
    A value set in the environment is kept."""
    for name, value in QUIET_BLAS.items():
        os.environ.setdefault(name, value)


class _RefusePandas:
    """A finder that refuses to import pandas (see pyarrow_without_pandas)."""

    def find_spec(self, name: str, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not imported for pyarrow's probe")
        return None


_without_pandas = False
_pool_chosen = False
_command = False  # this process runs a pledgepack command and nothing else
_arrow_later = False  # command_pyarrow_later: pyarrow set up by arrow_ready

# Arrow's memory pool for a command. pyarrow's default, mimalloc, hands freed pages back to
# the kernel and faults them in again as the next table is made. Measured on full builds of
# 100k statements, alternating, 8-10 rounds each: the main process spent 0.36-0.55 s in the
# kernel with mimalloc and 0.33-0.36 s with jemalloc; the whole build took 2.09 against 1.93 s
# and 2.07 against 1.95 s in two comparisons, 1.99 against 1.96 s in a third; its peak RSS
# was up to 35 MiB higher. A one-chapter rebuild took as long with either (0.58 s). The
# output's bytes do not depend on the pool.
POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def arrow_pool() -> None:
    """For a process that runs a pledgepack command and nothing else (the command line, the
    fork server whose workers parse, the benchmarks' children): Arrow allocates from
    jemalloc, where this pyarrow has it. A pool the user chose with
    ARROW_DEFAULT_MEMORY_POOL is kept."""
    global _pool_chosen
    if _pool_chosen or os.environ.get(POOL_VARIABLE):
        return
    import pyarrow as pa

    _pool_chosen = True
    if "jemalloc" in pa.supported_memory_backends():
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def stop_fork_server() -> None:
    """In a command's process, once its workers are done: the fork server goes, with the
    45 MiB (PSS) it holds while the tables are made and written, the build's most crowded
    moment; much of that is pages it shares with this process, which then count here alone.
    A pool asked for later (`--full-validation`'s) starts a new one. Left running in any
    other process, whose own pools may be using it."""
    if not _command:
        return
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None and getattr(server, "_forkserver_pid", None) is not None:
        stop()


def give_back_memory() -> None:
    """Hands memory a build has freed back to the kernel: after the parse, once the tables
    are made and once they are written. What comes after each needs little of it, and the
    database's child grows meanwhile. Arrow's pools keep freed pages for the next table, and
    glibc's malloc keeps what Python's objects freed; both are asked to let them go. Measured on
    full builds of 100k statements: the main process's peak 478 -> 392-405 MiB; with
    stop_fork_server, the whole build's peak (its processes' PSS, sampled every 10 ms, summed)
    626-647 -> 533-572 MiB. A call costs 2-23 ms; a one-chapter rebuild, 6 alternating, took
    0.547 -> 0.569 s."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if "mimalloc" in pa.supported_memory_backends():
        # Arrow's own default, which its readers in C++ allocate from whatever pyarrow's is.
        # Only this thread's heap: what Arrow's threads freed stays theirs (60 MiB at 100k).
        pa.mimalloc_memory_pool().release_unused()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; not on macOS or musl
    if trim is not None:
        trim(0)


def pyarrow_without_pandas() -> None:
    """For a process that runs a pledgepack command and nothing else (the command line, the
    benchmarks' children). pyarrow imports pandas, where it is installed, the first time it
    turns Python values into Arrow, only to ask whether they are pandas objects: 0.3-0.4 s
    of every build in an environment that has pandas (the tests', an analyst's), although
    nothing in a build is one. Where pandas is not imported yet, pyarrow is made to ask now,
    while pandas cannot be imported, and goes without it from then on. pandas can still be
    imported after, and pyarrow's own conversions from and to pandas import it when asked."""
    global _without_pandas
    if _without_pandas or "pandas" in sys.modules:
        return
    import pyarrow as pa

    refuse = _RefusePandas()
    sys.meta_path.insert(0, refuse)
    try:
        pa.array([])  # pyarrow's first conversion: its probe for pandas
    finally:
        sys.meta_path.remove(refuse)
    _without_pandas = True


def command_pyarrow() -> None:
    """pyarrow set up for a process that runs a pledgepack command and nothing else: its
    memory pool (arrow_pool), and no pandas (pyarrow_without_pandas)."""
    global _command
    _command = True
    arrow_pool()
    pyarrow_without_pandas()


def command_pyarrow_later() -> None:
    """command_pyarrow for a command that may need no pyarrow at all (a build that finds its
    package up to date): pyarrow is set up by arrow_ready, which the command calls before it
    first uses pyarrow, and is not imported here."""
    global _command, _arrow_later
    _command = True
    _arrow_later = True


def arrow_ready() -> None:
    """pyarrow set up as command_pyarrow sets it up, if command_pyarrow_later asked for that
    and it is not done yet; otherwise nothing (a library's caller keeps its own settings)."""
    global _arrow_later
    if _arrow_later:
        _arrow_later = False
        arrow_pool()
        pyarrow_without_pandas()


def pandas_refused() -> bool:
    """Whether pyarrow_without_pandas spared this process pandas, or will (arrow_ready)."""
    return _without_pandas or _arrow_later


def default_jobs() -> int:
    """Worker processes a command uses unless told otherwise: up to two."""
    return max(1, min(2, os.cpu_count() or 1))


def die_with_parent(parent: int | None = None) -> None:
    """Have this process killed when its parent ends (Linux); `parent` is the pid it must
    still have, by default the one it has now."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    if parent is None:
        parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent was gone before the request took effect
        os._exit(1)


def context():
    """The fork-server context of every pool, its server running: once started, it dies with
    this process."""
    import multiprocessing
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # the guard is imported only there
    os.environ[COMMAND_PID] = str(os.getpid())  # read by a server started from now on
    # The server and multiprocessing's resource tracker start as `python -c`, which puts the
    # folder the command was started in first on their sys.path: a json.py or threading.py
    # of the user's there was imported in place of the standard library's, and the build
    # died in a traceback. PYTHONSAFEPATH (Python 3.11 on) leaves that folder out; it is set
    # only while they start, so that no other Python this process starts is changed.
    saved = os.environ.get(SAFE_PATH)
    os.environ[SAFE_PATH] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ[SAFE_PATH]
        else:
            os.environ[SAFE_PATH] = saved
    return ctx


def warm_up() -> None:
    """Start the fork server now, without waiting for it: it starts Python and imports its
    modules while this process goes on, and the pool that asks for workers later gets them
    at once."""
    context()


def start_worker(collect_garbage: bool = True) -> None:
    """A pool's initializer: the worker dies with its fork server, and without the cyclic
    garbage collector if told so (a parse makes many small objects and no cycles)."""
    server = os.environ.get(SERVER_PID)
    die_with_parent(int(server) if server else None)
    if not collect_garbage:
        gc.disable()


def start_quiet_worker() -> None:
    start_worker(collect_garbage=False)
