/**
 * Checks emulator replies against Microsoft's published REST contract in
 * /work/shared/azure-examples: the Swagger definitions (with ajv) and the example replies.
 *
 * Three checks, because the SDKs keep unknown keys and so a mis-shaped reply can look right:
 * 1. ajv: the body satisfies the definition (required keys, types, enums), after resolving a
 *    polymorphic base to the subtype named by its discriminator.
 * 2. closed world: every key of every object whose definition lists `properties` is declared
 *    there (allOf and discriminator subtypes merged), or appears at the same path in the example.
 * 3. example shape: keys present in both the reply and the example have the same JSON type.
 *
 * Swagger `additionalProperties: {type: object}` means "anything" to autorest, so ajv gets it
 * as `true`. References to files that are not in the folder become permissive stubs (ARM
 * resource envelope for the common types).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';

export const EXAMPLES = '/work/shared/azure-examples';
const SPEC_FILES = ['workspace.json', 'integrationRuntime.json', 'artifacts.json',
  'LinkedService.json', 'Pipeline.json'];
const BASE = 'https://specs.local/';

type Schema = Record<string, any>;

const ENVELOPE: Schema = { type: 'object', properties: {
  id: { type: 'string' }, name: { type: 'string' }, type: { type: 'string' },
  location: { type: 'string' }, tags: { type: 'object', additionalProperties: {
    type: 'string' } }, etag: { type: 'string' }, systemData: { type: 'object' } } };

/**
 * Keys the service returns that the spec versions in the folder predate (the Web activity's
 * `httpRequestTimeout` is documented for Synapse and Data Factory but newer than Pipeline.json).
 */
const NEWER_THAN_SPEC = new Set(['httpRequestTimeout']);

/** One problem found in a reply. */
export interface Finding {
  check: 'schema' | 'closed-world' | 'example-shape';
  path: string;
  message: string;
}

/** Loads the specs once and checks bodies against named definitions. */
export class ContractChecker {
  private readonly files = new Map<string, Schema>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  constructor() {
    for (const f of SPEC_FILES) {
      this.files.set(f, JSON.parse(readFileSync(join(EXAMPLES, 'specs', f), 'utf8')));
    }
    for (const [f, doc] of this.files) {
      const defs = this.rewrite(doc.definitions, f) as Schema;
      this.ajv.addSchema({ $id: `${BASE}${f}`, definitions: defs });
    }
  }

  /** Reads an example file's reply body for a status. */
  static example(relPath: string, status = '200'): unknown {
    const doc = JSON.parse(readFileSync(join(EXAMPLES, relPath), 'utf8'));
    return doc.responses[status]?.body;
  }

  /** All findings for `body` against `file#definition`, compared with `example`. */
  check(file: string, definition: string, body: unknown, example?: unknown): Finding[] {
    const findings: Finding[] = [];
    const root = this.resolveDef(file, definition);
    findings.push(...this.schemaFindings(root, body));
    this.closedWorld(root, body, example, '', findings);
    if (example !== undefined) this.compareShape(body, example, '', findings);
    return findings;
  }

  /**
   * For operations without a definition here (compute, network): the example's top-level keys
   * are present, and shared keys have the example's JSON types.
   */
  shapeAgainst(body: unknown, example: unknown): Finding[] {
    const findings: Finding[] = [];
    for (const key of ['id', 'name', 'type', 'properties']) {
      if (example && (example as any)[key] !== undefined && (body as any)?.[key] === undefined) {
        findings.push({ check: 'example-shape', path: `/${key}`, message: 'missing' });
      }
    }
    this.compareShape(body, example, '', findings);
    return findings;
  }

