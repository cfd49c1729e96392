/** Public endpoints of the real venues (public market data needs no credentials). */
export const LIVE_ENDPOINTS = {
  kraken: { ws: 'wss://ws.kraken.com/v2' },
  binance: { ws: 'wss://stream.binance.com:9443/stream', rest: 'https://api.binance.com' },
  okx: { ws: 'wss://ws.okx.com:8443/ws/v5/public', rest: 'https://www.okx.com' },
} as const;
