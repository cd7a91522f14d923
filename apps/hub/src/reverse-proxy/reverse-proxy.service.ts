import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { bareVmId, type HttpRoute, type ReverseProxyConfig, type TcpRoute } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { openSecret, sealSecret } from '../crypto/secret-box';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { NotFoundError, ValidationFailedError } from '../http/errors';
import { withUniqueName } from '../http/unique-names';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { JobPayloadFillers } from '../jobs/job-payload-fillers';
import { actorOf } from '../jobs/operation-actor';
import type { OperationActor, OperationEntity } from '../jobs/operation.entity';
import { NodesService } from '../nodes/nodes.service';
import { REVERSE_PROXY_ERRORS } from './reverse-proxy.errors';
import { ReverseProxyHostEntity } from './reverse-proxy-host.entity';
import type {
  CreateHostBody,
  CreateRouteBody,
  CreateTcpRouteBody,
  UpdateHostBody,
  UpdateRouteBody,
  UpdateTcpRouteBody,
} from './reverse-proxy.schemas';

const aadOf = (id: string) => `reverse_proxy_hosts:${id}`;
const SYSTEM: OperationActor = { type: 'system', id: null, name: 'reverse-proxy' };
const WILDCARDS = new Set(['0.0.0.0', '::']);

interface Tls {
  cert_pem: string;
  key_pem: string;
}

/** The certificate's fingerprint and expiry; 400 when it is unreadable or the key is not its own. */
function checkTls(tls: Tls): { fingerprint: string; notAfter: Date } {
  try {
    const cert = new X509Certificate(tls.cert_pem);
    const key = createPrivateKey(tls.key_pem);
    if (!cert.checkPrivateKey(key)) throw new Error('the key does not belong to the certificate');
    return { fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo) };
  } catch (err) {
    // The reason, never the PEM: the key must not reach an answer or a log.
    const reason = (err as Error).message.split('\n')[0].slice(0, 200);
    throw REVERSE_PROXY_ERRORS.invalid_certificate.error(`the TLS certificate or key is not usable: ${reason}`, {
      field: 'tls',
    });
  }
}

