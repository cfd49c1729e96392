/**
 * The one validated configuration of the system (SPEC.md "Configuration Service" plus every
 * service's section). Objects are strict: an unknown key is a typo and fails the load, naming the key.
 */
import { z } from 'zod';

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const fraction = z.number().min(0).max(1);
const port = z.number().int().min(0).max(65535);
const venueName = z.enum(['binance', 'kraken', 'okx']);

/** Retention of one durable stream (src/bus/streams.ts); 0 = unlimited. */
const streamRetention = z.strictObject({
  max_age_s: nonNegative,
  max_bytes: z.number().int().nonnegative(),
  max_msgs: z.number().int().nonnegative(),
  duplicate_window_s: positive,
});
/** venues.<venue>: a named preset of the venue's environments (src/venues/endpoints.ts), URLs overridable; empty = the preset's. */
const venueEndpoints = <P extends [string, ...string[]]>(presets: P) =>
  z.strictObject({
    preset: z.enum(presets),
    endpoints: z.strictObject({ public_ws: z.string(), public_rest: z.string(), private_ws: z.string(), private_rest: z.string() }),
  });

const circuitBreaker = z.strictObject({
  error_threshold: z.number().int().positive(),
  timeout_seconds: positive,
  half_open_requests: z.number().int().positive(),
});

/**
 * Leader lock of `kestrel run executor` (docs/EXECUTION.md "Standby executor and leader lock"):
 * executors sharing an account (and its WAL) hold a JetStream KV lease; one trades, the rest stand by.
 */
export const executorLeaderSchema = z
  .strictObject({
    enabled: z.boolean(),
    /** Lock name of the account: the same on every executor of the account. */
    key: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'),
    /** A dead leader's key disappears this long after its last renewal (fixed per bucket). */
    ttl_ms: z.number().int().min(100),
    /** Leader renewal period, standby retry period. */
    renew_ms: z.number().int().positive(),
    /** The leader stops sending this long before its key can expire. */
    margin_ms: z.number().int().positive(),
  })
  .refine((l) => 2 * l.renew_ms + l.margin_ms <= l.ttl_ms, 'leader: 2 × renew_ms + margin_ms must not exceed ttl_ms');

