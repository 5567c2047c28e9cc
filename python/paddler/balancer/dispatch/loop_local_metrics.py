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

LabelValue = str | tuple[str, ...]


class LoopLocalCounter(Collector):
    """`label`: one label's name, several (then each value is a tuple of as many), or None."""

    def __init__(
        self, name: str, documentation: str, label: str | tuple[str, ...] | None, registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = [label] if isinstance(label, str) else list(label or ())
        # An unlabelled counter reads 0 before its first increment, as prometheus_client's does.
        self._values: dict[LabelValue, float] = {} if self._labels else {"": 0.0}
        registry.register(self)

    def inc(self, amount: float = 1.0, label_value: LabelValue = "") -> None:
        self._values[label_value] = self._values.get(label_value, 0.0) + amount

    def value(self, label_value: LabelValue = "") -> float:
        return self._values.get(label_value, 0.0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labels)
        for label_value, value in sorted(self._values.items(), key=lambda item: str(item[0])):
            if not self._labels:
                family.add_metric([], value)
            elif isinstance(label_value, tuple):
                family.add_metric(list(label_value), value)
            else:
                family.add_metric([label_value], value)
        yield family


class LoopLocalHistogram(Collector):
    """`label`: one label's name (each observation then names its value), or None."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        registry: CollectorRegistry,
        label: str | None = None,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = list(buckets)
        self._label = label
        # Per label value: one count per bucket plus the +Inf bucket, and the sum.
        self._series: dict[str, tuple[list[int], list[float]]] = {} if label else {"": self._new_series()}
        registry.register(self)

    def _new_series(self) -> tuple[list[int], list[float]]:
        return [0] * (len(self._bounds) + 1), [0.0]

    def observe(self, value: float, count: int = 1, label_value: str = "") -> None:
        """Records `count` observations of `value`."""
        series = self._series.get(label_value)
        if series is None:
            series = self._series[label_value] = self._new_series()
        counts, total = series
        counts[bisect.bisect_left(self._bounds, value)] += count
        total[0] += value * count

    def count(self, label_value: str = "") -> int:
        series = self._series.get(label_value)
        return sum(series[0]) if series is not None else 0

    def collect(self) -> Iterator[HistogramMetricFamily]:
        bounds = [*(repr(float(bound)) for bound in self._bounds), "+Inf"]
        family = HistogramMetricFamily(
            self._name, self._documentation, labels=[self._label] if self._label else None
        )
        for label_value, (counts, total) in sorted(self._series.items()):
            cumulative = list(itertools.accumulate(counts))
            family.add_metric(
                [label_value] if self._label else [],
                buckets=list(zip(bounds, cumulative, strict=True)),
                sum_value=total[0],
            )
        yield family
