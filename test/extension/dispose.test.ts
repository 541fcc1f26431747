/** The extension host's disposal pattern (src/extension/dispose.ts): plain Node, it only uses vscode's types. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Disposable, disposeAll } from "../../src/extension/dispose.js";

function recorder(log: string[], name: string) {
  return { dispose: () => void log.push(name) };
}

class Owner extends Disposable {
  own(d: { dispose(): void }) {
    return this.register(d);
  }
  get disposedYet() {
    return this.isDisposed;
  }
}

describe("Disposable", () => {
  it("disposes what it registered once, newest first", () => {
    const log: string[] = [];
    const o = new Owner();
    o.own(recorder(log, "a"));
    o.own(recorder(log, "b"));
    assert.equal(o.disposedYet, false);
    o.dispose();
    o.dispose();
    assert.deepEqual(log, ["b", "a"]);
    assert.equal(o.disposedYet, true);
  });

  it("disposes at once what is registered after it was disposed, and returns it", () => {
    const log: string[] = [];
    const o = new Owner();
    o.dispose();
    const d = recorder(log, "late");
    assert.equal(o.own(d), d);
    assert.deepEqual(log, ["late"]);
  });

  it("disposeAll empties the list, newest first", () => {
    const log: string[] = [];
    const list = [recorder(log, "1"), recorder(log, "2"), recorder(log, "3")];
    disposeAll(list);
    assert.deepEqual(log, ["3", "2", "1"]);
    assert.equal(list.length, 0);
  });
});
