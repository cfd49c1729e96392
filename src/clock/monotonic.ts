/**
 * Real elapsed time, for measuring durations (latency histograms, wall time of a run, fsync cost) and
 * for pacing real I/O against the host (replay at recorded speed, database flush age, log throttles).
 * Never for trading decisions or for stamps on messages: those read the injected `Clock`, so that a
 * virtual clock drives them. Readers outside src/clock/ are listed in test/clock/time-sources.test.ts.
 */

/** CLOCK_MONOTONIC in ns: comparable within the process (and across processes on one host). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** CLOCK_MONOTONIC in ms with sub-ms fraction, for durations in ms. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
