// Whether anything is at a path, a dangling symbolic link included (which `existsSync`, following it, misses).
import { lstatSync } from 'node:fs';

export function pathExists(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
