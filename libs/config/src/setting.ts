import { z } from 'zod';

/** What the loader and the docs need to know about one setting besides its schema. */
export interface SettingMeta {
  /** The environment variable; it overrides the YAML file. */
  env: string;
  /** One line for the operator; the settings table in the docs shows it. */
  description: string;
  /** Never echo the value in an error message. */
  secret?: boolean;
  /** A raw value used only when the loader runs outside production (development and test). */
  devDefault?: unknown;
  /** The YAML key when it differs from the property name in the file's key style. */
  fileKey?: string;
  /** What the docs show as the default when the schema has none ("from registration"). */
  defaultText?: string;
}

/** The schemas that are settings, with their meta; every other object in a config schema is a section. */
export const settingsRegistry = z.registry<SettingMeta>();

/**
 * Declares one setting: `port: setting('HOSTPLANE_PORT', int(0, 65535).default(8080), 'HTTP port')`.
 * The schema parses the raw value (env string or YAML value); `.default()` gives the default and
 * `.optional()` makes it optional. Anything else is required.
 */
export function setting<T extends z.ZodType>(
  env: string,
  schema: T,
  description: string,
  extra: Omit<SettingMeta, 'env' | 'description'> = {},
): T {
  if (settingsRegistry.has(schema)) {
    throw new Error(
      `config schema: ${env} reuses the schema instance of another setting; derive a new one (.default(), .optional(), .pipe())`,
    );
  }
  settingsRegistry.add(schema as z.ZodType, { env, description, ...extra });
  return schema;
}
