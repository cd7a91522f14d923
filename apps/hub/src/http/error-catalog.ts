import { DomainError } from './errors';

/** One error a domain may answer with: its HTTP status and what it means, for the API docs. */
export interface ErrorSpec {
  status: number;
  /** A default message, and the line the OpenAPI document shows for the code. */
  message: string;
  /** Statuses some routes answer the same code with (kept for clients that branch on them). */
  otherStatuses?: readonly number[];
}

/** A catalogued error: its code, status and meaning, and a way to raise it. */
export interface CataloguedError<C extends string = string> extends ErrorSpec {
  code: C;
  /** A DomainError with this code and status; `message` adds the specifics of this occurrence. */
  error(message?: string, details?: Record<string, unknown>, headers?: Record<string, string>): DomainError;
}

export type ErrorCatalog<T extends Record<string, ErrorSpec>> = {
  readonly [C in keyof T & string]: CataloguedError<C>;
};

const catalogued = new Map<string, CataloguedError & { domain: string }>();

/**
 * Declares the error codes of one domain. A code is declared once in the whole hub (a second
 * declaration throws at load), so a client can branch on it and the docs list it once.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(domain: string, specs: T): ErrorCatalog<T> {
  const catalog: Record<string, CataloguedError> = {};
  for (const [code, spec] of Object.entries(specs)) {
    const existing = catalogued.get(code);
    if (existing) throw new Error(`error code ${code} is declared by both ${existing.domain} and ${domain}`);
    const entry: CataloguedError = {
      code,
      status: spec.status,
      message: spec.message,
      ...(spec.otherStatuses ? { otherStatuses: spec.otherStatuses } : {}),
      error: (message, details, headers) =>
        new DomainError(message ?? spec.message, code, spec.status, details, headers),
    };
    catalogued.set(code, { ...entry, domain });
    catalog[code] = entry;
  }
  return catalog as ErrorCatalog<T>;
}

/** The catalogued error of a code, or undefined: the exception filter reports codes that are not. */
export function catalogEntry(code: string): (CataloguedError & { domain: string }) | undefined {
  return catalogued.get(code);
}

export function allCataloguedErrors(): (CataloguedError & { domain: string })[] {
  return [...catalogued.values()];
}

/**
 * An error a node reported (job failure, stream refusal) as the hub answers it: the status its
 * catalog gives, else 404 for a `*_not_found` and 502 (the node failed) for anything else.
 */
export function agentCodeError(code: string, message: string): DomainError {
  const status = catalogEntry(code)?.status ?? (code.endsWith('_not_found') ? 404 : 502);
  return new DomainError(message, code, status);
}
