/** A configuration problem: the message is one line naming the variable or file key, meant for the operator. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
