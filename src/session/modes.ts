/**
 * What `session.mode` means for a session started by `kestrel start`:
 *   backtest  recorded data, matching engine (`kestrel backtest`)
 *   paper     live (venues.<venue> endpoints) or bundled simulated market data; fills come from the
 *             in-process matching engine fed by that same book; nothing is sent to a venue
 *   live      real orders to the venues' private endpoints: refused without credentials, without
 *             explicit consent (--i-understand-live or session.i_understand_live), or when any venue's
 *             policy is shadow_only.
 */
import type { Config } from '../config/schema.js';
import type { VenueName, VenueSpec } from '../contracts/index.js';
import { liveCredentials, LiveRefusedError } from '../venues/live.js';

export { LiveRefusedError };

/** The checks that need no I/O beyond the environment: consent and credentials. */
export function assertLiveConsent(config: Config, env: NodeJS.ProcessEnv = process.env): void {
  if (config.session.mode !== 'live') return;
  if (config.session.market_data !== 'venues')
    throw new LiveRefusedError(
      'live refused: live trades on venue market data (session.market_data: venues), not on the bundled recordings',
    );
  if (!config.session.i_understand_live)
    throw new LiveRefusedError(
      'live refused: live mode sends real orders; pass --i-understand-live (or set session.i_understand_live: true)',
    );
  liveCredentials(config.session.venues as readonly VenueName[], env);
}

/** Venue policies from reference data: a shadow_only venue takes no live order. */
export function assertLivePolicies(config: Config, specs: readonly Pick<VenueSpec, 'venue' | 'venuePolicy'>[]): void {
  if (config.session.mode !== 'live') return;
  const shadow = specs.filter((s) => s.venuePolicy === 'shadow_only').map((s) => s.venue);
  if (shadow.length > 0)
    throw new LiveRefusedError(
      `live refused: venue policy of ${shadow.join(', ')} is shadow_only (drop it from --venues or trade it in paper)`,
    );
}
