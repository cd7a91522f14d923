import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { AGENT_INSTALL_ERRORS } from './agent-install.errors';

/** `{os}-{arch}` as install.sh names them from `uname -s` and `uname -m`. */
export const bundlePlatform = z.string().regex(/^(linux|darwin|illumos)-(x64|arm64)$/, {
  message: 'must be {os}-{arch}: os linux, darwin or illumos; arch x64 or arm64 (e.g. linux-x64)',
});
export const bundleParams = z.object({ platform: bundlePlatform });

/** Where `npm run bundle:agent` writes (apps/hub/agent-bundles), from dist/src/agent-install/. */
export const DEFAULT_BUNDLE_DIR = resolve(__dirname, '../../../agent-bundles');

export function bundleFileName(platform: string): string {
  return `hostplane-agent-${platform}.tar.gz`;
}

export interface AgentBundle {
  platform: string;
  fileName: string;
  path: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * The bundles in one directory. The SHA-256 is computed from the file the hub serves and kept
 * while the file's size and mtime stay the same, so a rebuilt bundle gets its new checksum.
 */
export class AgentBundleStore {
  private readonly digests = new Map<string, { size: number; mtimeMs: number; sha256: Promise<string> }>();

  constructor(readonly dir: string) {}

  async find(platform: string): Promise<AgentBundle> {
    const fileName = bundleFileName(platform);
    const path = join(this.dir, fileName);
    const stat = await fs.stat(path).catch(() => null);
    if (!stat?.isFile())
      throw AGENT_INSTALL_ERRORS.agent_bundle_not_found.error(
        `this hub has no agent bundle for ${platform}: build it on a ${platform} host with \`npm run bundle:agent\` and put ${fileName} in the hub's bundle directory (HOSTPLANE_AGENT_BUNDLE_DIR)`,
        { platform },
      );
    let cached = this.digests.get(path);
    if (!cached || cached.size !== stat.size || cached.mtimeMs !== stat.mtimeMs) {
      cached = { size: stat.size, mtimeMs: stat.mtimeMs, sha256: sha256OfFile(path) };
      this.digests.set(path, cached);
      cached.sha256.catch(() => this.digests.delete(path));
    }
    return { platform, fileName, path, sizeBytes: stat.size, sha256: await cached.sha256 };
  }
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}
