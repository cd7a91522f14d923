import pino, { DestinationStream, Logger } from 'pino';

export type AgentLogger = Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields that never reach a log line, wherever they appear. */
const REDACTED_PATHS = [
  'token',
  'agent_token',
  '*.token',
  '*.agent_token',
  'auth.token',
  'extraHeaders["x-agent-token"]',
  'registry_auth',
  '*.registry_auth',
  '*.password',
];

/** JSON lines on stdout. Synchronous, so the line explaining an exit is written before the exit. */
export function createAgentLogger(level: LogLevel, destination?: DestinationStream): AgentLogger {
  return pino(
    {
      level,
      base: { service: 'hostplane-agent', pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
