/**
 * Tar header encoding (ustar, with a PAX extended header when a field does
 * not fit: long or non-ASCII names and link targets, large ids or sizes).
 * Producing headers ourselves lets archive creation be a plain async
 * generator, so a slow reader pauses the filesystem walk (real backpressure).
 */
export type TarType =
  'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const TYPEFLAG: Record<TarType | 'pax', string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
  pax: 'x',
};

export const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

function isAscii(text: string): boolean {
  return /^[\x01-\x7f]*$/.test(text);
}

function writeString(block: Buffer, text: string, offset: number, length: number): void {
  block.write(text, offset, length, 'utf8');
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  writeString(
    block,
    Math.max(0, Math.floor(value))
      .toString(8)
      .padStart(length - 1, '0') + '\0',
    offset,
    length,
  );
}

/** Splits a name into ustar's prefix (155) and name (100) fields, if it can be. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return { prefix, name: rest };
  }
  return undefined;
}

function ustarBlock(h: TarHeader, typeflag: string, split: { prefix: string; name: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, split.name, 0, 100);
  writeOctal(block, h.mode & 0o7777, 100, 8);
  writeOctal(block, Math.min(h.uid, MAX_OCTAL_7), 108, 8);
  writeOctal(block, Math.min(h.gid, MAX_OCTAL_7), 116, 8);
  writeOctal(block, Math.min(h.size, MAX_OCTAL_11), 124, 12);
  writeOctal(block, Math.min(h.mtime, MAX_OCTAL_11), 136, 12);
  block.write(typeflag, 156, 1, 'ascii');
  if (h.linkname && isAscii(h.linkname) && h.linkname.length <= 100) writeString(block, h.linkname, 157, 100);
  block.write('ustar\0' + '00', 257, 8, 'ascii');
  writeOctal(block, h.devmajor ?? 0, 329, 8);
  writeOctal(block, h.devminor ?? 0, 337, 8);
  writeString(block, split.prefix, 345, 155);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return block;
}

/** One PAX record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function paddingFor(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The header block(s) for one entry: a PAX extended header first when ustar cannot hold it all. */
export function encodeTarHeader(h: TarHeader): Buffer {
  const name = h.type === 'directory' && !h.name.endsWith('/') ? h.name + '/' : h.name;
  const records: string[] = [];
  let split = splitUstarName(name);
  if (!split) {
    records.push(paxRecord('path', name));
    split = {
      prefix: '',
      name: Buffer.from(name)
        .subarray(0, 100)
        .toString('latin1')
        .replace(/[^\x01-\x7f]/g, '_'),
    };
  }
  if (h.linkname && (!isAscii(h.linkname) || h.linkname.length > 100))
    records.push(paxRecord('linkpath', h.linkname));
  if (h.uid > MAX_OCTAL_7) records.push(paxRecord('uid', String(h.uid)));
  if (h.gid > MAX_OCTAL_7) records.push(paxRecord('gid', String(h.gid)));
  if (h.size > MAX_OCTAL_11) records.push(paxRecord('size', String(h.size)));
  const main = ustarBlock({ ...h, name }, TYPEFLAG[h.type], split);
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''));
  const paxName = `PaxHeaders.0/${split.name}`.slice(0, 100);
  const paxHeader = ustarBlock(
    { name: paxName, type: 'file', mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime: h.mtime },
    TYPEFLAG.pax,
    { prefix: '', name: paxName },
  );
  return Buffer.concat([paxHeader, pax, paddingFor(pax.length), main]);
}

/** Zero padding after `size` bytes of entry data. */
export function tarPadding(size: number): Buffer {
  return paddingFor(size);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(BLOCK * 2);
