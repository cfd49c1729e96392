import { describe, expect, it } from 'vitest';
import { parseRfc3339Ns } from '../../../src/venues/common/time.js';

describe('parseRfc3339Ns', () => {
  it('parses venue timestamps to the nanosecond, with and without fractions', () => {
    expect(parseRfc3339Ns('2023-07-30T15:29:58.343415Z')).toBe(1690730998343415000n);
    expect(parseRfc3339Ns('2023-07-30T15:29:58.343415123Z')).toBe(1690730998343415123n);
    expect(parseRfc3339Ns('2023-07-30T15:29:58.3Z')).toBe(1690730998300000000n);
    expect(parseRfc3339Ns('2023-07-30T15:29:58Z')).toBe(1690730998000000000n);
    // Same seconds prefix (cached) and then a different one.
    expect(parseRfc3339Ns('2023-07-30T15:29:58.000001Z')).toBe(1690730998000001000n);
    expect(parseRfc3339Ns('2024-05-27T12:43:11.798009Z')).toBe(1716813791798009000n);
  });

  it.each([
    '',
    '2023-07-30 15:29:58Z',
    '2023-07-30T15:29:58',
    '2023-07-30T15:29:58.Z',
    '2023-07-30T15:29:58.1234567890Z',
    '2023-07-30T15:29:58.12a4Z',
    '2023-13-45T99:99:99Z',
    'xxxx-07-30T15:29:58.1Z',
    '2023-07-30T15:29:58,1Z',
  ])('rejects %j', (s) => {
    expect(parseRfc3339Ns(s)).toBeUndefined();
  });
});
