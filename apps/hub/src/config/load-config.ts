import { ConfigError, loadSettings, readYamlFile } from '@hostplane/config';
import { HubConfig, hubConfigSchema } from './config.schema';
import { ensureDevSecrets } from './dev-secrets';

export { ConfigError };
export type { HubConfig };
export type AuthConfig = HubConfig['auth'];
export type RegistrationPolicy = AuthConfig['registration'];
export type SmtpConfig = NonNullable<HubConfig['smtp']>;
export type GithubOAuthConfig = HubConfig['github'];
export type JwtKey = HubConfig['secrets']['jwtKeys'][number];

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of a YAML file; falls back to HOSTPLANE_CONFIG. */
  file?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): HubConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.HOSTPLANE_CONFIG || undefined);
  const doc = file ? readYamlFile(file) : {};
  // Decided before the other settings: it chooses whether development defaults apply.
  const production = (env.HOSTPLANE_ENV || String(doc.env ?? 'production')) === 'production';
  return loadSettings(hubConfigSchema, {
    env,
    doc,
    file,
    production,
    fillMissing: production ? undefined : (raw) => ensureDevSecrets(raw),
  });
}
