// Tests of the validate.mjs command line: `npm test` in tools/k8s-validate (deploy/check.sh runs them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "validate.mjs");
const fixture = (name) => join(here, "fixtures", name);
const run = (args, input) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", input });

test("valid multi-document YAML passes and is counted by kind", () => {
  const r = run([fixture("good-pod.yaml")]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ok: 2 objects (Pod, Service)");
});

test("a bad Pod fails with one line per problem naming kind, name and path", () => {
  const r = run([fixture("bad-pod.yaml")]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /error: .*bad-pod\.yaml: Pod\/bad-port: \/spec\/containers\/0\/ports\/0\/containerPort: must be integer/);
  assert.match(r.stderr, /Pod\/no-containers: \/spec: must have required property 'containers'|Pod\/no-containers: \/spec: must have required property containers/);
});

test("unknown fields (typos) fail with their path", () => {
  const r = run([fixture("typo.yaml")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Deployment\/typo: \/spec\/template\/spec\/containers\/0\/readinesProbe: unknown field "readinesProbe"/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

test("a JSON List is flattened into its items", () => {
  const r = run([fixture("list.json")]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ok: 2 objects (ConfigMap, Role)");
});

test("a JSON array is read; snapshot kinds are skipped with a note", () => {
  const r = run([fixture("array.json")]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ok: 1 objects (Namespace)");
  assert.match(r.stderr, /note: .*VolumeSnapshot\/s: skipped/);
});

test("an unknown kind fails", () => {
  const r = run([fixture("unknown-kind.yaml")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Widget\/w: : unknown apiVersion\/kind example\.com\/v1\/Widget/);
});

test("an object without a name fails", () => {
  const r = run([fixture("no-name.yaml")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ConfigMap\/\?: \/metadata\/name: must have a name/);
});

test("stdin is read with '-', and an empty input is an error", () => {
  const ok = run(["-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n");
  assert.equal(ok.status, 0, ok.stderr);
  const empty = run(["-"], "---\n");
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /no objects found/);
});

test("unparsable input and no arguments exit 2", () => {
  assert.equal(run(["-"], "{ not json").status, 2);
  assert.equal(run([]).status, 2);
});
