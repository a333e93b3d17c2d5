"""Profile a list of zoo models into a LatencyStore, resumably.

A job is a model family and a config (``archrep.zoo``). :func:`profile_jobs` builds each model,
exports it to ONNX, reads its ArchGraph from that export (the graph of what is measured),
measures it on the platform, and stores graph + measurement in one transaction. Jobs already
measured on the platform are skipped: first by (family, config) without building the model,
then by (graph hash, platform, batch) for a config whose graph another config already gave.
A run killed halfway therefore resumes where it stopped, and never writes a row twice.
"""
from __future__ import annotations

from typing import Iterable

from tqdm.auto import tqdm

from archrep.errors import ArchrepError
from archrep.latency.platform import Platform
from archrep.latency.profiler import UnsupportedPlatformError, profile
from archrep.latency.store import LatencyStore, config_json


def profile_jobs(store: LatencyStore, jobs: Iterable[tuple[str, dict]], platform: Platform, *,
                 progress: bool = True, **profile_kw) -> dict[str, int]:
    """Measure every (family, config) job of ``jobs`` on ``platform`` into ``store``.

    ``profile_kw`` goes to :func:`~archrep.latency.profiler.profile` (repeats, warmup, ...).
    Returns ``{"measured": n, "skipped": m}``. An unsupported platform raises before any job;
    an error in a job stops the run with everything before it committed (rerun to resume).
    """
    from archrep.io import export_onnx, from_onnx
    from archrep.zoo import families

    reason = platform.unsupported_reason()
    if reason:
        raise UnsupportedPlatformError(reason)
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not (isinstance(job, (tuple, list)) and len(job) == 2 and isinstance(job[0], str)
                and isinstance(job[1], dict)):
            raise ArchrepError(f"job {i} is {job!r}; a job is a (family name, config dict) pair")
    store.add_platform(platform)
    done = store.measured_configs(platform.id)
    counts = {"measured": 0, "skipped": 0}
    bar = tqdm(jobs, desc=f"profiling on {platform.id}", unit="model", disable=not progress)
    for name, config in bar:
        family = families.get(name)
        full = family.config(config)
        if (name, config_json(full)) in done:
            counts["skipped"] += 1
            continue
        module, x = family.build(full), family.example_input(full)
        onnx_bytes = export_onnx(module, x)
        graph = from_onnx(onnx_bytes)
        if store.has(graph.hash(), platform.id, full["batch"]):
            counts["skipped"] += 1
            continue
        model = onnx_bytes if platform.runtime == "onnxruntime" else module
        measurement = profile(model, platform, example_input=x, **profile_kw)
        store.add(graph, measurement, platform, family=name, config=full)
        counts["measured"] += 1
        bar.set_postfix(counts, refresh=False)
    return counts
