"""Imported by pledgepack's fork server as it starts, after the guard: each worker it forks
has pyarrow and the code that turns a build's rows into Arrow tables already loaded
(content/folder.py's _read_batch), with no OpenBLAS threads started by numpy, Arrow's memory
pool of a command (workers.arrow_pool), and without pyarrow's probe for pandas (0.25-0.4 s a
worker otherwise)."""
from pledgepack.workers import command_pyarrow, quiet_blas

quiet_blas()  # the fork server's own environment, which its workers inherit
command_pyarrow()

import pledgepack.package.tables  # noqa: E402,F401
