/**
 * The extension host's one disposal pattern (the shape microsoft/vscode-hexeditor and VS Code
 * itself use): a class registers what it owns when it creates it, and `dispose()` releases all
 * of it once, newest first — no hand-kept arrays, nothing left behind by an early return.
 * Type-only use of `vscode`, so it also runs (and is tested) in plain Node.
 */
import type * as vscode from "vscode";

/** Disposes every item, newest first, and empties the list. */
export function disposeAll(items: vscode.Disposable[]): void {
  while (items.length > 0) items.pop()!.dispose();
}

export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private disposed = false;

  /** Takes ownership of `item`; one registered after `dispose()` is disposed at once. */
  protected register<T extends vscode.Disposable>(item: T): T {
    if (this.disposed) item.dispose();
    else this.owned.push(item);
    return item;
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.owned);
  }
}
