import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Namespace, ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { loadConfig } from '../src/config/load-config';

const REPO = join(__dirname, '../../../..');
const K8S = join(REPO, 'deploy/kubernetes');
const HUB_DIST = join(REPO, 'apps/hub/dist/src');

/** The classes whose validate() checks an object against the Kubernetes OpenAPI schema of its kind. */
const MODELS: Record<string, { new (data: any): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: any };

function kubernetesObjects(): Manifest[] {
  const kustomization = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const listed = [...kustomization.resources].sort();
  const files = readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort();
  assert.deepEqual(listed, files, 'kustomization.yaml lists every manifest');
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${f} is valid YAML`);
      return doc.toJS() as Manifest;
    }),
  );
}

/** Placeholders replaced by values of the right shape, as an operator fills them in. */
function filledIn(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  // Keys want base64; inside a URL (a password) base64's '/' and '+' would break it, so hex there.
  for (const [k, v] of Object.entries(env))
    out[k] = v.replace(/CHANGE-ME/g, randomBytes(32).toString(v.includes('://') ? 'hex' : 'base64'));
  return out;
}

describe('deployment manifests: Kubernetes objects and compose.yaml', () => {
  it('every Kubernetes object validates against the schema of its kind', () => {
    const objects = kubernetesObjects();
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ConfigMap',
      'Deployment',
      'Job',
      'Namespace',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(Model, `a schema for ${o.apiVersion} ${o.kind}`);
      assert.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
    }
    // The validator is not lenient: a port given as a string is refused.
    const broken = structuredClone(objects.find((o) => o.kind === 'Deployment')!);
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    assert.throws(() => new Deployment(broken).validate(), /containerPort must be integer/);
  });

  it('the Deployment runs N non-root replicas, ready on /health/ready, and its Service selects them', () => {
    const objects = kubernetesObjects();
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const service = objects.find((o) => o.kind === 'Service')!;
    const pod = deployment.spec.template.spec;
    const hub = pod.containers.find((c: any) => c.name === 'hub');
    assert.ok(deployment.spec.replicas >= 2);
    assert.equal(hub.readinessProbe.httpGet.path, '/health/ready');
    assert.equal(hub.livenessProbe.httpGet.path, '/health/live');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    for (const [k, v] of Object.entries(service.spec.selector))
      assert.equal(deployment.spec.template.metadata.labels[k], v);
    assert.equal(service.spec.ports[0].targetPort, 'http');
    assert.ok(hub.ports.some((p: any) => p.name === 'http' && p.containerPort === 8080));
    // The programs the Job and the init container run exist in the hub's build.
    const job = objects.find((o) => o.kind === 'Job')!;
    const [node, script, command] = job.spec.template.spec.containers[0].command;
    assert.equal(node, 'node');
    assert.equal(command, 'up');
    assert.ok(existsSync(join(REPO, 'apps/hub', script.replace(/^apps\/hub\//, ''))), script);
    // (deploy-image.test.ts runs the init container's command in the image)
    assert.match(pod.initContainers[0].command.join(' '), /migrate\.js', 'status'/);
  });

  it('the ConfigMap and Secret, filled in, are a configuration the hub accepts in production', () => {
    const objects = kubernetesObjects();
    const config = objects.find((o) => o.kind === 'ConfigMap')!.data as Record<string, string>;
    const secret = objects.find((o) => o.kind === 'Secret')!.stringData as Record<string, string>;
    const env = filledIn({ ...config, ...secret, HOSTPLANE_INTERNAL_URL: 'ws://10.1.2.3:8081' });
    const loaded = loadConfig({ env: { HOSTPLANE_ENV: 'production', ...env } });
    assert.equal(loaded.database.autoMigrate, false);
    assert.equal(loaded.http.publicUrl, config.HOSTPLANE_PUBLIC_URL);
    assert.deepEqual(loaded.relay.listen, { host: '0.0.0.0', port: 8081 });
    // Without the Secret the hub refuses to start, naming what is missing.
    assert.throws(() => loadConfig({ env: { HOSTPLANE_ENV: 'production', ...config } }), /HOSTPLANE_DATABASE_URL/);
  });

  it('compose.yaml: docker-compose accepts it; two hubs behind HAProxy, PostgreSQL and Redis with volumes and health checks', () => {
    const values = {
      HOSTPLANE_PUBLIC_URL: 'http://hub.example.com:8080',
      POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
      HOSTPLANE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HOSTPLANE_JWT_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    };
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
    const rendered = execFileSync('docker-compose', ['-f', join(REPO, 'deploy/compose.yaml'), 'config'], {
      env: { ...env, ...values },
      encoding: 'utf8',
    });
    const compose = parseYaml(rendered) as { services: Record<string, any>; volumes: Record<string, unknown> };
    assert.deepEqual(Object.keys(compose.services).sort(), ['hub1', 'hub2', 'lb', 'postgres', 'redis']);
    for (const [name, svc] of Object.entries(compose.services)) {
      assert.ok(svc.healthcheck?.test, `${name} has a health check`);
      assert.ok(svc.image.startsWith('hostplane/'), `${name} uses an image built here`);
    }
    assert.deepEqual(Object.keys(compose.volumes).sort(), ['postgres-data', 'redis-data']);
    assert.ok(compose.services.postgres.volumes.some((v: any) => /postgres-data/.test(JSON.stringify(v))));
    assert.ok(compose.services.redis.volumes.some((v: any) => /redis-data/.test(JSON.stringify(v))));
    assert.equal(compose.services.hub1.ports, undefined, 'only the load balancer is published');
    assert.equal(compose.services.hub1.depends_on.postgres.condition, 'service_healthy');
    // Each hub's environment is a production configuration the hub accepts.
    for (const hub of ['hub1', 'hub2']) {
      const loaded = loadConfig({ env: { HOSTPLANE_ENV: 'production', ...compose.services[hub].environment } });
      assert.equal(loaded.relay.internalUrl, `ws://${hub}:8081`);
    }
    // HAProxy balances over both hubs, checking /health/ready.
    const haproxy = readFileSync(join(REPO, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    assert.match(haproxy, /option httpchk GET \/health\/ready/);
    assert.match(haproxy, /server hub1 hub1:8080/);
    assert.match(haproxy, /server hub2 hub2:8080/);
    // A missing secret stops compose with the variable's name.
    const missing = spawnSync('docker-compose', ['-f', join(REPO, 'deploy/compose.yaml'), 'config'], {
      env: { ...env, ...values, HOSTPLANE_JWT_KEYS: '' },
      encoding: 'utf8',
    });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /set HOSTPLANE_JWT_KEYS/);
  });

  it('the hub image runs as a non-root user and is built from the local base only', () => {
    const dockerfile = readFileSync(join(REPO, 'deploy/docker/hub.Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM (.+)$/gm)].map((m) => m[1]);
    // multi-stage: the image on the local base, its check as the hub's user, the runtime image
    assert.deepEqual(froms, ['${BASE} AS hub', 'hub AS verify', 'hub']);
    assert.match(dockerfile, /^ARG BASE=hostplane\/node-base:host$/m);
    assert.match(dockerfile, /^USER 10001:10001$/m);
    assert.match(dockerfile, /^COPY --from=verify /m);
    assert.ok(existsSync(join(HUB_DIST, 'main.js')));
    // Both bases give the hub's user and tini (deploy-image.test.ts builds on the host one).
    for (const script of ['node-base.sh', 'base-image.sh']) {
      const text = readFileSync(join(REPO, 'deploy/docker', script), 'utf8');
      assert.match(text, /hostplane:x:10001:10001|--uid 10001/, script);
      assert.match(text, /tini/, script);
    }
  });
});
