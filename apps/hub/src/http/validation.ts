import { Body, Param, PipeTransform, Query } from '@nestjs/common';
import { z } from 'zod';
import { FieldIssue, ValidationFailedError } from './errors';
import { recordRouteSchema } from './route-schemas';

type Where = 'body' | 'query' | 'params';

export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Parses a request part with its zod schema; the parsed value (defaults applied) replaces the raw one. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly where: Where,
  ) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value ?? (this.where === 'body' ? undefined : {}));
    if (!result.success)
      throw new ValidationFailedError(this.where === 'params' ? 'path parameter' : this.where, zodIssues(result.error));
    return result.data;
  }
}

/** `@ValidBody(schema)`: validates the body and documents it in OpenAPI, from the one schema. */
export function ValidBody(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodValidationPipe(schema, 'body'))(target, key, index);
    if (key !== undefined) recordRouteSchema(target, key, 'body', schema);
  };
}

export function ValidQuery(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodValidationPipe(schema, 'query'))(target, key, index);
    if (key !== undefined) recordRouteSchema(target, key, 'query', schema);
  };
}

export function ValidParams(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Param(new ZodValidationPipe(schema, 'params'))(target, key, index);
    if (key !== undefined) recordRouteSchema(target, key, 'params', schema);
  };
}
