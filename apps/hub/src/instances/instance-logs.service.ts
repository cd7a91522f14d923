import { agentCodeError } from '../http/error-catalog';
import { Injectable } from '@nestjs/common';
import { pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { JOB_KINDS, type JobResult } from '@hostplane/protocol';
import type { Principal } from '../access/principal';
import { readableFromStream } from '../tunnel/stream-io';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { InstanceQueries } from './instance-queries';
import { InstancesService } from './instances.service';

export interface LogDownloadRange {
  since?: string;
  until?: string;
  lines?: number;
}

export interface LogDownload {
  filename: string;
  gzip: boolean;
  /** `line` (docker: the engine stamps each line) or `file` (process: whole rotated files). */
  timePrecision: string;
  body: Readable;
  cancel(): void;
}

/** The output log history of an instance, read from its node over a tunnel stream, and its clearing. */
@Injectable()
export class InstanceLogsService {
  constructor(
    private readonly instances: InstancesService,
    private readonly queries: InstanceQueries,
    private readonly nodeStreams: NodeStreams,
  ) {}

  async download(p: Principal, id: string, range: LogDownloadRange, gzip: boolean): Promise<LogDownload> {
    const i = await this.instances.get(p, id);
    let stream;
    try {
      stream = await this.nodeStreams.open(i.nodeId, 'instance.logs.history', { instance_id: i.id, ...range });
    } catch (err) {
      if (err instanceof StreamOpenError) throw agentCodeError(err.code, err.message);
      throw err;
    }
    const text = readableFromStream(stream);
    // pipeline: a failure midway breaks the gzip output too (never a clean end), and a client
    // that goes away destroys the gzip, which closes the agent's stream.
    const body = gzip ? pipeline(text, createGzip(), () => undefined) : text;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const precision = stream.meta.time_precision;
    return {
      filename: `${i.name}-${stamp}.log${gzip ? '.gz' : ''}`,
      gzip,
      timePrecision: typeof precision === 'string' ? precision : 'file',
      body,
      cancel: () => text.destroy(),
    };
  }

  async clear(p: Principal, id: string): Promise<JobResult<'instance.logs.clear'>> {
    const i = await this.instances.get(p, id);
    const raw = await this.queries.ask(p, i, { kind: 'instance.logs.clear', payload: { instance_id: i.id } });
    return JOB_KINDS['instance.logs.clear'].result.parse(raw);
  }
}
