"""Measuring helpers for the benchmark: median wall time, query count, peak Python memory."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class Figure:
    """One figure of the benchmark: table rows, targets (name, met) and summary keys."""

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def target(self, name: str, met: bool) -> None:
        self.targets.append((name, bool(met)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "rows": self.rows,
            "targets": [{"name": n, "met": ok} for n, ok in self.targets],
        }


@dataclass(frozen=True)
class Measurement:
    seconds: float  # median wall time
    queries: int  # queries of one run (the last)
    peak_mb: float | None  # peak traced Python allocation of one run, when asked for
    db_seconds: float = 0.0  # median time spent in those queries (as Django's cursor times it)


class _QueryTimer:
    """An execute wrapper adding up the time spent in queries (Django's own query log keeps
    only whole milliseconds)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(*args)
        finally:
            self.seconds += time.perf_counter() - start


def measure(
    fn: Callable[[], Any],
    *,
    repeat: int = 5,
    memory: bool = False,
    before_each: Callable[[], Any] | None = None,
) -> Measurement:
    """Run ``fn`` ``repeat`` times (after ``before_each`` each time, untimed) and return the
    median time, the query count of the last run and, with ``memory``, the peak traced memory of
    one extra run (tracing slows code down, so it is never timed)."""
    return measure_interleaved(
        {"fn": fn}, repeat=repeat, before_each=before_each, memory=("fn",) if memory else ()
    )["fn"]


def measure_interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    repeat: int = 5,
    before_each: Callable[[], Any] | None = None,
    memory: tuple[str, ...] = (),
) -> dict[str, Measurement]:
    """Like ``measure`` for several functions whose times are compared: their runs alternate
    (a, b, a, b, ...) so that noise from other work on the machine hits each alike. Peak
    memory is traced in one extra, untimed run of each function named in ``memory``."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    db_times: dict[str, list[float]] = {name: [] for name in fns}
    queries: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            if before_each is not None:
                before_each()
            gc.collect()
            timer = _QueryTimer()
            with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            queries[name] = len(ctx.captured_queries)
            db_times[name].append(timer.seconds)
    peaks: dict[str, float | None] = {}
    for name in fns:
        peaks[name] = None
        if name in memory:
            if before_each is not None:
                before_each()
            gc.collect()
            tracemalloc.start()
            try:
                fns[name]()
                peaks[name] = tracemalloc.get_traced_memory()[1] / 1e6
            finally:
                tracemalloc.stop()
    return {
        name: Measurement(
            seconds=statistics.median(times[name]),
            queries=queries[name],
            peak_mb=peaks[name],
            db_seconds=statistics.median(db_times[name]),
        )
        for name in fns
    }


def median_time(fn: Callable[[], Any], *, repeat: int = 5) -> float:
    """Median wall time of ``fn`` without query capture (for baselines)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
