// The OpenTelemetry SDK with its in-memory exporters, as an application would set it up, for tests that
// read what keyswitch reported.
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** An SDK whose metrics and spans stay in memory. */
export interface InMemoryTelemetry {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: BasicTracerProvider;
  /** Every metric collected now (cumulative since the start). */
  metrics(): Promise<MetricData[]>;
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  shutdown(): Promise<void>;
}

/** A fresh in-memory SDK. */
export function inMemoryTelemetry(): InMemoryTelemetry {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported on demand (forceFlush) only: the interval is longer than any test.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  return {
    meterProvider,
    tracerProvider,
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      return metricExporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics.flatMap((s) => s.metrics));
    },
    spans: () => spanExporter.getFinishedSpans(),
    async shutdown() {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The data points of metric `name`, as `{ attributes, value }`. */
export function points(metrics: MetricData[], name: string): Array<DataPoint<number | Histogram>> {
  const metric = metrics.find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []) as Array<DataPoint<number | Histogram>>;
}

/** The value of the data point of metric `name` whose attributes are exactly `attributes`. */
export function pointValue(
  metrics: MetricData[],
  name: string,
  attributes: Record<string, string>,
): number | Histogram | undefined {
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  return points(metrics, name).find(
    (point) => JSON.stringify(Object.entries(point.attributes).sort()) === wanted,
  )?.value;
}
