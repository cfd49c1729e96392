/**
 * Every service's options in one place: the processes `kestrel run <service>` starts (and the private
 * venue simulators, started as their own process by tests and benches). Each service's main.ts
 * parses with these lists through `serviceMain` (src/cli/entry.ts), and `--help` is generated from
 * them, so the CLI can print a service's options without loading the service.
 */
import type { FlagSpec } from './args.js';
import { serviceConfigFlags } from './service-config.js';

export interface ServiceSpec {
  /** How it is started, for the first line of `--help`. */
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
}

const help: FlagSpec = { name: 'help', kind: 'boolean', help: 'show the options of this service' };

/** --config of every service taking the one config (src/config/schema.ts). */
const configFlag: FlagSpec = {
  name: 'config',
  kind: 'string',
  metavar: 'FILE.yaml',
  help: 'the config overlaid on config/default.yaml (KESTREL__section__key overrides apply too)',
};

export const executorService: ServiceSpec = {
  usage: 'kestrel run executor [--config FILE.yaml] [--report]',
  summary:
    'the executor: signals from sig.>, order gateways per venue (in-process, or remote per services.executor.remote_gateways), optional embedded risk gateway, control plane, positions (docs/EXECUTION.md)',
  flags: [configFlag, { name: 'report', kind: 'boolean', help: 'recover, settle in-doubt orders, print a JSON report and exit' }, help],
};

export const riskService: ServiceSpec = {
  usage: 'kestrel run risk [--config FILE.yaml]',
  summary: 'the static-limit risk gateway (risk.*): answers risk.check, publishes risk.limits, risk.status and risk.breach',
  flags: [configFlag, help],
};

export const gatewayService: ServiceSpec = {
  usage: 'kestrel run gateway --venue VENUE [--config FILE.yaml]',
  summary:
    "one venue's order gateway and private client: answers ord.req.{venue}, ord.cancel.req, ord.replace.req; publishes ord.ack.{venue}",
  flags: [{ name: 'venue', kind: 'string', metavar: 'VENUE', help: 'binance, kraken or okx (one of session.venues)' }, configFlag, help],
};

export const positionsService: ServiceSpec = {
  usage: 'kestrel run positions [--config FILE.yaml]',
  summary: 'positions and PnL from the fills of stream ord (rebuilt from it at start): publishes pos.current and pos.pnl',
  flags: [configFlag, help],
};

export const auditService: ServiceSpec = {
  usage: 'kestrel run audit [--config FILE.yaml]',
  summary: 'durable consumer of stream audit: appends the hash chain to audit.file, verified event by event, acked once on disk',
  flags: [configFlag, help],
};

export const recorderService: ServiceSpec = {
  usage: 'kestrel run recorder [--config FILE.yaml]',
  summary: 'md.norm.> from the bus into the ClickHouse ticks table (storage.*), the store `backtest --from clickhouse` reads',
  flags: [configFlag, help],
};

export const simulatorsService: ServiceSpec = {
  usage: 'kestrel run simulators [options]',
  summary: 'the venue simulators: one JSON line per venue with its URLs, then serves until SIGINT/SIGTERM',
  flags: [
    { name: 'venues', kind: 'string', metavar: 'LIST', help: 'venues to simulate, e.g. kraken,okx (default binance,kraken,okx)' },
    { name: 'pace', kind: 'string', metavar: 'PACE', help: 'original (default), accelerated or instant' },
    { name: 'speed', kind: 'string', metavar: 'X', help: 'with --pace accelerated: X times recorded time, in (0, 1e6]' },
    { name: 'okx-protocol', kind: 'string', metavar: 'P', help: 'OKX book protocol: legacy (default) or seqid-only' },
    { name: 'no-wait', kind: 'boolean', help: 'start the feed without waiting for a subscriber' },
    { name: 'admin-host', kind: 'string', metavar: 'HOST', help: 'health and metrics host (default 127.0.0.1)' },
    { name: 'admin-port', kind: 'string', metavar: 'PORT', help: 'health and metrics port (default 0: a free port, printed as adminUrl)' },
    {
      name: 'ports',
      kind: 'string',
      metavar: 'BASE',
      help: 'fixed ports: binance BASE, kraken BASE+1, okx BASE+2; private venues BASE+3..BASE+5',
    },
    { name: 'private', kind: 'boolean', help: 'also serve the simulated private (order-entry) venues' },
    help,
  ],
};

