"""Root pytest configuration, shared by tests/ and the notebooks that nbval checks."""
import os

# One BLAS thread, in this process and in the notebook kernels it starts (they inherit the
# environment): on a small shared machine OpenBLAS's threads fight over the cores and make small
# matrix products ~100x slower, and one thread also gives the same last bits as the stored outputs.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def pytest_configure(config):
    try:  # NumPy may already be loaded (a plugin imported it): limit its pool at run time too
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    # On a fresh machine matplotlib builds its font cache on first use and, when that is slow,
    # says so on stderr -- inside the first notebook cell that plots, where nbval would see an
    # output the stored notebook does not have.  Build it here, before any notebook runs.
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib import font_manager  # noqa: F401  (building the cache is the import)
    except ImportError:
        pass
