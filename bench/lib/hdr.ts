/** HDR histogram helpers shared by the benchmarks: record nanoseconds, summarize p50/p99/p99.9. */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
  mean_ns: number;
}

export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
}

export function summarize(h: hdr.Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50_ns: h.getValueAtPercentile(50),
    p99_ns: h.getValueAtPercentile(99),
    p999_ns: h.getValueAtPercentile(99.9),
    max_ns: h.maxValue,
    mean_ns: Math.round(h.mean),
  };
}
