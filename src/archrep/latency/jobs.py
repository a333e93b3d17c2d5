"""Profile a list of zoo models into a LatencyStore, resumably.

A job is a model family and a config (``archrep.zoo``). :func:`profile_jobs` builds each model,
exports it to ONNX, reads its ArchGraph from that export (the graph of what is measured),
measures it on every requested platform in turn, and stores graph + measurement in one
transaction per platform. Model by model rather than platform by platform: a model is built
and exported once for all platforms, and a run stopped halfway leaves every platform with the
same models. Jobs already measured on a platform are skipped there: first by (family, config)
without building the model, then by (graph hash, platform, batch) for a config whose graph
another config already gave. A run killed halfway therefore resumes where it stopped, and never
writes a row twice.

``passes=N`` measures every model N times in all (the store's passes, whose median is the
label): in N rounds over the whole job list, round r bringing each model to r + 1 passes, so a
model's passes are a round apart rather than back to back and do not share one moment's
machine state. Passes already stored count, so N = 3 on a one-pass store adds two.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from tqdm.auto import tqdm

from archrep.errors import ArchrepError
from archrep.latency.platform import Platform
from archrep.latency.profiler import UnsupportedPlatformError, profile
from archrep.latency.store import LatencyStore, config_json


def profile_jobs(store: LatencyStore, jobs: Iterable[tuple[str, dict]], platforms: Platform | Sequence[Platform], *,
                 passes: int = 1, progress: bool = True, **profile_kw) -> dict[str, dict[str, int]]:
    """Measure every (family, config) job of ``jobs`` on each of ``platforms`` into ``store``,
    until each has ``passes`` passes there (module docstring).

    ``profile_kw`` goes to :func:`~archrep.latency.profiler.profile` (repeats, warmup, ...).
    Returns ``{platform id: {"measured": n, "skipped": m}}`` (counted per pass). An unsupported
    platform raises before any job; an error in a job stops the run with everything before it
    committed (rerun to resume).
    """
    from archrep.io import export_onnx, from_onnx
    from archrep.zoo import families

    platforms = [platforms] if isinstance(platforms, Platform) else list(platforms)
    if not platforms:
        raise ArchrepError("profile_jobs needs at least one platform")
    if not isinstance(passes, int) or passes < 1:
        raise ArchrepError(f"passes={passes!r}: measure each model at least once (passes >= 1)")
    for platform in platforms:
        reason = platform.unsupported_reason()
        if reason:
            raise UnsupportedPlatformError(reason)
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not (isinstance(job, (tuple, list)) and len(job) == 2 and isinstance(job[0], str)
                and isinstance(job[1], dict)):
            raise ArchrepError(f"job {i} is {job!r}; a job is a (family name, config dict) pair")
    for platform in platforms:
        store.add_platform(platform)
    counts = {p.id: {"measured": 0, "skipped": 0} for p in platforms}
    what = platforms[0].id if len(platforms) == 1 else f"{len(platforms)} platforms"
    for round_ in range(passes):
        done = {p.id: store.measured_configs(p.id, passes=round_ + 1) for p in platforms}
        desc = f"profiling on {what}" + (f", pass {round_ + 1}/{passes}" if passes > 1 else "")
        bar = tqdm(jobs, desc=desc, unit="model", disable=not progress)
        for name, config in bar:
            family = families.get(name)
            full = family.config(config)
            todo = [p for p in platforms if (name, config_json(full)) not in done[p.id]]
            for p in platforms:
                if p not in todo:
                    counts[p.id]["skipped"] += 1
            if not todo:
                continue
            module, x = family.build(full), family.example_input(full)
            onnx_bytes = export_onnx(module, x)
            graph = from_onnx(onnx_bytes)
            for platform in todo:
                if store.passes(graph.hash(), platform.id, full["batch"]) > round_:
                    counts[platform.id]["skipped"] += 1
                    continue
                model = onnx_bytes if platform.runtime == "onnxruntime" else module
                measurement = profile(model, platform, example_input=x, **profile_kw)
                store.add(graph, measurement, platform, family=name, config=full, new_pass=True)
                counts[platform.id]["measured"] += 1
            bar.set_postfix(measured=sum(c["measured"] for c in counts.values()), refresh=False)
    return counts
