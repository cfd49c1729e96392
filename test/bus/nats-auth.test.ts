/**
 * The shipped NATS server config (deploy/nats/nats-server.conf) started by scripts/nats-auth.sh on a
 * real nats-server: authentication is required, each role's subject permissions hold, and the bus
 * connects over TLS and with an nkey. Nothing here is mocked: refusals come from the server.
 */
import { systemClock, SystemClock } from '../../src/clock/clock.js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nkeys } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.js';
import { NatsBus } from '../../src/bus/nats-bus.js';
import { natsSecurityFrom } from '../../src/bus/nats-security.js';
import { SecretError } from '../../src/config/secrets.js';
import { toJson } from '@bufbuild/protobuf';
import { FileAuditSink, JetStreamAuditSink } from '../../src/audit/sinks.js';
import { ControlAudit } from '../../src/audit/control-audit.js';
import { create } from '@bufbuild/protobuf';
import { ControlCommandSchema, VenueSpecSchema } from '../../src/contracts/index.js';
import { sendControl } from '../../src/control/control-plane.js';
import { startExecutorProcess } from '../../src/execution/main.js';
import { BinancePrivateSim } from '../../src/venues/binance/simulator/order-entry.js';
import { binanceSpec, CREDS, RULES } from '../execution/harness.js';
import { portOpen } from '../support/servers.js';
import { eventually } from '../support/wait.js';
import { ensureStreams } from '../../src/bus/streams.js';
import { subjects } from '../../src/contracts/subjects.js';
import { tmpDir } from '../support/tmp.js';
import { AuditLog, pack } from '../../src/audit/audit-log.js';
import { DurableStreams } from '../../src/bus/streams.js';
import { OrderAckSchema, OrderStatus, Side } from '../../src/contracts/index.js';
import { toBinary } from '@bufbuild/protobuf';
import { kestrel } from '../support/processes.js';
import { writeServiceConfig } from '../support/service-config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hasNatsServer = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].some((f) => fs.existsSync(f));
const hasOpenssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].some((f) => fs.existsSync(f));
// Under CI a missing binary is a failure (the spawn fails loudly), never a silent skip.
const skip = (!hasNatsServer || !hasOpenssl) && process.env.CI !== 'true';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${log()}`);
    if (await portOpen('127.0.0.1', port, 200)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port}: ${log()}`);
}

interface Server {
  port: number;
  child: ChildProcess;
}

async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cmd = path.join(repoRoot, 'scripts/nats-auth.sh'),
): Promise<Server> {
  const port = await freePort();
  let out = '';
  const child = spawn(cmd, cmd.endsWith('.sh') ? [...args, '--port', String(port)] : [...args, '-p', String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += String(d)));
  child.stderr!.on('data', (d: Buffer) => (out += String(d)));
  await waitPort(port, child, () => out);
  return { port, child };
}

