"""matplotlib for the benchmark scripts, imported on demand: the plots are optional, the results not."""
from __future__ import annotations


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend, or None (with a hint) when matplotlib is
    not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    return plt
