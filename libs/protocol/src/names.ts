import { z } from 'zod';

/**
 * Strict patterns for names that may reach a host command. Each error message says what is
 * allowed, so an operator can fix the input.
 */
export const resourceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
  message: "must be 1-63 characters: letters, digits, '-', '_', '.', starting with a letter or digit",
});

export const uuid = z.uuid();

/** `kind:id` of what a job acts on; jobs with the same resource run one at a time, in order. */
export const resourceKey = z.string().regex(/^[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_.:-]{1,128}$/, {
  message: 'must look like "kind:id"',
});