export const mdService: ServiceSpec = {
  usage: 'kestrel run md [--config FILE] [--venues LIST] [--symbols LIST] [--data PATH ...] [--rate N] [--shard i/N] [--rings] [--raw]',
  summary:
    'market data: venue adapters + ingestion (quality gates) → md.norm, md.agg, md.gap/md.anomaly, md.health on NATS; --data replays recordings as `kestrel backtest --data` reads them',
  flags: [
    ...serviceConfigFlags,
    { name: 'venues', kind: 'string', metavar: 'LIST', help: 'venues to connect, e.g. binance,kraken,okx (session.venues)' },
    {
      name: 'symbols',
      kind: 'string',
      metavar: 'LIST',
      help: 'canonical symbols, e.g. BTC-USDT,BTC-USD (session.symbols; with --data: keep only these)',
    },
    {
      name: 'data',
      kind: 'repeat',
      metavar: 'PATH',
      help: 'replay these recordings/captures (as backtest --data) instead of the venues, in bus namespace replay, then exit 0',
    },
    {
      name: 'rate',
      kind: 'string',
      metavar: 'N',
      help: 'with --data: publish at most N ticks per second (default: as fast as the data reads)',
    },
    {
      name: 'shard',
      kind: 'string',
      metavar: 'i/N',
      help: 'own only the symbols whose jump hash over N shards is i (N processes split the symbols)',
    },
    {
      name: 'raw',
      kind: 'boolean',
      help: "also publish the adapters' ticks before the quality gates on md.{venue}.{symbol}.{book|trade} (venue feeds only)",
    },
    {
      name: 'rings',
      kind: 'boolean',
      help: 'also write the accepted ticks into the shared-memory region rings.shm_name for `run engine --attach` on this host; kept until SIGTERM',
    },
    help,
  ],
};

export const engineService: ServiceSpec = {
  usage: 'kestrel run engine [--config FILE] [--symbols LIST | --attach]',
  summary:
    'the strategy engine (strategy.engine: native or julia): md.norm from NATS into its own rings, signals on sig.{strategy}.{symbol}; drains on SIGTERM',
  flags: [
    ...serviceConfigFlags,
    {
      name: 'symbols',
      kind: 'string',
      metavar: 'LIST',
      help: 'canonical symbols this engine owns (default: every symbol in reference data); engines on disjoint sets run side by side',
    },
    {
      name: 'attach',
      kind: 'boolean',
      help: 'read the rings `run md --rings` writes on this host (region rings.shm_name) instead of md.norm from NATS',
    },
    help,
  ],
};

export const privateVenuesService: ServiceSpec = {
  usage: 'node --import tsx src/simulators/private/main.ts [options]',
  summary: 'the simulated private venues (Binance, Kraken, OKX) in their own process, outliving an executor that is restarted',
  flags: [
    { name: 'mode', kind: 'string', metavar: 'MODE', help: 'matching: paper (default) or realistic' },
    { name: 'journal-dir', kind: 'string', metavar: 'DIR', help: 'journal the venues’ state here (created if missing)' },
    { name: 'port-binance', kind: 'integer', metavar: 'N', help: 'Binance port (default: a free port)' },
    { name: 'port-kraken', kind: 'integer', metavar: 'N', help: 'Kraken port (default: a free port)' },
    { name: 'port-okx', kind: 'integer', metavar: 'N', help: 'OKX port (default: a free port)' },
    { name: 'replay', kind: 'integer', metavar: 'N', help: 'feed the first N records of the Binance capture into the books (0 = all)' },
    { name: 'speed', kind: 'string', metavar: 'X', help: 'replay at X times recorded time (default 1; 0 = as fast as possible)' },
    { name: 'replay-source', kind: 'string', metavar: 'SRC', help: 'binance (default: one capture for all) or per-venue' },
    { name: 'probe', kind: 'boolean', help: 'record order-frame arrival times (GET /__sim/arrivals)' },
    { name: 'no-rate-limit', kind: 'boolean', help: 'turn the venues’ rate limits off' },
    help,
  ],
};
