// A cancel the user asked for: the command wrapper logs it and says what was
// done, instead of reporting a failure. No vscode import, so engine-facing code can throw it.
export class OperationCancelled extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperationCancelled';
  }
}