function overlaps(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

/**
 * The reverse-proxy hosts of nodes, stored per organization; every change queues a
 * `reverse_proxy.apply` operation for the node. Its operation row keeps the configuration
 * without TLS keys; at delivery the job carries the node's *current* desired configuration with
 * the keys opened (so a late or repeated delivery never serves an older one). A node that
 * connects again is sent its configuration too.
 */
@Injectable()
export class ReverseProxyService implements OnModuleInit {
  private readonly repo: Repository<ReverseProxyHostEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly nodes: NodesService,
    private readonly jobs: JobDispatcher,
    private readonly fillers: JobPayloadFillers,
    private readonly domainEvents: DomainEventBus,
  ) {
    this.repo = db.getRepository(ReverseProxyHostEntity);
  }

  onModuleInit(): void {
    this.fillers.register('reverse_proxy.apply', ({ orgId, nodeId }) =>
      this.desired(this.repo.manager, orgId, nodeId, true),
    );
    this.domainEvents.on('agent.ready', ({ orgId, nodeId }) => {
      void this.repo
        .countBy({ orgId, nodeId })
        .then((n) => (n > 0 ? this.push(orgId, nodeId, SYSTEM) : null))
        .catch(() => undefined);
    });
  }

  async list(p: Principal, nodeId: string): Promise<ReverseProxyHostEntity[]> {
    const node = await this.nodes.get(p, nodeId);
    return this.repo.find({ where: { orgId: node.orgId, nodeId: node.id }, order: { createdAt: 'ASC' } });
  }

  async get(p: Principal, nodeId: string, hostId: string): Promise<ReverseProxyHostEntity> {
    const node = await this.nodes.get(p, nodeId);
    const h = await this.repo.findOneBy({ orgId: node.orgId, nodeId: node.id, id: hostId });
    if (!h) throw new NotFoundError(`reverse-proxy host ${hostId}`);
    return h;
  }

  async create(p: Principal, nodeId: string, body: CreateHostBody) {
    const node = await this.nodes.get(p, nodeId);
    const id = randomUUID();
    const tls = body.tls ? checkTls(body.tls) : null;
    return this.change(p, node.orgId, node.id, null, async (m) => {
      const row = m.create(ReverseProxyHostEntity, {
        id,
        orgId: node.orgId,
        nodeId: node.id,
        name: body.name,
        enabled: body.enabled,
        listenHost: body.listen_host,
        listenPort: body.listen_port,
        tlsSealed: body.tls ? this.seal(id, body.tls) : null,
        tlsFingerprint: tls?.fingerprint ?? null,
        tlsNotAfter: tls?.notAfter ?? null,
        cors: body.cors,
        timeoutMs: body.timeout_ms,
        generation: 0,
        routes: [],
        tcpRoutes: [],
        createdBy: p.userId,
      });
      return row;
    });
  }

  async update(p: Principal, nodeId: string, hostId: string, body: UpdateHostBody) {
    const tls = body.tls ? checkTls(body.tls) : null;
    return this.changeHost(p, nodeId, hostId, (h) => {
      if (body.name !== undefined) h.name = body.name;
      if (body.listen_host !== undefined) h.listenHost = body.listen_host;
      if (body.listen_port !== undefined) h.listenPort = body.listen_port;
      if (body.cors !== undefined) h.cors = body.cors;
      if (body.timeout_ms !== undefined) h.timeoutMs = body.timeout_ms;
      if (body.tls !== undefined) {
        h.tlsSealed = body.tls ? this.seal(h.id, body.tls) : null;
        h.tlsFingerprint = tls?.fingerprint ?? null;
        h.tlsNotAfter = tls?.notAfter ?? null;
      }
    });
  }

  async remove(p: Principal, nodeId: string, hostId: string): Promise<OperationEntity> {
    const h = await this.get(p, nodeId, hostId);
    await this.db.transaction(async (m) => {
      await this.lockNode(m, h.nodeId);
      await m.delete(ReverseProxyHostEntity, { id: h.id, orgId: h.orgId });
    });
    return this.push(h.orgId, h.nodeId, actorOf(p));
  }

  /** enable, disable, restart (a new generation: the agent closes and reopens the listener). */
  action(p: Principal, nodeId: string, hostId: string, action: 'enable' | 'disable' | 'restart') {
    return this.changeHost(p, nodeId, hostId, (h) => {
      if (action === 'enable') h.enabled = true;
      else if (action === 'disable') h.enabled = false;
      else h.generation += 1;
    });
  }

  addRoute(p: Principal, nodeId: string, hostId: string, body: CreateRouteBody) {
    const route: HttpRoute = {
      id: randomUUID(),
      path_pattern: body.path_pattern,
      target_vm_id: body.target_vm_id ? bareVmId(body.target_vm_id) : null,
      target_host: body.target_host ?? null,
      target_port: body.target_port,
      request_headers: body.request_headers ?? { add: {}, remove: [] },
      response_headers: body.response_headers ?? { add: {}, remove: [] },
      forwarded_headers: body.forwarded_headers,
    };
    return this.changeHost(p, nodeId, hostId, (h) => {
      const routes = [...h.routes];
      routes.splice(body.position ?? routes.length, 0, route);
      if (routes.length > 256)
        throw new ValidationFailedError('route', [{ path: 'routes', message: 'a host has at most 256 routes' }]);
      h.routes = routes;
    });
  }

  updateRoute(p: Principal, nodeId: string, hostId: string, routeId: string, body: UpdateRouteBody) {
    return this.changeHost(p, nodeId, hostId, (h) => {
      const at = h.routes.findIndex((r) => r.id === routeId);
      if (at < 0) throw new NotFoundError(`route ${routeId}`);
      const r = { ...h.routes[at] };
      if (body.path_pattern !== undefined) r.path_pattern = body.path_pattern;
      if (body.target_port !== undefined) r.target_port = body.target_port;
      if (body.request_headers !== undefined) r.request_headers = body.request_headers;
      if (body.response_headers !== undefined) r.response_headers = body.response_headers;
      if (body.forwarded_headers !== undefined) r.forwarded_headers = body.forwarded_headers;
      retarget(r, body);
      const routes = h.routes.filter((x) => x.id !== routeId);
      routes.splice(body.position ?? at, 0, r);
      h.routes = routes;
    });
  }

  removeRoute(p: Principal, nodeId: string, hostId: string, routeId: string) {
    return this.changeHost(p, nodeId, hostId, (h) => {
      if (!h.routes.some((r) => r.id === routeId)) throw new NotFoundError(`route ${routeId}`);
      h.routes = h.routes.filter((r) => r.id !== routeId);
    });
  }

  addTcpRoute(p: Principal, nodeId: string, hostId: string, body: CreateTcpRouteBody) {
    const route: TcpRoute = {
      id: randomUUID(),
      listen_port: body.listen_port,
      target_vm_id: body.target_vm_id ? bareVmId(body.target_vm_id) : null,
      target_host: body.target_host ?? null,
      target_port: body.target_port,
    };
    return this.changeHost(p, nodeId, hostId, (h) => {
      if (h.tcpRoutes.length >= 64)
        throw new ValidationFailedError('TCP route', [
          { path: 'tcp_routes', message: 'a host has at most 64 TCP routes' },
        ]);
      h.tcpRoutes = [...h.tcpRoutes, route];
    });
  }

  updateTcpRoute(p: Principal, nodeId: string, hostId: string, routeId: string, body: UpdateTcpRouteBody) {
    return this.changeHost(p, nodeId, hostId, (h) => {
      const r = h.tcpRoutes.find((x) => x.id === routeId);
      if (!r) throw new NotFoundError(`TCP route ${routeId}`);
      const next = { ...r };
      if (body.listen_port !== undefined) next.listen_port = body.listen_port;
      if (body.target_port !== undefined) next.target_port = body.target_port;
      retarget(next, body);
      h.tcpRoutes = h.tcpRoutes.map((x) => (x.id === routeId ? next : x));
    });
  }

  removeTcpRoute(p: Principal, nodeId: string, hostId: string, routeId: string) {
    return this.changeHost(p, nodeId, hostId, (h) => {
      if (!h.tcpRoutes.some((r) => r.id === routeId)) throw new NotFoundError(`TCP route ${routeId}`);
      h.tcpRoutes = h.tcpRoutes.filter((r) => r.id !== routeId);
    });
  }

  private seal(id: string, tls: Tls): string {
    return sealSecret(this.config.secrets.encryptionKey, JSON.stringify(tls), aadOf(id));
  }

  private async changeHost(p: Principal, nodeId: string, hostId: string, edit: (h: ReverseProxyHostEntity) => void) {
    const node = await this.nodes.get(p, nodeId);
    return this.change(p, node.orgId, node.id, hostId, async (m) => {
      const h = await m.findOneBy(ReverseProxyHostEntity, { orgId: node.orgId, nodeId: node.id, id: hostId });
      if (!h) throw new NotFoundError(`reverse-proxy host ${hostId}`);
      edit(h);
      return h;
    });
  }

  /**
   * One change of a node's hosts under the node's lock (ports are checked against every other
   * listener of the node), then the apply operation.
   */
  private async change(
    p: Principal,
    orgId: string,
    nodeId: string,
    hostId: string | null,
    edit: (m: EntityManager) => Promise<ReverseProxyHostEntity>,
  ): Promise<{ host: ReverseProxyHostEntity; operation: OperationEntity }> {
    const host = await withUniqueName(
      () =>
        this.db.transaction(async (m) => {
          await this.lockNode(m, nodeId);
          const h = await edit(m);
          const others = await m.findBy(ReverseProxyHostEntity, { orgId, nodeId });
          checkPorts([...others.filter((o) => o.id !== (hostId ?? h.id)), h]);
          return m.save(h);
        }),
      'a reverse-proxy host of that name already exists on this node',
    );
    const operation = await this.push(orgId, nodeId, actorOf(p));
    return { host, operation };
  }

  private async lockNode(m: EntityManager, nodeId: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('reverse_proxy:' || $1))`, [nodeId]);
  }

  /** Queues the node's full desired configuration (without keys; they join at delivery). */
  private async push(orgId: string, nodeId: string, actor: OperationActor): Promise<OperationEntity> {
    const payload = await this.desired(this.repo.manager, orgId, nodeId, false);
    return this.jobs.enqueue(
      { orgId, nodeId, actor, resources: [`/v1/nodes/${nodeId}`, `/v1/nodes/${nodeId}/reverse-proxy`] },
      { kind: 'reverse_proxy.apply', payload },
    );
  }

  private async desired(
    m: EntityManager,
    orgId: string,
    nodeId: string,
    withKeys: boolean,
  ): Promise<ReverseProxyConfig> {
    const rows = await m.find(ReverseProxyHostEntity, { where: { orgId, nodeId }, order: { createdAt: 'ASC' } });
    return {
      hosts: rows.map((h) => ({
        id: h.id,
        name: h.name,
        enabled: h.enabled,
        listen_host: h.listenHost,
        listen_port: h.listenPort,
        tls:
          withKeys && h.tlsSealed
            ? (JSON.parse(openSecret(this.config.secrets.encryptionKey, h.tlsSealed, aadOf(h.id))) as Tls)
            : null,
        tls_fingerprint: h.tlsFingerprint,
        cors: h.cors,
        timeout_ms: h.timeoutMs,
        generation: h.generation,
        routes: h.routes,
        tcp_routes: h.tcpRoutes,
      })),
    };
  }
}

function retarget(
  r: { target_vm_id: string | null; target_host: string | null },
  body: { target_vm_id?: string | null; target_host?: string | null },
): void {
  if (body.target_vm_id) {
    r.target_vm_id = bareVmId(body.target_vm_id);
    r.target_host = null;
  } else if (body.target_host) {
    r.target_host = body.target_host;
    r.target_vm_id = null;
  }
}

/** 409 when two listeners of a node would share an address and port (a wildcard address overlaps all). */
function checkPorts(hosts: ReverseProxyHostEntity[]): void {
  const listeners = hosts.flatMap((h) => [
    { host: h.listenHost, port: h.listenPort, what: `host "${h.name}"` },
    ...h.tcpRoutes.map((r) => ({ host: h.listenHost, port: r.listen_port, what: `a TCP route of "${h.name}"` })),
  ]);
  for (let i = 0; i < listeners.length; i++)
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i];
      const b = listeners[j];
      if (a.port === b.port && overlaps(a.host, b.host))
        throw REVERSE_PROXY_ERRORS.port_taken.error(
          `port ${a.port} is used twice on this node: by ${a.what} and by ${b.what}`,
          { port: a.port },
        );
    }
}
