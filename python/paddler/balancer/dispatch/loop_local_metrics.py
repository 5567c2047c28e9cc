"""Counters and histograms updated only from the event loop, exposed through prometheus_client.

prometheus_client guards every update with a lock, and a histogram takes
one value per call. The relay updates metrics per token, on one thread: these
keep plain numbers, take a value with a count, and are read by a collector
when `/metrics` is scraped.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class LoopLocalCounter(Collector):
    def __init__(self, name: str, documentation: str, label: str | None, registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        # An unlabelled counter reads 0 before its first increment, as prometheus_client's does.
        self._values: dict[str, float] = {} if label else {"": 0.0}
        registry.register(self)

    def inc(self, amount: float = 1.0, label_value: str = "") -> None:
        self._values[label_value] = self._values.get(label_value, 0.0) + amount

    def value(self, label_value: str = "") -> float:
        return self._values.get(label_value, 0.0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        labels = [self._label] if self._label else []
        family = CounterMetricFamily(self._name, self._documentation, labels=labels)
        for label_value, value in sorted(self._values.items()):
            family.add_metric([label_value] if self._label else [], value)
        yield family


class LoopLocalHistogram(Collector):
    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = list(buckets)
        # One count per bucket, plus the +Inf bucket.
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0
        registry.register(self)

    def observe(self, value: float, count: int = 1) -> None:
        """Records `count` observations of `value`."""
        self._counts[bisect.bisect_left(self._bounds, value)] += count
        self._sum += value * count

    @property
    def count(self) -> int:
        return sum(self._counts)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative = list(itertools.accumulate(self._counts))
        bounds = [*(repr(float(bound)) for bound in self._bounds), "+Inf"]
        yield HistogramMetricFamily(
            self._name,
            self._documentation,
            buckets=list(zip(bounds, cumulative, strict=True)),
            sum_value=self._sum,
        )
