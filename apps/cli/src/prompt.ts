import { createInterface } from 'node:readline';

const piped: string[] = [];
let pipedReader: ReturnType<typeof createInterface> | undefined;
const waiting: ((line: string | undefined) => void)[] = [];

/**
 * Asks for a value on stderr and reads it from stdin. On a terminal the answer is not echoed when
 * `secret`; from a pipe each question takes the next line (`printf 'pw\n123456\n' | hpctl login`).
 */
export async function ask(question: string, secret = false): Promise<string> {
  if (!process.stdin.isTTY) {
    process.stderr.write(question);
    const line = await nextPipedLine();
    process.stderr.write('\n');
    if (line === undefined) throw new Error(`no answer to '${question.trim()}' on stdin`);
    return line;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (secret) {
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput.bind(rl);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) =>
      write(s.startsWith(question) ? question : '');
  }
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    if (secret) process.stderr.write('\n');
    rl.close();
  }
}

function nextPipedLine(): Promise<string | undefined> {
  if (piped.length) return Promise.resolve(piped.shift());
  if (!pipedReader) {
    pipedReader = createInterface({ input: process.stdin, terminal: false });
    pipedReader.on('line', (line) => {
      const next = waiting.shift();
      if (next) next(line);
      else piped.push(line);
    });
    pipedReader.on('close', () => {
      for (const w of waiting.splice(0)) w(undefined);
    });
  }
  return new Promise((resolve) => waiting.push(resolve));
}

/** Stops reading stdin so the process can exit. */
export function closePrompts(): void {
  pipedReader?.close();
}
