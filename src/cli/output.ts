import { parseTemplate, TemplateError } from './format/template.js';
import { CliError } from './context.js';

/** Renders one value through a --format template, failing with docker's one-line message. */
export function renderTemplate(format: string, data: unknown): string {
  try {
    return parseTemplate(format).execute(data);
  } catch (err) {
    if (err instanceof TemplateError) {
      throw new CliError(err.phase === 'parse' ? `template parsing error: ${err.message}` : err.message);
    }
    throw err;
  }
}
