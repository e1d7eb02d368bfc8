import { isAbsolute, relative, sep } from 'node:path';

/** A path as compilers print it: relative to the current folder when inside it, absolute otherwise. */
export function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  if (fromHere === '') return '.';
  return fromHere.split(sep)[0] === '..' || isAbsolute(fromHere) ? path : fromHere;
}
