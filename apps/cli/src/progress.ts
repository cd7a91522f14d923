import { SingleBar, Presets } from 'cli-progress';

/** Progress of a long task: a bar on a terminal, plain lines (only when something changes) otherwise. */
export interface Progress {
  update(percent: number, message?: string): void;
  stop(): void;
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% {message}`, stream, hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    bar.start(100, 0, { message: '' });
    return {
      update: (percent, message) => bar.update(Math.floor(percent), { message: message ?? '' }),
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    update: (percent, message) => {
      // A line per 10% step or new message (counts in it aside), so CI logs stay short.
      const line = `${label}: ${Math.floor(percent / 10) * 10}%${message ? ` ${message}` : ''}`;
      const key = line.replace(/[\d.]+\/[\d.]+ MiB/, '');
      if (key !== last) stream.write(`${line}\n`);
      last = key;
    },
    stop: () => undefined,
  };
}

export function bytesProgress(label: string): (done: number, total: number | undefined) => void {
  const p = progress(label);
  return (done, total) => {
    if (!total) return;
    p.update((done / total) * 100, `${mib(done)}/${mib(total)} MiB`);
    if (done >= total) p.stop();
  };
}

function mib(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}
