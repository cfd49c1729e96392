/**
 * The priority lanes (HIGH, NORMAL, LOW) of signals that found no room when they arrived, and the
 * pump that releases them as slots free up: HIGH first, a symbol at its cap does not block the
 * others behind it, and a signal that expired while queued is refused instead of routed.
 */
import type { ExecSignal } from '../types.js';
import { laneOf } from './intake.js';
import type { Lane } from './types.js';

/** What the pump asks the executor for each queued signal. */
export interface PumpHost {
  /** The global in-flight cap is reached: nothing more can go now. */
  full(): boolean;
  expired(s: ExecSignal): boolean;
  hasRoom(symbol: string): boolean;
  /** Refuse a signal that expired in its lane. */
  refuseExpired(s: ExecSignal): void;
  /** Route a released signal. */
  process(s: ExecSignal): void;
}

export class SignalLanes {
  private readonly lanes: [Lane, Lane, Lane] = [[], [], []];

  get size(): number {
    return this.lanes[0].length + this.lanes[1].length + this.lanes[2].length;
  }

  /** Queue `s` in its urgency's lane; false when that lane already holds `capacity` signals. */
  offer(s: ExecSignal, capacity: number): boolean {
    const lane = this.lanes[laneOf(s.urgency)];
    if (lane.length >= capacity) return false;
    lane.push(s);
    return true;
  }

  /** Empty every lane, HIGH first, handing each signal to `refuse` (kill switch). */
  clear(refuse: (s: ExecSignal) => void): void {
    for (const lane of this.lanes) for (const s of lane.splice(0)) refuse(s);
  }

  /** Release queued signals while the caps allow. */
  pump(h: PumpHost): void {
    for (const lane of this.lanes) {
      let i = 0;
      while (i < lane.length) {
        if (h.full()) return;
        const s = lane[i]!;
        if (h.expired(s)) {
          lane.splice(i, 1);
          h.refuseExpired(s);
          continue;
        }
        if (!h.hasRoom(s.symbol)) {
          i++; // this symbol is at its cap; others behind it may go (no head-of-line blocking)
          continue;
        }
        lane.splice(i, 1);
        h.process(s);
      }
    }
  }
}