function stop(s: Server | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

function readSecrets(file: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe.skipIf(skip)('NATS authentication and per-role subject permissions (real nats-server)', () => {
  let dir: string;
  let secrets: Record<string, string>;
  let server: Server | undefined;
  let tlsServer: Server | undefined;
  let nkeyServer: Server | undefined;
  const buses: NatsBus[] = [];

  const url = (s: Server, scheme = 'nats') => `${scheme}://127.0.0.1:${s.port}`;

  async function as(role: string, s: Server = server!, extraEnv: NodeJS.ProcessEnv = {}) {
    const errors: string[] = [];
    const bus = await NatsBus.connect({
      servers: url(s),
      name: `test-${role}`,
      connectTimeoutMs: 3000,
      security: natsSecurityFrom({}, { ...roleEnv(role), ...extraEnv }),
      onServerError: (e) => errors.push(e.message),
    });
    buses.push(bus);
    return { bus, errors };
  }

  const roleEnv = (role: string) => ({
    KESTREL_NATS_USER: role,
    KESTREL_NATS_PASSWORD: secrets[`KESTREL_NATS_${role.toUpperCase().replace(/-/g, '_')}_PASSWORD`]!,
  });

  beforeAll(async () => {
    dir = tmpDir('nats-auth');
    const secretsFile = path.join(dir, 'secrets.env');
    execFileSync(path.join(repoRoot, 'scripts/nats-auth.sh'), ['--gen-secrets', secretsFile]);
    expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
    secrets = readSecrets(secretsFile);
    // Passwords are parsed by nats-server as config values: one starting with a digit, and shell and
    // config metacharacters, must still work (the script quotes them).
    secrets.KESTREL_NATS_OPERATOR_PASSWORD = "3141 op#pw $x {y}; 'z'";
    fs.writeFileSync(
      secretsFile,
      Object.entries(secrets)
        .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`)
        .join('\n') + '\n',
    );
    server = await startServer(['--secrets-file', secretsFile, '--store', path.join(dir, 'js')]);
  }, 20_000);

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    await stop(server);
    await stop(tlsServer);
    await stop(nkeyServer);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a connection without credentials and one with a wrong password', async () => {
    await expect(NatsBus.connect({ servers: url(server!), connectTimeoutMs: 3000 })).rejects.toThrow(/authorization/i);
    await expect(
      NatsBus.connect({
        servers: url(server!),
        connectTimeoutMs: 3000,
        security: { auth: { kind: 'user', user: 'executor', password: 'not-the-password' } },
      }),
    ).rejects.toThrow(/authorization/i);
    // The right password for another user is still wrong.
    await expect(
      NatsBus.connect({
        servers: url(server!),
        connectTimeoutMs: 3000,
        security: { auth: { kind: 'user', user: 'executor', password: secrets.KESTREL_NATS_OPERATOR_PASSWORD! } },
      }),
    ).rejects.toThrow(/authorization/i);
    // A password in the URL is masked in the error.
    const err = await NatsBus.connect({
      servers: `nats://executor:leaky-password@127.0.0.1:${server!.port}`,
      connectTimeoutMs: 3000,
    }).catch((e: Error) => e);
    expect(String(err)).not.toContain('leaky-password');
  });

  it('an ingestion identity cannot publish orders, acks or control commands; the executor and gateway can', async () => {
    const seen: string[] = [];
    const { bus: operator } = await as('operator');
    operator.subscribe(
      '>',
      (m: BusMessage) => void (m.subject.startsWith('_INBOX') || m.subject.startsWith('$JS') ? 0 : seen.push(m.subject)),
    );
    await operator.flush();

    const { bus: ingestion, errors: ingErrors } = await as('ingestion');
    const forged = [
      'ord.req.binance',
      'ord.ack.binance',
      'ctl.kill',
      'ctl.resume',
      'ctl.flatten',
      'replay.ord.req.binance',
      'sig.core.BTC-USDT',
    ];
    for (const s of forged) ingestion.publish(s, new Uint8Array([1]));
    ingestion.publish('md.norm.binance.BTC-USDT', new Uint8Array([2])); // its own job: allowed
    await ingestion.flush();
    await settle();
    expect(seen).toEqual(['md.norm.binance.BTC-USDT']);
    // The server told the offender, once per refused publish (nats.js reports the code, not the subject).
    expect(ingErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(forged.length);

    seen.length = 0;
    const { bus: executor, errors: exErrors } = await as('executor');
    const { bus: gateway } = await as('gateway');
    const atGateway: string[] = [];
    gateway.subscribe('ord.req.*', (m) => void atGateway.push(m.subject));
    await gateway.flush();
    executor.publish('ord.req.binance', new Uint8Array([3]));
    executor.publish('ord.ack.binance', new Uint8Array([4])); // a forged fill: refused
    gateway.publish('ord.ack.binance', new Uint8Array([5]));
    await executor.flush();
    await gateway.flush();
    await settle();
    expect(atGateway).toEqual(['ord.req.binance']);
    expect(seen.sort()).toEqual(['ord.ack.binance', 'ord.req.binance']);
    expect(exErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(1);
  });

  it('a replay identity reaches only replay.* subjects, and live identities no replay.* ones', async () => {
    const seen: string[] = [];
    const { bus: operator } = await as('operator');
    const sub = operator.subscribe(
      '>',
      (m: BusMessage) => void (m.subject.startsWith('_INBOX') || m.subject.startsWith('$JS') ? 0 : seen.push(m.subject)),
    );
    await operator.flush();
    const { bus: replay, errors: replayErrors } = await as('replay');
    const { bus: executor, errors: exErrors } = await as('executor');
    for (const s of ['ord.req.binance', 'ctl.flatten', 'ctl.kill', 'venue.health.binance', 'risk.limits'])
      replay.publish(s, new Uint8Array([1]));
    replay.publish('replay.ord.req.binance', new Uint8Array([2]));
    replay.publish('replay.ctl.flatten', new Uint8Array([2]));
    executor.publish('replay.ord.req.binance', new Uint8Array([3]));
    await replay.flush();
    await executor.flush();
    await settle();
    sub.unsubscribe();
    expect(seen).toEqual(['replay.ord.req.binance', 'replay.ctl.flatten']);
    expect(replayErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(5);
    expect(exErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(1);
    // Its control audit reaches its own stream replay_audit (events flagged replay), never the live one.
    const sink = await JetStreamAuditSink.open(replay.connection, 'replay');
    const audit = await ControlAudit.open(sink, 'replay-executor', true, new SystemClock());
    await audit.record(create(ControlCommandSchema, { command: 'kill', operator: 'replay', reason: 'test' }), 'bus', 'applied');
    const last = (await sink.readAll()).at(-1)!;
    expect([last.service.split('/')[0], last.replay, last.eventType]).toEqual(['replay-executor', true, 'control']);
    expect(replayErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(5);
  });

  it('only the operator may publish ctl.resume (resume, clear_halt); the risk gateway may kill; replies flow', async () => {
    const { bus: executor } = await as('executor');
    const got: string[] = [];
    const sub = executor.subscribe('ctl.*', (m) => {
      got.push(m.subject);
      if (m.reply) m.respond(new Uint8Array([9]));
    });
    await executor.flush();
    const { bus: risk, errors: riskErrors } = await as('risk');
    const { bus: operator } = await as('operator');
    const { bus: session, errors: sessionErrors } = await as('session');
    risk.publish('ctl.resume', new Uint8Array([1]));
    session.publish('ctl.resume', new Uint8Array([1]));
    risk.publish('ctl.kill', new Uint8Array([1]));
    await risk.flush();
    await session.flush();
    await settle();
    expect(got).toEqual(['ctl.kill']);
    expect(riskErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(1);
    expect(sessionErrors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(1);
    // Request-reply across identities: the executor answers the operator on its inbox.
    const reply = await operator.request('ctl.resume', new Uint8Array([1]), { timeoutMs: 2000 });
    expect([...reply.data]).toEqual([9]);
    expect(got).toEqual(['ctl.kill', 'ctl.resume']);
    // Later tests send real ControlCommands on ctl.*: this stand-in must not answer them.
    sub.unsubscribe();
    await executor.flush();
  });

  it('the risk identity manages and publishes to its own stream only; the replay identity to its replay streams', async () => {
    const { bus: risk } = await as('risk');
    const streams = await ensureStreams(risk, 'live', { keys: ['risk'] });
    const r = await risk.publishDurable(subjects.riskBreach('live'), new Uint8Array([1]), { msgId: 'b-1' });
    expect(r).toMatchObject({ stream: 'risk', duplicate: false });
    expect(streams.states.map((st) => st.name)).toEqual(['risk']);
    await expect(ensureStreams(risk, 'live', { keys: ['ord'] })).rejects.toThrow();
    // Leave the live stream empty: the executor test below would otherwise (rightly) audit this breach.
    const { bus: session } = await as('session');
    await (await session.connection.jetstreamManager()).streams.purge('risk');
    const { bus: replay } = await as('replay');
    const rs = await ensureStreams(replay, 'replay', { keys: ['ord', 'risk', 'audit'] });
    const c = await replay.consumeDurable(rs.name('risk'), 'audit_risk_breach', () => undefined, {
      filterSubject: subjects.riskBreach('replay'),
    });
    await replay.publishDurable(subjects.riskBreach('replay'), new Uint8Array([2]), { msgId: 'rb-1' });
    await eventually(
      async () => {
        const l = await c.lag();
        return l.numPending === 0 && l.numAckPending === 0;
      },
      5000,
      'replay breach consumed and acked',
      20,
    );
    await c.stop();
  });

  it('reads the password from an owner-only *_FILE and refuses a group/world-readable one', async () => {
    const file = path.join(dir, 'executor.pw');
    fs.writeFileSync(file, `${secrets.KESTREL_NATS_EXECUTOR_PASSWORD}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(() => natsSecurityFrom({}, { KESTREL_NATS_USER: 'executor', KESTREL_NATS_PASSWORD_FILE: file })).toThrow(SecretError);
    fs.chmodSync(file, 0o600);
    const bus = await NatsBus.connect({
      servers: url(server!),
      security: natsSecurityFrom({ auth: { user: 'executor' } }, { KESTREL_NATS_PASSWORD_FILE: file }),
    });
    buses.push(bus);
    await bus.flush();
  });

  it('connects over TLS with a self-signed server certificate given as CA, and not without it', async () => {
    const cert = path.join(dir, 'server.pem');
    const key = path.join(dir, 'server.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    fs.chmodSync(key, 0o600);
    tlsServer = await startServer(['--tls-cert', cert, '--tls-key', key], { ...process.env, ...secrets });
    const { bus, errors } = await as('executor', tlsServer, { KESTREL_NATS_TLS_CA: cert });
    const echo: string[] = [];
    bus.subscribe('md.norm.>', (m) => void echo.push(m.subject));
    const { bus: ing } = await as('ingestion', tlsServer, { KESTREL_NATS_TLS_CA: cert });
    await bus.flush();
    ing.publish('md.norm.okx.BTC-USDT', new Uint8Array([1]));
    await ing.flush();
    await settle();
    expect(echo).toEqual(['md.norm.okx.BTC-USDT']);
    expect(errors).toEqual([]);
    // Without the CA the self-signed certificate is not trusted: no connection.
    await expect(as('executor', tlsServer)).rejects.toThrow();
    // The server announces TLS as required: no client can stay on plain TCP.
    const sock = net.connect(tlsServer.port, '127.0.0.1');
    const info = await new Promise<string>((resolve) => sock.once('data', (d) => resolve(String(d))));
    sock.destroy();
    expect(info).toMatch(/"tls_required":true/);
  });

  it('authenticates with an nkey (the seed signs the server nonce and never leaves the process)', async () => {
    const user = nkeys.createUser();
    const pub = user.getPublicKey();
    const seed = new TextDecoder().decode(user.getSeed());
    const conf = path.join(dir, 'nkey.conf');
    fs.writeFileSync(
      conf,
      `authorization { users = [ { nkey: ${pub}, permissions: { publish: { allow: ["md.>"] }, subscribe: { allow: ["md.>"] } } } ] }\n`,
    );
    nkeyServer = await startServer(['-c', conf, '-a', '127.0.0.1'], process.env, 'nats-server');
    const errors: string[] = [];
    const bus = await NatsBus.connect({
      servers: url(nkeyServer),
      security: natsSecurityFrom({}, { KESTREL_NATS_NKEY_SEED: seed }),
      onServerError: (e) => errors.push(e.message),
    });
    buses.push(bus);
    const got: string[] = [];
    bus.subscribe('md.>', (m) => void got.push(m.subject));
    bus.publish('md.norm.kraken.BTC-USD', new Uint8Array([1]));
    bus.publish('ord.req.kraken', new Uint8Array([1]));
    await bus.flush();
    await settle();
    expect(got).toEqual(['md.norm.kraken.BTC-USD']);
    expect(errors.filter((e) => /PERMISSIONS_VIOLATION/.test(e))).toHaveLength(1);
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    await expect(
      NatsBus.connect({
        servers: url(nkeyServer),
        connectTimeoutMs: 3000,
        security: natsSecurityFrom({}, { KESTREL_NATS_NKEY_SEED: other }),
      }),
    ).rejects.toThrow(/authorization/i);
  });

  it('the shipped identities run the system: the executor process (with its gateways) and the control plane', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.message);
    process.on('warning', onWarning);
    const sim = await new BinancePrivateSim({ symbols: [RULES], balances: { USDT: 1e6, BTC: 10 }, credentials: CREDS }).start();
    const walDir = path.join(dir, 'exec-wal');
    const exec = await startExecutorProcess(
      {
        nats: url(server!),
        executor: { mode: 'live', namespace: 'live', walDir },
        venues: [{ spec: toJson(VenueSpecSchema, binanceSpec()), wsUrl: sim.wsUrl, restUrl: sim.url }],
        baseline: { binance: { BTC: 10 } },
        reconcileIntervalMs: 0,
      },
      { ...roleEnv('executor-gateway'), KESTREL_BINANCE_API_KEY: CREDS.apiKey, KESTREL_BINANCE_API_SECRET: CREDS.apiSecret },
    );
    try {
      const { bus: operator } = await as('operator');
      const { bus: risk } = await as('risk');
      // The risk side kills (allowed), a resume cannot clear it, the operator's clear_halt does.
      await sendControl(risk, 'live', { command: 'kill', haltCause: 'risk', operator: 'risk-gateway', reason: 'test' }, systemClock);
      expect(exec.executor.isHalted).toBe(true);
      await expect(sendControl(operator, 'live', { command: 'resume', operator: 'alice' }, systemClock)).rejects.toThrow(/risk halt/);
      await sendControl(operator, 'live', { command: 'clear_halt', haltCause: 'risk', operator: 'alice', reason: 'reviewed' }, systemClock);
      expect(exec.executor.isHalted).toBe(false);
      const audit = FileAuditSink.readAll(path.join(walDir, 'control-audit.log'));
      expect(audit.map((e) => e.metadata.outcome)).toEqual(['applied', 'refused', 'applied']);
      expect(warnings.filter((w) => /PERMISSIONS_VIOLATION/.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await exec.stop();
      await sim.stop();
    }
  });

  it('positions, audit and recorder run under their own identities, each refused what it does not need', async () => {
    const run = path.join(dir, 'roles');
    fs.mkdirSync(run, { recursive: true });
    const cfg = writeServiceConfig(path.join(run, 'kestrel.yaml'), {
      bus: { nats_url: url(server!) },
      audit: { file: path.join(run, 'archive', 'audit.log') },
      services: { positions: { admin_port: 0 }, audit: { admin_port: 0 } },
    });
    // The trail and the fills history, written by the identities that own them: events into stream
    // audit by the executor, a fill ack into stream ord by the gateway (before positions starts, so
    // it comes back from the stream, not from the live subject).
    const { bus: executor } = await as('executor');
    const trail = await AuditLog.open(await JetStreamAuditSink.open(executor.connection, 'live'), {
      service: 'roles-test',
      replay: false,
      clock: systemClock,
    });
    for (let i = 0; i < 20; i++)
      trail.record(
        'control',
        `r${i}`,
        pack(ControlCommandSchema, create(ControlCommandSchema, { command: 'pause', reason: `event ${i}` })),
      );
    await trail.flush();
    const { bus: gateway } = await as('gateway');
    const ord = await DurableStreams.ensure(gateway, 'live', { keys: ['ord'] });
    const ack = create(OrderAckSchema, {
      clientId: 'ROLES-1',
      venue: 'binance',
      symbol: 'BTC-USDT',
      side: Side.BUY,
      status: OrderStatus.FILLED,
      filledQty: 0.5,
      avgPrice: 100,
      lastFillQty: 0.5,
      lastFillPrice: 100,
      accepted: true,
      tsNs: BigInt(Date.now()) * 1_000_000n,
    });
    ord.publish(subjects.orderAck('binance', 'live'), toBinary(OrderAckSchema, ack), 'ROLES-1:fill');
    await gateway.flush();
    await eventually(async () => (await gateway.streamInfo(ord.name('ord'))).messages >= 1, 10_000, 'ack stored');

    const positions = kestrel(['run', 'positions', '--config', cfg], roleEnv('positions'));
    const audit = kestrel(['run', 'audit', '--config', cfg], roleEnv('audit'));
    try {
      const replayed = await positions.line(
        /"event":"ready".*"replayed":(\d+).*"adminUrl":"([^"]+)"|"event":"ready".*"adminUrl":"([^"]+)".*"replayed":(\d+)/,
        60_000,
      );
      const posUrl = replayed[2] ?? replayed[3]!;
      expect(Number(replayed[1] ?? replayed[4])).toBe(1);
      type PosState = { state: { positions?: Array<{ venue: string; symbol: string; quantity: number }> } };
      const st = ((await (await fetch(`${posUrl}/admin/state`)).json()) as PosState).state;
      expect(st.positions?.find((p) => p.symbol === 'BTC-USDT')?.quantity).toBeCloseTo(0.5, 12);
      await audit.line(/"event":"ready"/, 60_000);
      await eventually(
        () =>
          fs.existsSync(path.join(run, 'archive', 'audit.log')) &&
          FileAuditSink.readAll(path.join(run, 'archive', 'audit.log')).length >= 20,
        30_000,
        'audit archived the trail',
      );
      for (const p of [positions, audit]) {
        p.child.kill('SIGTERM');
        expect(await p.exited, p.stderr().slice(-1500)).toBe(0);
        expect(p.stderr()).not.toMatch(/PERMISSIONS_VIOLATION|Permissions Violation/i);
      }
    } finally {
      for (const p of [positions, audit]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await trail.close();
    }

    // What each may not do, refused by the server: positions cannot send orders or write stream ord,
    // audit cannot add to the trail it archives, the recorder publishes nothing but reads md.norm.
    const refused = async (role: string, subject: string) => {
      const { bus, errors } = await as(role);
      bus.publish(subject, new Uint8Array([1]));
      await bus.flush();
      await eventually(() => errors.some((e) => /PERMISSIONS_VIOLATION/.test(e)), 5_000, `${role} refused ${subject}`);
    };
    await refused('positions', subjects.orderReq('binance', 'live'));
    await refused('positions', subjects.orderAck('binance', 'live'));
    await refused('audit', 'audit.control');
    await refused('recorder', subjects.mdNorm('binance', 'BTC-USDT', 'live'));
    const { bus: recorder, errors: recErrors } = await as('recorder');
    const got: string[] = [];
    recorder.subscribe('md.norm.>', (m: BusMessage) => void got.push(m.subject));
    await recorder.flush();
    const { bus: ingestion } = await as('ingestion');
    ingestion.publish(subjects.mdNorm('binance', 'BTC-USDT', 'live'), new Uint8Array([1]));
    await ingestion.flush();
    await eventually(() => got.length === 1, 5_000, 'the recorder reads md.norm');
    expect(recErrors).toEqual([]);
  }, 150_000);

  it('the single-process session runs over the auth server as `session`', async () => {
    const run = path.join(dir, 'session');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/main.ts'),
        'start',
        '--json',
        '--max-ticks',
        '20000',
        '--bus',
        'nats',
        '--set',
        `bus.nats_url=${url(server!)}`,
        '--set',
        'admin.port=-1',
        // This test needs orders on the wire, not a trading result: a slower replay and a lower entry
        // threshold keep a loaded CI machine from ending the run with no signal or only risk timeouts.
        '--set',
        'session.speed=50',
        '--set',
        'strategy.confidence_threshold=0.2',
        '--set',
        `execution.wal_dir=${path.join(run, 'wal')}`,
        '--set',
        `storage.capture_dir=${path.join(run, 'capture')}`,
      ],
      { cwd: repoRoot, env: { ...process.env, ...roleEnv('session'), KESTREL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr.slice(-1500)).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { orders: { sent: number } };
    expect(summary.orders.sent, stdout).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/PERMISSIONS_VIOLATION/);
  }, 120_000);
});
