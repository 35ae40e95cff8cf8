"""Imported by pledgepack's fork server as it starts, after the guard: each worker it forks
has pyarrow and the code that turns a build's rows into Arrow tables already loaded
(content/folder.py's _read_batch), with no OpenBLAS threads started by numpy, and without
pyarrow's probe for pandas (0.25-0.4 s a worker otherwise)."""
from pledgepack.workers import pyarrow_without_pandas, quiet_blas

quiet_blas()  # the fork server's own environment, which its workers inherit
pyarrow_without_pandas()

import pledgepack.package.tables  # noqa: E402,F401
