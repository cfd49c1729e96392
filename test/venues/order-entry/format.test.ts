import { describe, expect, it } from 'vitest';
import { fmt } from '../../../src/venues/common/base-client.js';

describe('decimal formatting for venue requests', () => {
  it.each([
    [49000.01, '49000.01'],
    [0.1, '0.1'],
    [1e-7, '0.0000001'],
    [1.5e-8, '0.000000015'],
    [-2.5e-7, '-0.00000025'],
    [123456789.123, '123456789.123'],
    [1e21, '1000000000000000000000'],
    [1.25e22, '12500000000000000000000'],
    [50000, '50000'],
  ])('%d -> %s (shortest digits, never exponent)', (x, text) => {
    expect(fmt(x)).toBe(text);
    expect(Number(fmt(x))).toBe(x);
  });
});
