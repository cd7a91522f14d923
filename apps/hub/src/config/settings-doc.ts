import { settingsTable } from '@hostplane/config';
import { hubConfigSchema } from './config.schema';

/** The settings table of docs/operations.md. */
export function hubSettingsTable(): string {
  return settingsTable(hubConfigSchema, { firstColumn: 'env' });
}
