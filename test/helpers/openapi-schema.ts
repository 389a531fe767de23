/**
 * Checks a response against the served OpenAPI document, as a client generated from it would read it: the status
 * must be one its operation lists, the headers it marks required must be there, and a JSON body must fit that
 * response's schema. The schema check covers the
 * JSON Schema the document uses (refs, types with null, enums, consts, properties, required, additional
 * properties, items, anyOf/oneOf/allOf); formats and bounds are the validators' business, not the contract's shape.
 */
export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

type Header = { $ref?: string; required?: boolean };
type RequestBody = { content?: Record<string, { schema?: JsonSchema }> };
type Response = { content?: Record<string, { schema?: JsonSchema }>; headers?: Record<string, Header> };
export type Document = {
  paths: Record<string, Record<string, { requestBody?: RequestBody; responses: Record<string, Response> }>>;
  components: { schemas: Record<string, JsonSchema>; headers?: Record<string, Header> };
};

const typeOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : Number.isInteger(value)
        ? 'integer'
        : typeof value;

const fitsType = (value: unknown, type: string) =>
  type === typeOf(value) || (type === 'number' && typeof value === 'number');

/** Where `value` departs from `schema`, one line each (empty: it fits). */
export function schemaViolations(doc: Document, schema: JsonSchema, value: unknown, at = ''): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (!target) return [`${at}: unresolved ${schema.$ref}`];
    return schemaViolations(doc, target, value, at);
  }
  const out: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => fitsType(value, t)))
      return [`${at || '/'}: ${typeOf(value)} is not ${types.join('|')}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value))
    out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (schema.const !== undefined && schema.const !== value)
    out.push(`${at}: ${JSON.stringify(value)} is not const`);
  for (const part of schema.allOf ?? []) out.push(...schemaViolations(doc, part, value, at));
  for (const [keyword, alternatives] of [
    ['anyOf', schema.anyOf],
    ['oneOf', schema.oneOf],
  ] as const) {
    if (!alternatives) continue;
    const fitting = alternatives.filter((a) => schemaViolations(doc, a, value, at).length === 0).length;
    if (fitting === 0 || (keyword === 'oneOf' && fitting > 1)) {
      out.push(`${at}: fits ${fitting} of ${keyword} (${JSON.stringify(value)?.slice(0, 120)})`);
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (!(key in object)) out.push(`${at}/${key}: required, missing`);
    for (const [key, field] of Object.entries(object)) {
      const declared = schema.properties?.[key];
      if (declared) out.push(...schemaViolations(doc, declared, field, `${at}/${key}`));
      else if (schema.additionalProperties === false) out.push(`${at}/${key}: not in the schema`);
      else if (typeof schema.additionalProperties === 'object') {
        out.push(...schemaViolations(doc, schema.additionalProperties, field, `${at}/${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => {
      out.push(...schemaViolations(doc, schema.items as JsonSchema, item, `${at}/${i}`));
    });
  }
  return out;
}

/**
 * What is wrong with `res` as an answer of `method path` (`path` as the document names it): an undocumented
 * status, a required header missing, or a JSON body off its schema. Reads the body.
 */
export async function responseViolations(
  doc: Document,
  method: string,
  path: string,
  res: Response | globalThis.Response,
): Promise<string[]> {
  const real = res as globalThis.Response;
  const route = `${method.toUpperCase()} ${path} ${real.status}`;
  const documented = doc.paths[path]?.[method.toLowerCase()]?.responses[String(real.status)];
  if (!documented) return [`${route}: status not documented`];
  const missing = Object.entries(documented.headers ?? {})
    .filter(
      ([, header]) =>
        (header.$ref ? doc.components.headers?.[header.$ref.split('/').pop() ?? ''] : header)?.required,
    )
    .filter(([name]) => !real.headers.has(name))
    .map(([name]) => `${route}: required header ${name} missing`);
  if (missing.length > 0) return missing;
  const type = real.headers.get('Content-Type')?.split(';')[0] ?? '';
  if (!type.endsWith('json')) return [];
  const schema = documented.content?.[type]?.schema;
  if (!schema) return [`${route}: ${type} not documented`];
  return schemaViolations(doc, schema, await real.json()).map((v) => `${route} ${v}`);
}

/**
 * What is wrong with a JSON `body` sent to `method path` by the document's request schema: a body the API takes
 * but the document refuses is one no client generated from it can send.
 */
export function requestViolations(doc: Document, method: string, path: string, body: unknown): string[] {
  const schema = doc.paths[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
  const route = `${method.toUpperCase()} ${path} request`;
  if (!schema) return [`${route}: no JSON body documented`];
  return schemaViolations(doc, schema, body).map((v) => `${route} ${v}`);
}
