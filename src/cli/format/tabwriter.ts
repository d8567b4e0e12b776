/**
 * Elastic tabstops with the semantics of Go's text/tabwriter (as forked by
 * docker/cli, which measures cells in terminal columns): a cell is text
 * terminated by a tab; the cells of a column in adjacent lines are padded to
 * the same width; the last cell of a line is not part of any column; a line
 * without tabs ends the block of lines aligned together.
 */
import { stringWidth } from './width.js';

export interface TabWriterOptions {
  /** Minimal cell width, padding included. */
  minwidth: number;
  /** Width of a tab character when padding with tabs. */
  tabwidth: number;
  /** Padding added to the widest cell of a column. */
  padding: number;
  /** Padding character; '\t' pads with tabs (and forbids alignRight). */
  padchar: string;
  alignRight?: boolean;
  /** Give no width to columns made only of empty '\v'-terminated cells. */
  discardEmptyColumns?: boolean;
  /** Pad leading empty cells with tabs regardless of padchar. */
  tabIndent?: boolean;
  /** Print a vertical bar between columns. */
  debug?: boolean;
}

/** The writer docker/cli uses for tables: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const DOCKER_TABLE: TabWriterOptions = { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ' };

interface Cell {
  text: string;
  width: number;
  /** Terminated by '\t' rather than '\v'. */
  htab: boolean;
}

export class TabWriter {
  private lines: Cell[][] = [[]];
  private cellText = '';
  private widths: number[] = [];
  private out: string[] = [];
  private readonly options: TabWriterOptions;

  constructor(options: TabWriterOptions = DOCKER_TABLE) {
    if (options.minwidth < 0 || options.tabwidth < 0 || options.padding < 0) {
      throw new RangeError('negative minwidth, tabwidth, or padding');
    }
    this.options = options.padchar === '\t' ? { ...options, alignRight: false } : options;
  }

  write(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch !== '\t' && ch !== '\v' && ch !== '\n' && ch !== '\f') continue;
      this.cellText += text.slice(start, i);
      start = i + 1;
      const cellsInLine = this.terminateCell(ch === '\t');
      if (ch === '\n' || ch === '\f') {
        this.lines.push([]);
        // A line of one cell cannot affect alignment of what follows.
        if (ch === '\f' || cellsInLine === 1) this.flushLines();
      }
    }
    this.cellText += text.slice(start);
  }

  /** Formats everything buffered and returns all output produced since the last flush. */
  flush(): string {
    this.flushLines();
    const output = this.out.join('');
    this.out = [];
    return output;
  }

  private terminateCell(htab: boolean): number {
    const line = this.lines[this.lines.length - 1];
    line.push({ text: this.cellText, width: stringWidth(this.cellText), htab });
    this.cellText = '';
    return line.length;
  }

  private flushLines(): void {
    if (this.cellText.length > 0) this.terminateCell(false);
    this.format(0, this.lines.length);
    this.lines = [[]];
    this.widths = [];
    this.cellText = '';
  }

  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let current = line0; current < line1; current++) {
      if (column >= this.lines[current].length - 1) continue;
      // This line has a cell in the column: write what precedes, then size the column block.
      this.writeLines(line0, current);
      line0 = current;
      let width = this.options.minwidth;
      let discardable = true;
      for (; current < line1; current++) {
        const line = this.lines[current];
        if (column >= line.length - 1) break;
        const cell = line[column];
        width = Math.max(width, cell.width + this.options.padding);
        if (cell.width > 0 || cell.htab) discardable = false;
      }
      if (discardable && this.options.discardEmptyColumns) width = 0;
      this.widths.push(width);
      this.format(line0, current);
      this.widths.pop();
      line0 = current;
    }
    this.writeLines(line0, line1);
  }

  private writeLines(line0: number, line1: number): void {
    for (let i = line0; i < line1; i++) {
      let useTabs = this.options.tabIndent ?? false;
      this.lines[i].forEach((cell, j) => {
        if (j > 0 && this.options.debug) this.out.push('|');
        const width = this.widths[j];
        if (cell.text.length === 0) {
          if (j < this.widths.length) this.writePadding(cell.width, width, useTabs);
          return;
        }
        useTabs = false;
        if (this.options.alignRight) {
          if (j < this.widths.length) this.writePadding(cell.width, width, false);
          this.out.push(cell.text);
        } else {
          this.out.push(cell.text);
          if (j < this.widths.length) this.writePadding(cell.width, width, false);
        }
      });
      // The last line is the one still being collected; it ends without a newline.
      if (i + 1 === this.lines.length) this.out.push(this.cellText);
      else this.out.push('\n');
    }
  }

  private writePadding(textWidth: number, cellWidth: number, useTabs: boolean): void {
    const { padchar, tabwidth } = this.options;
    if (padchar === '\t' || useTabs) {
      if (tabwidth === 0) return;
      const rounded = Math.ceil(cellWidth / tabwidth) * tabwidth;
      const n = rounded - textWidth;
      this.out.push('\t'.repeat(Math.ceil(n / tabwidth)));
      return;
    }
    this.out.push(padchar.repeat(Math.max(cellWidth - textWidth, 0)));
  }
}

/**
 * Aligns text through a TabWriter (docker's table settings by default).
 * Rows given as cells are joined with tabs and each ended with a newline.
 */
export function tabwrite(
  input: string | readonly (readonly string[])[],
  options: TabWriterOptions = DOCKER_TABLE,
): string {
  const text = typeof input === 'string' ? input : input.map((row) => row.join('\t') + '\n').join('');
  const writer = new TabWriter(options);
  writer.write(text);
  return writer.flush();
}
