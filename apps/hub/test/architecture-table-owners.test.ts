import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Each table has one owning domain (docs/architecture.md, "Table owners"): only code in the
 * owner's folder of apps/hub/src writes it (INSERT/UPDATE/DELETE, or a TypeORM repository's
 * save/insert/update/delete/upsert/remove). Others ask the owner through its service, a
 * capability token or a domain event. Reads are free.
 */
const OWNERS: Record<string, string> = {
  users: 'users',
  organizations: 'organizations',
  organization_members: 'organizations',
  organization_invites: 'organizations',
  member_permissions: 'organizations',
  sessions: 'auth',
  refresh_tokens: 'auth',
  mfa_recovery_codes: 'auth',
  password_reset_tokens: 'auth',
  api_tokens: 'api-tokens',
  audit_logs: 'audit',
  idempotency_keys: 'idempotency',
  nodes: 'nodes',
  node_registration_tokens: 'nodes',
  revoked_agent_tokens: 'nodes',
  node_metrics: 'nodes',
  operations: 'jobs',
  event_outbox: 'events',
  allocations: 'allocations',
  workloads: 'workloads',
  instances: 'instances',
  instance_metrics: 'instances',
  migrations: 'instance-migrations',
  deployments: 'deployments',
  backups: 'backups',
  backup_storage_configs: 'backups',
  file_uploads: 'files',
  reverse_proxy_hosts: 'reverse-proxy',
  ephemeral_machines: 'ephemeral-machines',
};

/**
 * Writes outside the owner that predate this rule, each with the owner's blessing and a reason.
 * The test fails on any other, and on an entry here that no longer happens (remove it then).
 */
const KNOWN: { folder: string; table: string; why: string }[] = [
  {
    folder: 'access',
    table: 'api_tokens',
    why: "authentication touches a token's last_used_at (at most once a minute)",
  },
  { folder: 'auth', table: 'users', why: "MFA enrolment writes the user's TOTP secret and flags" },
  { folder: 'users', table: 'organizations', why: 'deleting a user removes the personal organizations only they own' },
  {
    folder: 'instance-migrations',
    table: 'nodes',
    why: 'the drain loop writes its progress into its part of nodes.drain',
  },
  {
    folder: 'instance-migrations',
    table: 'backups',
    why: 'a migration re-homes the backups it copied to the target node',
  },
];

const SRC = join(__dirname, '../../src');
const WRITE_METHODS = 'save|insert|update|delete|upsert|remove|softDelete|increment|decrement';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Write {
  file: string;
  folder: string;
  table: string;
  how: string;
}

function scan(): { writes: Write[]; entityTables: Map<string, string> } {
  const files = sources(SRC).map((path) => ({
    path,
    rel: relative(SRC, path).split(sep).join('/'),
    text: readFileSync(path, 'utf8'),
  }));
  // entity class → table, and service class → the table of its `repo`
  const entityTables = new Map<string, string>();
  for (const f of files) {
    for (const m of f.text.matchAll(/@Entity\('([a-z_]+)'\)\s*export class (\w+)/g)) entityTables.set(m[2]!, m[1]!);
  }
  const repoTableOfClass = new Map<string, string>();
  const repoTableOfFile = new Map<string, string>();
  for (const f of files) {
    const repo = /this\.repo = \w+\.getRepository\((\w+)\)/.exec(f.text);
    const table = repo && entityTables.get(repo[1]!);
    if (!table) continue;
    repoTableOfFile.set(f.rel, table);
    for (const c of f.text.matchAll(/export class (\w+)/g)) repoTableOfClass.set(c[1]!, table);
  }
  const writes: Write[] = [];
  for (const f of files) {
    const folder = f.rel.includes('/') ? f.rel.split('/')[0]! : '.';
    // Schema migrations shape every table; they are the database's, not a domain's.
    if (folder === 'database') continue;
    const add = (table: string | undefined, how: string) => {
      if (table && OWNERS[table] !== undefined) writes.push({ file: f.rel, folder, table, how });
    };
    // SQL, written upper case in this code base (comments say "update" in lower case).
    for (const m of f.text.matchAll(/\b(INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_][a-z0-9_]*)/g)) add(m[2], m[1]!);
    for (const m of f.text.matchAll(new RegExp(`getRepository\\((\\w+)\\)\\s*\\.(${WRITE_METHODS})\\(`, 'g')))
      add(entityTables.get(m[1]!), `repository ${m[2]}`);
    for (const m of f.text.matchAll(new RegExp(`this\\.repo\\.(${WRITE_METHODS})\\(`, 'g')))
      add(repoTableOfFile.get(f.rel), `repo.${m[1]}`);
    for (const m of f.text.matchAll(new RegExp(`this\\.(\\w+)\\.repo\\.(${WRITE_METHODS})\\(`, 'g'))) {
      const field = new RegExp(`(?:private|public|protected)?\\s*readonly ${m[1]}: (\\w+)`).exec(f.text);
      add(field ? repoTableOfClass.get(field[1]!) : undefined, `${m[1]}.repo.${m[2]}`);
    }
  }
  return { writes, entityTables };
}

describe('each table has one owning domain', () => {
  const { writes, entityTables } = scan();

  it('every table with an entity has a declared owner, and the owner is the entity’s folder', () => {
    for (const table of entityTables.values())
      assert.ok(OWNERS[table], `table ${table} has no owner in OWNERS (and docs/architecture.md)`);
  });

  it('finds the writes it looks for (the scan is not blind)', () => {
    const tables = new Set(writes.map((w) => w.table));
    for (const t of ['nodes', 'instances', 'operations', 'allocations', 'users', 'sessions'])
      assert.ok(tables.has(t), `no write to ${t} found at all`);
  });

  it('no domain writes another domain’s table', () => {
    const foreign = writes.filter(
      (w) => w.folder !== OWNERS[w.table] && !KNOWN.some((k) => k.folder === w.folder && k.table === w.table),
    );
    assert.deepEqual(
      foreign.map((w) => `${w.file}: ${w.how} ${w.table} (owned by ${OWNERS[w.table]})`),
      [],
      'write through the owner: its service, a capability token, or a domain event it reacts to',
    );
  });

  it('every known exception still happens (drop it from KNOWN once fixed)', () => {
    for (const k of KNOWN)
      assert.ok(
        writes.some((w) => w.folder === k.folder && w.table === k.table),
        `${k.folder} no longer writes ${k.table}`,
      );
  });
});