export const configSchema = z.strictObject({
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a semantic version like 1.2.3'),
  session: z.strictObject({
    mode: z.enum(['paper', 'live', 'backtest']),
    /** Replay pacing of the bundled recordings: original timing, N× faster, or as fast as possible. */
    pace: z.enum(['original', 'accelerated', 'instant']),
    speed: positive,
    /** Stop the session after this many ticks (0 = the whole recording). */
    max_ticks: z.number().int().nonnegative(),
    venues: z.array(venueName).min(1),
    symbols: z.array(z.string().min(1)).min(1),
    /**
     * Market data of `start`: 'bundled' replays the bundled recordings through in-process simulators;
     * 'venues' connects the public adapters to venues.<venue> endpoints (`start --mode paper|live`).
     */
    market_data: z.enum(['bundled', 'venues']),
    /** Live mode's explicit consent (or `start --i-understand-live`): live sends real orders. */
    i_understand_live: z.boolean(),
    /** Currency of portfolio totals; positions in other quotes convert at a mid from the market data. */
    reporting_currency: z.union([z.literal(''), z.string().regex(/^[A-Z0-9]{2,10}$/, 'expected a currency code like USD or empty')]),
  }),
  venues: z.strictObject({
    binance: venueEndpoints(['production', 'testnet']),
    okx: venueEndpoints(['production', 'demo']),
    kraken: venueEndpoints(['production', 'validate']),
  }),
  bus: z.strictObject({
    kind: z.enum(['in-process', 'nats']),
    nats_url: z.string().min(1),
    namespace: z.enum(['live', 'replay']),
    /**
     * NATS identity: the user name only. Its password (or an nkey seed, or a token) comes from the
     * environment or a *_FILE, never from this file (src/bus/nats-security.ts).
     */
    auth: z.strictObject({ user: z.string() }),
    /** TLS files; empty = plain TCP. The key file must be owner-only (chmod 600). */
    tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }),
    /** JetStream streams ord, risk, audit (src/bus/streams.ts): retention and the slow-consumer bound. */
    streams: z.strictObject({
      ord: streamRetention,
      risk: streamRetention,
      audit: streamRetention,
      slow_consumer_pending: z.number().int().positive(),
    }),
  }),
  storage: z.strictObject({
    /** Empty string: no ClickHouse, ticks go to capture files. */
    clickhouse_url: z.string(),
    clickhouse_database: z.string().min(1),
    capture_dir: z.string().min(1),
    batch_size: z.number().int().positive(),
    flush_interval_ms: positive,
    max_buffered_rows: z.number().int().positive(),
  }),
  refdata: z.strictObject({
    /** Empty string: embedded reference data seed. */
    postgres_url: z.string(),
  }),
  audit: z.strictObject({
    /** JetStream when the bus is NATS; a hash-chained file otherwise. */
    file: z.string().min(1),
  }),
  strategy: z.strictObject({
    id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only'),
    engine: z.enum(['native', 'julia']),
    /** julia engine: KestrelStrategy package folder loaded from source instead of the sysimage ('' = KESTREL_JULIA_SOURCE, else sysimage). */
    julia_source: z.string(),
    confidence_threshold: fraction,
    kelly_fraction: fraction,
    /** Lifetime of a signal from its emission (engine ttl_ms): the executor refuses it older (SIGNAL_EXPIRED). */
    signal_ttl_ms: z.number().int().positive(),
    max_position: positive,
    /** Quote-currency capital the Kelly fraction applies to. */
    capital: positive,
    /** Regime detection and its entry gate (docs/STRATEGY.md "Regime"). */
    regime: z.strictObject({
      /** true: mean-reversion entries also while TRENDING or HIGH_VOL (default false: blocked). */
      trend_entries: z.boolean(),
      /** Variance-ratio lag in OU grid steps (2..ou_window-2). */
      vr_lag: z.number().int().min(2),
      /** TRENDING when the variance ratio exceeds this. */
      vr_trend: positive,
      /** HIGH_VOL when short/long EWMA volatility exceeds this. */
      vol_ratio: positive,
    }),
  }),
  execution: z.strictObject({
    max_slippage_bps: nonNegative,
    /** Bound on the emitter-vs-executor wall-clock offset the signal TTL check allows (docs/PERFORMANCE.md). */
    max_clock_skew_ms: nonNegative,
    /** Orders' time in force: IOC when true (the default), else GTC. Changes live. */
    use_ioc: z.boolean(),
    wal_dir: z.string().min(1),
    /** WAL segment size before rotation (bytes). */
    wal_rotation_bytes: z.number().int().min(4096),
    /**
     * Where an order's send waits for its intent's fdatasync: 'inline' on the event loop (best p99
     * when the device flushes in well under a millisecond), 'pool' on the libuv pool with the event
     * loop free (better when the disk is slow or shared). docs/PERFORMANCE.md "Durable WAL".
     */
    wal_commit: z.enum(['inline', 'pool']),
    /** Prefix of every client id the executor makes (a venue's order list shows whose orders they are). */
    client_id_prefix: z.string().regex(/^[A-Za-z0-9]{1,3}$/, 'letters and digits, 1 to 3'),
    /** Nonces reserved in the WAL per block (one fsync per block, not per order). */
    nonce_block: z.number().int().positive(),
    /** A venue's top of book older than this is stale: no order is routed on it. */
    stale_snapshot_ms: positive,
    fill_model: z.enum(['paper', 'realistic']),
    concurrency: z.strictObject({
      global_max_inflight: z.number().int().positive(),
      per_venue_max_inflight: z.record(z.string(), z.number().int().positive()),
      per_symbol_max_inflight: z.number().int().positive(),
    }),
    leader: executorLeaderSchema,
  }),
  risk: z.strictObject({
    max_position_pct: fraction,
    max_correlation: fraction,
    stop_loss_pct: fraction,
    /** How long an executor waits for a risk.check answer before refusing the order (RISK_TIMEOUT). */
    check_timeout_ms: z.number().int().positive(),
    max_order_notional: positive,
    position_limits: z.strictObject({
      per_symbol: positive,
      portfolio: positive,
    }),
    var_limits: z.strictObject({
      confidence: z.number().gt(0).lt(1),
      max_var: positive,
      ewma_lambda: z.number().gt(0).lt(1),
      /** Return bar of the VaR estimate (and of the correlation check). */
      bar_ms: positive,
      /** Bars before VaR is trusted; fewer = degraded (exposure capped at degraded_cap_fraction). */
      min_bars: z.number().int().min(1),
      /** A mark older than this degrades VaR too. */
      stale_mark_ms: positive,
      degraded_cap_fraction: z.number().gt(0).max(1),
    }),
    drawdown: z.strictObject({ max_daily: fraction, max_total: fraction }),
    rate_limits: z.strictObject({
      orders_per_second: z.number().int().positive(),
      per_venue: z.record(z.string(), z.number().int().positive()),
    }),
  }),
  circuit_breakers: z.strictObject({
    default: circuitBreaker,
    per_venue: z.record(z.string(), circuitBreaker.partial()),
  }),
  data_quality: z.strictObject({
    staleness_threshold_ms: positive,
    max_spread_pct: positive,
    max_time_skew_ms: positive,
    crossed_tolerance: nonNegative,
  }),
  flow_control: z.strictObject({
    queue_sizes: z.strictObject({
      /** Executor intake: bounded queue per priority lane; a signal past it is refused (QUEUE_FULL). */
      signals: z.number().int().positive(),
      /** Ingestion: mailbox of each shard actor. */
      market_data: z.number().int().positive(),
    }),
    ingestion_shards: z.number().int().positive(),
  }),
  rings: z.strictObject({
    /** Name of the /dev/shm region other processes attach to. */
    shm_name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    capacity: z
      .number()
      .int()
      .positive()
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
    /**
     * How long the engine thread spins after the last tick before sleeping on the doorbell (ns).
     * "auto": 50 µs when it has a core to itself (engine_cpu set, or more than two CPUs), else 0:
     * on two CPUs the spinner takes the core the event loop needs right after a signal.
     */
    engine_idle_spin_ns: z.union([z.literal('auto'), z.number().int().min(0).max(1_000_000_000)]),
    /** Pin the engine thread to this CPU (an isolated core in production); -1 = not pinned. */
    engine_cpu: z.number().int().min(-1).max(4095),
  }),
  admin: z.strictObject({
    host: z.string().min(1),
    /** 0 picks a free port; -1 disables the HTTP server. */
    port: z.union([port, z.literal(-1)]),
    /**
     * Bearer token of the mutating endpoints when KESTREL_ADMIN_TOKEN(_FILE) is not set: read from
     * this file, or generated into it (mode 0600) at first start.
     */
    token_file: z.string().min(1),
    /** /admin/drain waits this long for in-flight orders to finish; past it the process stops with exit 1. */
    drain_timeout_ms: z.number().int().min(0).max(600_000),
  }),
  /**
   * The processes of a distributed deployment (`kestrel run <service>`, README "Architecture"). Every
   * one reads this whole file; admin_port is its health and metrics port on admin.host (0 = a free
   * port, printed in its ready line; a deployment fixes it for its probes).
   */
  services: z.strictObject({
    executor: z.strictObject({
      admin_port: port,
      /** shadow: orders go to the simulated venue only (docs/EXECUTION.md "Shadow mode"). */
      mode: z.enum(['live', 'shadow']),
      /**
       * Venues whose order gateway runs as its own process (`kestrel run gateway --venue V`): the
       * executor only requests ord.req.{venue} and listens to ord.ack.{venue}; it holds no private
       * client of that venue (no venue query in recovery, no balance reconciliation).
       */
      remote_gateways: z.array(venueName),
      /** Run a static-limit risk gateway (risk.*) inside the executor instead of `kestrel run risk`. */
      embedded_risk: z.boolean(),
      /** Queue group of sig.> when several executors share the signal stream; empty = none. */
      signal_queue: z.string(),
      /** Compare positions with venue balances this often (ms); 0 = never. */
      reconcile_interval_ms: z.number().int().nonnegative(),
    }),
    risk: z.strictObject({ admin_port: port }),
    gateway: z.strictObject({ admin_port: port }),
    positions: z.strictObject({ admin_port: port }),
    audit: z.strictObject({ admin_port: port }),
    recorder: z.strictObject({ admin_port: port }),
    md: z.strictObject({ admin_port: port }),
    engine: z.strictObject({ admin_port: port }),
  }),
  logging: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  }),
});

export type Config = z.infer<typeof configSchema>;
