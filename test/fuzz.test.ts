/** No input makes the lesson or topology loaders throw anything but a typed FileError. */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FileError, UserError } from "../src/errors.js";
import { parseLesson } from "../src/lesson/markdown-lesson.js";
import { parseTopology } from "../src/topology/load.js";

const lesson = readFileSync(new URL("../labs/dnat.md", import.meta.url), "utf8");
const topology = readFileSync(new URL("../topologies/nat.yaml", import.meta.url), "utf8");

/** Mutations a careless editor makes: delete, duplicate or insert a slice of text. */
const mutated = (text: string) =>
  fc.oneof(
    fc.tuple(fc.nat(text.length), fc.nat(40)).map(([at, n]) => text.slice(0, at) + text.slice(at + n)),
    fc.tuple(fc.nat(text.length), fc.nat(text.length)).map(([a, b]) => text.slice(0, b) + text.slice(Math.min(a, b), Math.max(a, b)) + text.slice(b)),
    fc.tuple(fc.nat(text.length), fc.string({ maxLength: 12 })).map(([at, s]) => text.slice(0, at) + s + text.slice(at)),
  );

function onlyTypedErrors(parse: () => unknown): boolean {
  try {
    parse();
  } catch (e) {
    if (!(e instanceof FileError || e instanceof UserError)) throw e;
    expect((e as Error).message).toMatch(/^\S+?(:\d+)?: /);
  }
  return true;
}

describe("loaders under fuzzing", () => {
  it("lessons", () => {
    fc.assert(fc.property(fc.oneof(mutated(lesson), fc.string()), (text) => onlyTypedErrors(() => parseLesson(text, "labs/x.md"))), { numRuns: 400 });
  });

  it("topologies", () => {
    fc.assert(fc.property(fc.oneof(mutated(topology), fc.string()), (text) => onlyTypedErrors(() => parseTopology(text, "topologies/x.yaml"))), { numRuns: 400 });
  });
});
