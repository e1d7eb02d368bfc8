// How sizes and times are written for people: one module both faces (CLI and extension) use.

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]!}`;
}

/** `3 minutes ago`, `2 days ago`. */
export function formatAge(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [30, 'day'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size) return `${value} ${name}${value === 1 ? '' : 's'} ago`;
    value = Math.floor(value / size);
  }
  return iso;
}

/**
 * How many characters of an id (a release, a snapshot, a commit, a blob) are
 * shown to people. One length for every face, so an id copied from the editor
 * is the one the CLI printed, and long enough to stay unique in a big history.
 */
export const SHORT_ID_LENGTH = 12;

/** The shown part of an id: `1a2b3c4d5e6f`. */
export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH);
}

/** A metric or a measurement: at most 6 significant digits, no trailing zeros (`0.912346`, `1200`). */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** A difference with its sign: `+0.02`, `-3`, `0`. */
export function formatSigned(value: number): string {
  return `${value > 0 ? '+' : ''}${formatNumber(value)}`;
}

/** `1 commit`, `3 commits`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** How long a stage or a run took: `2.4 s`. */
export function formatDuration(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}

/** A count of things, grouped by thousands: `12,345`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/**
 * `text` (a chunk of a command's output) with `prefix` before each line, ending
 * in a newline: outputs of stages running side by side are written as whole
 * lines, each saying whose it is, never one stage's text run into another's.
 */
export function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix).replace(/([^\n])$/, '$1\n');
}