  private schemaFindings(root: { file: string; name: string }, body: unknown): Finding[] {
    const concrete = this.concrete(root, body);
    const validate = this.ajv.getSchema(`${BASE}${concrete.file}#/definitions/${concrete.name}`);
    if (!validate) throw new Error(`no definition ${concrete.file}#${concrete.name}`);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e: ErrorObject) => ({ check: 'schema',
      path: e.instancePath,
      message: `${e.message ?? ''} ${JSON.stringify(e.params)}` }));
  }

  private rewrite(node: unknown, file: string): unknown {
    if (Array.isArray(node)) return node.map((n) => this.rewrite(n, file));
    if (!node || typeof node !== 'object') return node;
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'discriminator' || k.startsWith('x-ms-') || k === 'example') continue;
      if (k === 'additionalProperties' && isObjectAny(v)) continue;
      out[k] = this.rewrite(v, file);
    }
    const isAny = out.type === 'object' && !out.properties && !out.additionalProperties &&
      !out.allOf;
    if (isAny) delete out.type;
    if (typeof out.$ref === 'string') {
      const target = this.refTarget(out.$ref, file);
      if (!target) return out.$ref.includes('Resource') ? ENVELOPE : {};
      out.$ref = `${BASE}${target.file}#/definitions/${target.name}`;
    }
    return out;
  }

  private refTarget(ref: string, from: string): { file: string; name: string } | undefined {
    const [path, pointer] = ref.split('#');
    const file = path ? path.split('/').pop() as string : from;
    const name = pointer?.replace('/definitions/', '');
    if (!name || !this.files.get(file)?.definitions?.[name]) return undefined;
    return { file, name };
  }

  private resolveDef(file: string, name: string): { file: string; name: string } {
    if (!this.files.get(file)?.definitions?.[name]) throw new Error(`no ${file}#${name}`);
    return { file, name };
  }

  private def(ref: { file: string; name: string }): Schema {
    return this.files.get(ref.file)?.definitions?.[ref.name] as Schema;
  }

  /** The subtype named by the discriminator value, or the definition itself. */
  private concrete(ref: { file: string; name: string }, body: unknown)
    : { file: string; name: string } {
    const disc = this.discriminatorOf(ref);
    const value = body && typeof body === 'object' ? (body as any)[disc ?? ''] : undefined;
    if (!disc || typeof value !== 'string') return ref;
    for (const [file, doc] of this.files) {
      for (const [name, d] of Object.entries(doc.definitions ?? {}) as Array<[string, Schema]>) {
        if (d['x-ms-discriminator-value'] === value && this.extendsDef({ file, name }, ref)) {
          return { file, name };
        }
      }
    }
    return ref;
  }

  private discriminatorOf(ref: { file: string; name: string }): string | undefined {
    const d = this.def(ref);
    if (d.discriminator) return d.discriminator;
    for (const part of d.allOf ?? []) {
      const t = part.$ref && this.refTarget(part.$ref, ref.file);
      const found = t && this.discriminatorOf(t);
      if (found) return found;
    }
    return undefined;
  }

  private extendsDef(ref: { file: string; name: string }, base: { file: string; name: string })
    : boolean {
    if (ref.file === base.file && ref.name === base.name) return true;
    return (this.def(ref).allOf ?? []).some((part: Schema) => {
      const t = part.$ref && this.refTarget(part.$ref, ref.file);
      return t ? this.extendsDef(t, base) : false;
    });
  }

  /** Declared properties of a schema node (allOf and subtypes merged); undefined = open. */
  private declared(schema: Schema, file: string, body: unknown, polymorphic = true)
    : { props?: Record<string, { schema: Schema; file: string }>; map?: { schema: Schema;
      file: string }; items?: { schema: Schema; file: string } } {
    if (schema.$ref) {
      const t = this.refTarget(schema.$ref, file);
      if (!t) {
        return schema.$ref.includes('Resource') ? this.declared(ENVELOPE, file, body) : {};
      }
      const c = polymorphic ? this.concrete(t, body) : t;
      return this.declared(this.def(c), c.file, body, false);
    }
    if (schema.items) return { items: { schema: schema.items, file } };
    let props: Record<string, { schema: Schema; file: string }> | undefined;
    for (const part of schema.allOf ?? []) {
      const inner = this.declared(part, file, body, false);
      if (inner.props) props = { ...props, ...inner.props };
    }
    if (schema.properties) {
      props = { ...props };
      for (const [k, v] of Object.entries(schema.properties)) props[k] = { schema: v as Schema,
        file };
    }
    const ap = schema.additionalProperties;
    if (!props && ap && typeof ap === 'object' && !isObjectAny(ap)) {
      return { map: { schema: ap, file } };
    }
    return { props };
  }

  private closedWorld(ref: { file: string; name: string } | { schema: Schema; file: string },
    body: unknown, example: unknown, path: string, out: Finding[]): void {
    const schema = 'name' in ref ? this.def(ref) : ref.schema;
    if (!body || typeof body !== 'object') return;
    this.checkSubtype(schema, ref.file, body, path, out);
    const d = this.declared(schema, ref.file, body);
    if (Array.isArray(body)) {
      if (!d.items) return;
      body.forEach((item, i) => this.closedWorld(d.items as any, item, Array.isArray(example)
        ? example[0] : undefined, `${path}/${i}`, out));
      return;
    }
    for (const [k, v] of Object.entries(body)) {
      const ex = example && typeof example === 'object' ? (example as any)[k] : undefined;
      const next = d.props?.[k] ?? d.map;
      if (d.props && !d.props[k] && ex === undefined && !NEWER_THAN_SPEC.has(k)) {
        out.push({ check: 'closed-world', path: `${path}/${k}`,
          message: 'not declared by the definition nor present in the example' });
      }
      if (next) this.closedWorld(next, v, ex, `${path}/${k}`, out);
    }
  }

  /** ajv-validates a nested polymorphic value against the subtype its discriminator names. */
  private checkSubtype(schema: Schema, file: string, body: object, path: string,
    out: Finding[]): void {
    const t = schema.$ref && this.refTarget(schema.$ref, file);
    if (!t || path === '') return;
    const c = this.concrete(t, body);
    if (c.name === t.name && c.file === t.file) return;
    for (const f of this.schemaFindings(c, body)) out.push({ ...f, path: `${path}${f.path}` });
  }

  private compareShape(body: unknown, example: unknown, path: string, out: Finding[]): void {
    if (example === null || example === undefined || body === undefined || body === null) return;
    if (kind(body) !== kind(example)) {
      out.push({ check: 'example-shape', path, message:
        `is ${kind(body)} where the example has ${kind(example)}` });
      return;
    }
    if (Array.isArray(body) && Array.isArray(example)) {
      if (body.length > 0 && example.length > 0) this.compareShape(body[0], example[0],
        `${path}/0`, out);
      return;
    }
    if (kind(body) !== 'object') return;
    for (const [k, v] of Object.entries(body as object)) {
      this.compareShape(v, (example as any)[k], `${path}/${k}`, out);
    }
  }
}

function isObjectAny(v: unknown): boolean {
  return !!v && typeof v === 'object' && Object.keys(v).length === 1 &&
    (v as Schema).type === 'object';
}

function kind(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}
