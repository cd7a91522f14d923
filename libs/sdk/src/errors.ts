/** An error answer of the hub: `{error, code}` with its HTTP status, or a transport failure (status 0). */
export class HostplaneError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'HostplaneError';
  }

  static async fromResponse(response: Response): Promise<HostplaneError> {
    const text = await response.text().catch(() => '');
    return HostplaneError.fromBody(response.status, text);
  }

  static fromBody(status: number, body: unknown): HostplaneError {
    let parsed = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = body;
      }
    }
    const envelope = parsed as { error?: unknown; code?: unknown } | undefined;
    const message =
      typeof envelope?.error === 'string'
        ? envelope.error
        : typeof parsed === 'string' && parsed
          ? parsed
          : `HTTP ${status}`;
    const code = typeof envelope?.code === 'string' ? envelope.code : `http_${status}`;
    return new HostplaneError(message, status, code, parsed);
  }
}

/** The data of an openapi-fetch result, or its error thrown as a `HostplaneError`. */
export async function unwrap<T>(
  result: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await result;
  if (!response.ok || error !== undefined) throw HostplaneError.fromBody(response.status, error);
  return data as NonNullable<T>;
}
