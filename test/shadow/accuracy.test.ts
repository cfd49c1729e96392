import { describe, expect, it } from 'vitest';
import { AccuracyMonitor, rocAuc } from '../../src/shadow/accuracy.js';

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking, 0 for an inverted one, 0.5 for all-tied scores', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
  });

  it('matches the pairwise definition on a mixed case', () => {
    const s = [0.3, 0.7, 0.4, 0.9, 0.6, 0.2];
    const l = [false, true, true, true, false, false];
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < s.length; i++)
      for (let j = 0; j < s.length; j++)
        if (l[i] && !l[j]) {
          pairs++;
          wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
        }
    expect(rocAuc(s, l)).toBeCloseTo(wins / pairs, 12);
  });

  it('is undefined when one class is missing', () => {
    expect(rocAuc([0.1, 0.2], [true, true])).toBeUndefined();
  });
});

describe('accuracy monitor', () => {
  it('scores signals after their horizon in tick time and reports hit rate, precision and slippage', () => {
    const m = new AccuracyMonitor({ horizonNs: 10n, threshold: 0.8, driftWindow: 100, driftThreshold: 0.05 });
    m.onSignal({ confidence: 0.9, direction: 1, refMid: 100, tsNs: 0n }); // right: mid goes up
    m.onSignal({ confidence: 0.6, direction: -1, refMid: 100, tsNs: 1n }); // wrong: mid goes up
    m.onFill(1, 100.01, 100);
    m.onMid(100.5, 5n);
    expect(m.report().scored).toBe(0);
    m.onMid(101, 11n);
    const r = m.report();
    expect(r.scored).toBe(2);
    expect(r.hitRate).toBe(0.5);
    expect(r.precision).toBe(1);
    expect(r.rocAuc).toBe(1);
    expect(r.avgSlippageBps).toBeCloseTo(1, 9);
  });
});
