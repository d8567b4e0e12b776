/**
 * docker/cli's --format handling for list commands: "table" (the command's
 * default columns), "table TEMPLATE", "json" (one object per line) or a plain
 * template rendered once per item. Tables get their header row by running the
 * same template over a map of column titles, and are aligned the way docker
 * aligns them (tabwriter minwidth 10, padding 3).
 */
import { GO_TYPE } from './gofmt.js';
import { DOCKER_TABLE, TabWriter } from './tabwriter.js';
import {
  goJSON,
  headerFuncs,
  parseTemplate,
  TemplateError,
  type FuncMap,
  type Template,
} from './template.js';

export const TABLE_FORMAT_KEY = 'table';
export const JSON_FORMAT_KEY = 'json';
export const DEFAULT_QUIET_FORMAT = '{{.ID}}';

/** Column titles docker/cli shares between commands. */
export const HEADERS = {
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Labels: 'LABELS',
  Name: 'NAME',
  Description: 'DESCRIPTION',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  State: 'STATE',
  Status: 'STATUS',
  Ports: 'PORTS',
  Image: 'IMAGE',
  Error: 'ERROR',
  ContainerID: 'CONTAINER ID',
} as const;

export function isTableFormat(format: string): boolean {
  return format.startsWith(TABLE_FORMAT_KEY);
}

/**
 * The template text behind a format, as docker prepares it: "json" becomes
 * {{json .}}, a "table" prefix and surrounding spaces go, and the two-character
 * escapes \t and \n become a tab and a newline.
 */
export function templateText(format: string): string {
  if (format === TABLE_FORMAT_KEY) return '';
  if (format === JSON_FORMAT_KEY) return '{{json .}}';
  let text = isTableFormat(format) ? format.slice(TABLE_FORMAT_KEY.length) : format;
  text = text.replace(/^ +| +$/g, '');
  return text.replace(/\\t|\\n/g, (escape) => (escape === '\\t' ? '\t' : '\n'));
}

/** A docker-worded template failure: "template parsing error: template: :1: ...". */
export function templateParsingError(err: TemplateError): TemplateError {
  return new TemplateError(`template parsing error: ${err.message}`, err.phase, err.output);
}

/** Parses a format's template, failing as docker does. */
export function parseFormat(format: string, funcs?: FuncMap): Template {
  try {
    return parseTemplate(templateText(format), { funcs });
  } catch (err) {
    throw err instanceof TemplateError ? templateParsingError(err) : err;
  }
}

/**
 * The format a list command uses, per docker/cli's NewXxxFormat: no format or
 * "table" means the command's default table, -q means the quiet format
 * whatever else was asked.
 */
export function chooseFormat(
  format: string | undefined,
  opts: { defaultTable: string; quiet?: boolean; quietFormat?: string },
): string {
  if (opts.quiet) return opts.quietFormat ?? DEFAULT_QUIET_FORMAT;
  if (format === undefined || format === '' || format === TABLE_FORMAT_KEY) return opts.defaultTable;
  return format;
}

function upperFirst(name: string): boolean {
  return name.length > 0 && name[0] >= 'A' && name[0] <= 'Z';
}

function propertyNames(item: object): string[] {
  const names = new Set<string>();
  for (
    let obj: object | null = item;
    obj !== null && obj !== Object.prototype;
    obj = Object.getPrototypeOf(obj)
  ) {
    for (const name of Object.getOwnPropertyNames(obj)) names.add(name);
  }
  return [...names];
}

/**
 * What docker's formatter contexts marshal to: every exported (capitalised)
 * field, and every exported method that takes no argument, called; keys sorted.
 */
export function marshalContext(item: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of propertyNames(item).filter(upperFirst).sort()) {
    const value: unknown = Reflect.get(item, name);
    if (typeof value === 'function') {
      if (value.length === 0) out[name] = (value as () => unknown).call(item);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Column titles as a template sees them in the header pass; like docker's
 * SubHeaderContext it answers `.Label "com.example.x"` with the label's last
 * dotted part.
 */
export function headerContext(headers: Readonly<Record<string, string>>): Record<string, unknown> {
  return {
    ...headers,
    Label: (name: string) => name.split('.').pop()!.replace(/[-_]/g, ' '),
  };
}

export interface FormatOptions {
  /** Column titles by field name, e.g. { ID: 'CONTAINER ID' }. */
  headers: Readonly<Record<string, string>>;
  /** Extra template functions. */
  funcs?: FuncMap;
  /**
   * Go type name of docker's context for these items, e.g.
   * '*formatter.ContainerContext', shown when a template names a missing
   * field. Defaults to '*formatter.Context'.
   */
  typeName?: string;
}

/**
 * Wraps an item so templates see it as docker sees its formatter context: a
 * struct (missing fields are errors) that marshals to JSON as marshalContext.
 */
function asContext(item: object, typeName = '*formatter.Context'): object {
  const context = Object.create(item) as object;
  Object.defineProperty(context, 'toJSON', { value: () => marshalContext(item) });
  Object.defineProperty(context, GO_TYPE, { value: typeName });
  return context;
}

/**
 * Renders items with an already chosen format (docker's Context.Write). Each
 * item's output ends with a newline; table formats get a header row and
 * aligned columns. Throws TemplateError ("template parsing error: ...") and
 * renders nothing if any item fails.
 */
export function formatItems(items: readonly object[], format: string, opts: FormatOptions): string {
  const template = parseFormat(format, opts.funcs);
  const rows: string[] = [];
  for (const item of items) {
    try {
      rows.push(template.execute(asContext(item, opts.typeName), opts.funcs) + '\n');
    } catch (err) {
      throw err instanceof TemplateError ? templateParsingError(err) : err;
    }
  }
  if (!isTableFormat(format)) return rows.join('');
  let header: string;
  try {
    header = template.execute(headerContext(opts.headers), { ...opts.funcs, ...headerFuncs });
  } catch (err) {
    // docker ignores header failures and keeps what was rendered.
    if (!(err instanceof TemplateError)) throw err;
    header = err.output;
  }
  const writer = new TabWriter(DOCKER_TABLE);
  writer.write(header + '\n');
  for (const row of rows) writer.write(row);
  return writer.flush();
}

export interface RenderListOptions extends FormatOptions {
  /** The command's default format, e.g. 'table {{.ID}}\t{{.Image}}'. */
  defaultTable: string;
  /** -q: print quietFormat for each item. */
  quiet?: boolean;
  /** Defaults to {{.ID}}. */
  quietFormat?: string;
}

/** A list command's output for --format (undefined when not given) and -q. */
export function renderList(
  items: readonly object[],
  format: string | undefined,
  opts: RenderListOptions,
): string {
  return formatItems(items, chooseFormat(format, opts), opts);
}

export { goJSON };
