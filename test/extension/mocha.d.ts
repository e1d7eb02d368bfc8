// The part of mocha's BDD interface the extension-host tests use. The suite runs
// under mocha inside VS Code; these declarations let it type-check without
// @types/mocha (delete this file if that package is ever added).
declare module 'mocha' {
  type TestBody = () => void | Promise<void>;
  export function describe(title: string, body: () => void): void;
  export function it(title: string, body: TestBody): void;
  export function before(body: TestBody): void;
  export function after(body: TestBody): void;
}
