import { z } from 'zod';

/** Schemas of raw setting values: an env variable is always a string, a YAML value may be typed. */

export const int = (min: number, max: number) => {
  const message = `must be an integer between ${min} and ${max}`;
  return z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });
};

export const bool = () =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])], { message: 'must be true or false' })
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

export const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}` },
  );

/** A comma-separated env value or a YAML list, trimmed, empty entries dropped. */
export const csv = () =>
  z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { message: `must be one of ${values.join(', ')}` });

export const withoutTrailingSlash = (v: string) => v.replace(/\/+$/, '');
