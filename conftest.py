"""Root pytest configuration, shared by tests/ and the notebooks that nbval checks."""


def pytest_configure(config):
    # On a fresh machine matplotlib builds its font cache on first use and, when that is slow,
    # says so on stderr -- inside the first notebook cell that plots, where nbval would see an
    # output the stored notebook does not have.  Build it here, before any notebook runs.
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib import font_manager  # noqa: F401  (building the cache is the import)
    except ImportError:
        pass
