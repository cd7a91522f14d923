import { importEgg } from './egg-import';
import { PAPER_EGG } from './paper-egg';
import {
  GiB,
  MiB,
  parseSpec,
  type WorkloadResources,
  type WorkloadSpec,
  type WorkloadSpecInput,
} from './workload.schemas';

/**
 * Ready-made workloads, by category. Sizes are starting points measured against what each
 * program needs at rest plus typical load, not maxima; the planner recommends among them.
 * Every template is parsed with the workload schema at load, so a broken one stops the hub.
 */

export const TEMPLATE_CATEGORIES = ['games', 'web', 'runtime', 'database'] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];
export const SIZE_NAMES = ['small', 'medium', 'large'] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

export interface TemplateSize {
  name: SizeName;
  resources: WorkloadResources;
  /** Variable defaults that go with this size (Redis' maxmemory). */
  variables?: Record<string, string>;
  note: string;
}

export interface WorkloadTemplate {
  id: string;
  category: TemplateCategory;
  name: string;
  description: string;
  default_size: SizeName;
  sizes: TemplateSize[];
  spec: WorkloadSpec;
}

function size(
  name: SizeName,
  cpu: number,
  memoryMiB: number,
  diskGiB: number,
  note: string,
  variables?: Record<string, string>,
): TemplateSize {
  return {
    name,
    resources: { cpu_cores: cpu, memory_bytes: memoryMiB * MiB, disk_bytes: diskGiB * GiB },
    note,
    ...(variables ? { variables } : {}),
  };
}

function template(
  t: Omit<WorkloadTemplate, 'spec'> & { spec: Omit<WorkloadSpecInput, 'resources'> },
): WorkloadTemplate {
  const chosen = t.sizes.find((s) => s.name === t.default_size)!;
  const spec = parseSpec({ ...t.spec, resources: chosen.resources, source: { ...t.spec.source, template: t.id } });
  return { ...t, spec };
}

/** Paper, as Pterodactyl's egg defines it, plus what a panel would otherwise ask for: a port and the EULA. */
function minecraftPaper(): WorkloadTemplate {
  const { spec } = importEgg(PAPER_EGG, {
    name: 'Minecraft: Paper',
    ports: [{ name: 'game', container_port: 25565, protocol: 'tcp' }],
  });
  return template({
    id: 'minecraft-paper',
    category: 'games',
    name: 'Minecraft: Paper',
    description: `${spec.description} Imported from Pterodactyl's Paper egg; set MINECRAFT_EULA=true to accept https://aka.ms/MinecraftEULA.`,
    default_size: 'medium',
    sizes: [
      size('small', 1, 2048, 10, 'up to ~5 players, default view distance, no plugins'),
      size('medium', 2, 4096, 20, '10-20 players with a handful of plugins'),
      size('large', 4, 8192, 40, '30+ players or heavy plugins; the main tick loop still runs on one core'),
    ],
    spec: {
      ...spec,
      variables: [
        ...spec.variables,
        {
          key: 'MINECRAFT_EULA',
          name: 'Accept the Minecraft EULA',
          description: 'The server refuses to start until eula.txt says true: https://aka.ms/MinecraftEULA',
          type: 'enum',
          rules: { required: true, enum: ['true'] },
        },
      ],
      config_files: [...spec.config_files, { path: 'eula.txt', parser: 'file', content: 'eula={{MINECRAFT_EULA}}\n' }],
      restart: { policy: 'on-failure', max_retries: 3, backoff_seconds: 15 },
    },
  });
}

const NGINX_CONF = `worker_processes {{WORKER_PROCESSES}};
pid /tmp/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /dev/stdout;
  sendfile on;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  server {
    listen {{SERVER_PORT}};
    root /home/container/public;
    index index.html;
    location / { try_files $uri $uri/ =404; }
  }
}
`;

const nginxStatic = (): WorkloadTemplate =>
  template({
    id: 'nginx-static',
    category: 'web',
    name: 'Static site (nginx)',
    description:
      'nginx serving the files in public/ of the data directory. Upload your site there; the config is rewritten before every start.',
    default_size: 'small',
    sizes: [
      size('small', 0.25, 64, 1, 'a brochure site; each worker needs a few MiB'),
      size('medium', 0.5, 128, 5, 'thousands of requests per second of small files'),
      size('large', 1, 256, 20, 'large media files, several workers'),
    ],
    spec: {
      name: 'Static site (nginx)',
      driver: 'docker',
      image: 'nginx:1.27-alpine',
      command: ['nginx', '-c', '/home/container/nginx.conf', '-g', 'daemon off;'],
      // nginx finishes in-flight requests on SIGQUIT; SIGTERM drops them.
      stop: { type: 'signal', value: 'SIGQUIT', grace_seconds: 15 },
      variables: [
        {
          key: 'WORKER_PROCESSES',
          name: 'Worker processes',
          description: 'One per CPU core is plenty for static files',
          default: '1',
          type: 'integer',
          rules: { required: true, min: 1, max: 64 },
        },
      ],
      ports: [{ name: 'http', container_port: 8080, protocol: 'tcp' }],
      config_files: [{ path: 'nginx.conf', parser: 'file', content: NGINX_CONF }],
      install: {
        entrypoint: 'sh',
        script: [
          '#!/bin/sh',
          '# Creates public/ with a placeholder page; upload your site into it.',
          'mkdir -p /mnt/server/public',
          'if [ ! -f /mnt/server/public/index.html ]; then',
          "  printf '<!doctype html>\\n<title>It works</title>\\n<h1>It works</h1>\\n<p>Upload your site into public/.</p>\\n' > /mnt/server/public/index.html",
          'fi',
          '',
        ].join('\n'),
      },
      ready_pattern: 'start worker processes',
      restart: { policy: 'always', max_retries: 10, backoff_seconds: 5 },
    },
  });

