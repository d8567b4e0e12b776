import type { Volume } from '../../../types/volume.js';

/** Go's json.Marshal escapes <, > and & in strings. */
function goEscape(text: string): string {
  return text.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function sortedMap(map: Record<string, string> | null | undefined): Record<string, string> | null {
  if (!map) return null;
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The docker CLI's volume.Volume field order (as Go marshals the struct; empty optional fields left out). */
export function volumeForDisplay(volume: Volume): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (volume.ClusterVolume) out.ClusterVolume = volume.ClusterVolume;
  if (volume.CreatedAt) out.CreatedAt = volume.CreatedAt;
  out.Driver = volume.Driver;
  out.Labels = sortedMap(volume.Labels);
  out.Mountpoint = volume.Mountpoint;
  out.Name = volume.Name;
  out.Options = sortedMap(volume.Options);
  out.Scope = volume.Scope;
  if (volume.Status && Object.keys(volume.Status).length > 0) out.Status = volume.Status;
  if (volume.UsageData) out.UsageData = volume.UsageData;
  return out;
}

/** `docker inspect` output: a JSON array indented by four spaces. */
export function inspectJSON(items: unknown[]): string {
  return goEscape(JSON.stringify(items, null, 4)) + '\n';
}

/** Reads one line of the answer to a prompt from stdin. */
export function readAnswer(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      input.off('data', onData);
      input.off('end', finish);
      input.pause();
      resolve(text.split('\n')[0].trim());
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n')) finish();
    };
    input.on('data', onData);
    input.on('end', finish);
    input.resume();
  });
}

/** sortorder.NaturalLess: digit runs compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const chunks = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const nx = x.replace(/^0+/, '');
      const ny = y.replace(/^0+/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}
