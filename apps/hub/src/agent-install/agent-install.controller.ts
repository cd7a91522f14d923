import { createReadStream } from 'node:fs';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { Public } from '../access/access.decorators';
import { ValidParams } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { AgentBundleStore, bundleParams } from './agent-bundles';
import { installScript } from './install-script';

const TAGS = ['agents'];
const CHECKSUM_NOTE =
  'X-Checksum-Sha256 (hex) and Digest (sha-256, base64) carry the SHA-256 of the tarball; the same hex is at `/v1/agent/bundle/{platform}.sha256`.';

/** Public on purpose: a host has no credentials before it registers, and nothing here is secret. */
@Controller()
export class AgentInstallController {
  constructor(@Inject(AgentBundleStore) private readonly bundles: AgentBundleStore) {}

  @Get('install.sh')
  @Public()
  @ApiDoc({
    summary: 'The one-line agent installer (POSIX sh)',
    description:
      'Run as `curl -fsSL <hub>/install.sh | sudo sh -s -- --hub <hub> --token hp_reg_…`. It downloads this hub’s agent bundle for the host’s {os}-{arch}, verifies its SHA-256, installs it under /opt/hostplane-agent, registers the node and installs the systemd unit, SMF manifest or launchd plist. `sh -s -- --help` lists its options (docs/operations.md, "Install agents").',
    tags: TAGS,
    public: true,
    responses: { 200: { description: 'The script', contentType: 'text/x-shellscript' } },
  })
  script(@Res() reply: FastifyReply): void {
    void reply.type('text/x-shellscript; charset=utf-8').header('cache-control', 'no-cache').send(installScript());
  }

  @Get('v1/agent/bundle/:platform')
  @Public()
  @ApiDoc({
    summary: 'The agent bundle for one platform (.tar.gz), as install.sh downloads it',
    description: `Platforms are {os}-{arch}: linux, darwin or illumos; x64 or arm64. ${CHECKSUM_NOTE}`,
    tags: TAGS,
    public: true,
    errors: ['agent_bundle_not_found'],
    responses: { 200: { description: 'The bundle', contentType: 'application/gzip' } },
  })
  async bundle(@ValidParams(bundleParams) params: z.infer<typeof bundleParams>, @Res() reply: FastifyReply) {
    const b = await this.bundles.find(params.platform);
    await reply
      .type('application/gzip')
      .header('content-length', String(b.sizeBytes))
      .header('content-disposition', `attachment; filename="${b.fileName}"`)
      .header('x-checksum-sha256', b.sha256)
      .header('digest', `sha-256=${Buffer.from(b.sha256, 'hex').toString('base64')}`)
      .header('etag', `"${b.sha256}"`)
      .send(createReadStream(b.path));
  }

  @Get('v1/agent/bundle/:platform.sha256')
  @Public()
  @ApiDoc({
    summary: 'The SHA-256 of an agent bundle, in `sha256sum` format',
    description: 'One line: the hex digest, two spaces, the file name.',
    tags: TAGS,
    public: true,
    errors: ['agent_bundle_not_found'],
    responses: { 200: { description: '`<hex>  hostplane-agent-<platform>.tar.gz`', contentType: 'text/plain' } },
  })
  async checksum(@ValidParams(bundleParams) params: z.infer<typeof bundleParams>, @Res() reply: FastifyReply) {
    const b = await this.bundles.find(params.platform);
    void reply.type('text/plain; charset=utf-8').send(`${b.sha256}  ${b.fileName}\n`);
  }
}