const nodeApp = (): WorkloadTemplate =>
  template({
    id: 'nodejs-app',
    category: 'runtime',
    name: 'Node.js app',
    description:
      'Your Node.js application run as a supervised process on the node (node must be installed there). It should listen on $SERVER_PORT.',
    default_size: 'medium',
    sizes: [
      size('small', 0.5, 256, 1, 'a small API or bot; Node itself takes ~50 MiB'),
      size('medium', 1, 512, 2, 'a typical web app'),
      size('large', 2, 1024, 5, 'heavy traffic or in-memory caches'),
    ],
    spec: {
      name: 'Node.js app',
      driver: 'process',
      command: ['node', '{{MAIN_FILE}}'],
      stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 10 },
      variables: [
        {
          key: 'MAIN_FILE',
          name: 'Main file',
          description: 'The file that starts the app, relative to its directory',
          default: 'index.js',
          rules: { required: true, max: 128, regex: '^(?!.*\\.\\.)[\\w./-]+\\.[cm]?js$' },
        },
        {
          key: 'NODE_ENV',
          name: 'Environment',
          default: 'production',
          type: 'enum',
          rules: { required: true, enum: ['production', 'development'] },
        },
      ],
      ports: [{ name: 'http', container_port: 3000, protocol: 'tcp' }],
      install: {
        entrypoint: 'sh',
        script: [
          '#!/bin/sh',
          "# Installs production dependencies in the app's directory (the working directory).",
          'set -e',
          'if [ -f package-lock.json ]; then npm ci --omit=dev',
          'elif [ -f package.json ]; then npm install --omit=dev',
          'else echo "no package.json yet: upload the app, then reinstall"; fi',
          '',
        ].join('\n'),
      },
      restart: { policy: 'on-failure', max_retries: 5, backoff_seconds: 5 },
    },
  });

const REDIS_CONF = `# Written before every start: change the variables, not this file.
bind {{SERVER_IP}}
port {{SERVER_PORT}}
protected-mode yes
requirepass {{REDIS_PASSWORD}}
dir /home/container
appendonly {{APPENDONLY}}
maxmemory {{MAXMEMORY}}
maxmemory-policy {{MAXMEMORY_POLICY}}
`;

const redis = (): WorkloadTemplate =>
  template({
    id: 'redis',
    category: 'database',
    name: 'Redis',
    description:
      'Redis with a password, append-only persistence and a memory cap set to ~75% of the memory, leaving room for the fork that rewrites the log.',
    default_size: 'small',
    sizes: [
      size('small', 0.5, 256, 1, 'sessions and caches up to ~190 MiB of data', { MAXMEMORY: '192mb' }),
      size('medium', 1, 1024, 4, 'up to ~760 MiB of data', { MAXMEMORY: '768mb' }),
      size('large', 2, 4096, 16, 'up to ~3 GiB of data; Redis runs commands on one core', { MAXMEMORY: '3072mb' }),
    ],
    spec: {
      name: 'Redis',
      driver: 'docker',
      image: 'redis:7.4-alpine',
      command: ['redis-server', '/home/container/redis.conf'],
      // SIGTERM makes Redis save and exit cleanly; give it time with a large dataset.
      stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 60 },
      variables: [
        {
          key: 'REDIS_PASSWORD',
          name: 'Password',
          description: 'At least 16 characters',
          type: 'string',
          rules: { required: true, min: 16, max: 128, regex: '^[A-Za-z0-9_.~-]+$' },
          user_viewable: true,
        },
        {
          key: 'MAXMEMORY',
          name: 'Memory cap',
          description: 'maxmemory; keep it ~75% of the memory',
          default: '192mb',
          rules: { required: true, regex: '^\\d+(kb|mb|gb)$' },
        },
        {
          key: 'MAXMEMORY_POLICY',
          name: 'Eviction policy',
          default: 'noeviction',
          type: 'enum',
          rules: {
            required: true,
            enum: [
              'noeviction',
              'allkeys-lru',
              'allkeys-lfu',
              'volatile-lru',
              'volatile-lfu',
              'allkeys-random',
              'volatile-ttl',
            ],
          },
        },
        {
          key: 'APPENDONLY',
          name: 'Append-only file',
          default: 'yes',
          type: 'enum',
          rules: { required: true, enum: ['yes', 'no'] },
        },
      ],
      ports: [{ name: 'redis', container_port: 6379, protocol: 'tcp' }],
      config_files: [{ path: 'redis.conf', parser: 'file', content: REDIS_CONF }],
      ready_pattern: 'Ready to accept connections',
      restart: { policy: 'always', max_retries: 10, backoff_seconds: 5 },
    },
  });

export const TEMPLATES: readonly WorkloadTemplate[] = [minecraftPaper(), nginxStatic(), nodeApp(), redis()];

export function findTemplate(id: string): WorkloadTemplate | undefined {
  return TEMPLATES.find((t) => t.id === id);
}

export function templatesIn(category: TemplateCategory): WorkloadTemplate[] {
  return TEMPLATES.filter((t) => t.category === category);
}
