import { settingsTable } from '@hostplane/config';
import { agentConfigSchema } from './agent-config';

/** The settings table of docs/agent.md. */
export function agentSettingsTable(): string {
  return settingsTable(agentConfigSchema, { firstColumn: 'file', fileKeys: 'snake_case' });
}
