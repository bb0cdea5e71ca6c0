import type { z } from 'zod';

/** A string check that trims (zod's `.trim()`), recognised by what it does. */
function trims(schema: z.core.$ZodType): boolean {
  const checks = (schema._zod.def as { checks?: { _zod: { def: { check?: string; tx?: (v: string) => unknown } } }[] })
    .checks;
  return (checks ?? []).some((check) => check._zod.def.check === 'overwrite' && check._zod.def.tx?.(' a ') === 'a');
}

/**
 * For z.toJSONSchema's `override`, wherever a contract becomes a JSON Schema (the gateway's OpenAPI document, the
 * RPC protocol's AsyncAPI document). Keeps the JSON Schema saying exactly what zod checks: a trimmed string must
 * contain a non-space character, and an email is what zod's pattern accepts.
 * (What a refinement checks is said by the schema's own metadata, e.g. an
 * update's `minProperties`, which zod copies into the JSON Schema.)
 */
export function jsonSchemaOverride(ctx: {
  zodSchema: z.core.$ZodTypes;
  jsonSchema: z.core.JSONSchema.BaseSchema;
}): void {
  const { zodSchema, jsonSchema } = ctx;
  if (zodSchema._zod.def.type === 'string' && trims(zodSchema)) {
    // A string with a pattern of its own (or several, zod's allOf) keeps it and gets this one beside it.
    // (The same schema object can be visited more than once: adding is idempotent.)
    const allOf = jsonSchema.allOf ?? [];
    if (jsonSchema.pattern === undefined && allOf.length === 0) jsonSchema.pattern = '\\S';
    else if (jsonSchema.pattern !== '\\S' && !allOf.some((entry) => (entry as { pattern?: string }).pattern === '\\S'))
      jsonSchema.allOf = [...allOf, { pattern: '\\S' }];
  }
  // zod checks emails with its pattern alone; `format: email` (RFC 5321 limits such as a
  // 64-character local part) would document a stricter rule than the one enforced.
  if (jsonSchema.format === 'email' && typeof jsonSchema.pattern === 'string') {
    delete jsonSchema.format;
    jsonSchema.description ??= 'An email address.';
  }
}
