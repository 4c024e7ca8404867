#!/usr/bin/env node
// Offline schema check of Kubernetes objects.
//
//   node tools/k8s-validate/validate.mjs FILE... ('-' reads stdin)
//
// Each FILE holds JSON (one object, an array of objects, or a List / {"items": [...]}) or
// YAML (one or more documents separated by '---'; a document may itself be a List).
// Every object is checked against the OpenAPI schema of its apiVersion/kind from the
// `kubernetes-models` package (no cluster needed), and for fields its type does not have (typos;
// the schemas alone accept them, a server's strict field validation would not; see fields.mjs). Kinds in SKIPPED_GROUPS have no schema
// package here and are skipped with a note on stderr.
//
// Output: "ok: N objects (Kind xCount, ...)" on stdout and exit 0, or one line per problem on
// stderr ("error: FILE: Kind/name: /json/path: message") and exit 1. An object without
// apiVersion/kind, an unknown apiVersion/kind, or without metadata.name is a problem too, and so is
// finding no object at all.
// Exit 2: usage or unreadable/unparsable input.
import { readFileSync } from "node:fs";
import * as models from "kubernetes-models";
import { loadAll } from "js-yaml";
import { unknownFields } from "./fields.mjs";

// Groups whose kinds we know to exist but for which no schema package is installed
// (@kubernetes-models/external-snapshotter is not published).
const SKIPPED_GROUPS = new Set(["snapshot.storage.k8s.io"]);

/** apiVersion/kind -> model class, found by walking the package's nested namespaces. */
function modelIndex() {
  const index = new Map();
  const seen = new Set();
  const walk = (ns) => {
    if (!ns || seen.has(ns)) return;
    seen.add(ns);
    for (const value of Object.values(ns)) {
      if (typeof value === "function" && typeof value.apiVersion === "string" && typeof value.kind === "string") {
        index.set(`${value.apiVersion}/${value.kind}`, value);
      } else if (value && typeof value === "object") {
        walk(value);
      }
    }
  };
  walk(models);
  return index;
}

/** Parses one input text into a flat list of objects (null YAML documents are dropped). */
export function parse(text) {
  const trimmed = text.trimStart();
  const docs = trimmed.startsWith("{") || trimmed.startsWith("[")
    ? [JSON.parse(text)]
    : loadAll(text);
  const out = [];
  const add = (doc) => {
    if (doc === null || doc === undefined) return;
    if (Array.isArray(doc)) {
      doc.forEach(add);
    } else if (typeof doc === "object" && Array.isArray(doc.items) && (doc.kind === undefined || doc.kind === "List")) {
      doc.items.forEach(add);
    } else {
      out.push(doc);
    }
  };
  docs.forEach(add);
  return out;
}

/** Validates objects; returns {problems: [{kind, name, path, message}], counts: Map, skipped: [...]}. */
export function validateObjects(objects, index = modelIndex()) {
  const problems = [];
  const counts = new Map();
  const skipped = [];
  for (const obj of objects) {
    if (typeof obj !== "object" || Array.isArray(obj)) {
      problems.push({ kind: "?", name: "?", path: "", message: `not an object: ${JSON.stringify(obj)}` });
      continue;
    }
    const kind = typeof obj.kind === "string" ? obj.kind : "?";
    const name = obj.metadata?.name ?? obj.metadata?.generateName ?? "?";
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      problems.push({ kind, name, path: "", message: "missing apiVersion or kind" });
      continue;
    }
    const group = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")[0] : "";
    if (SKIPPED_GROUPS.has(group)) {
      skipped.push(`${obj.apiVersion}/${kind}/${name}`);
      continue;
    }
    const model = index.get(`${obj.apiVersion}/${obj.kind}`);
    if (!model) {
      problems.push({ kind, name, path: "", message: `unknown apiVersion/kind ${obj.apiVersion}/${obj.kind}` });
      continue;
    }
    if (!kind.endsWith("List") && typeof obj.metadata?.name !== "string" && typeof obj.metadata?.generateName !== "string") {
      problems.push({ kind, name, path: "/metadata/name", message: "must have a name" });
    }
    try {
      new model(obj).validate();
    } catch (e) {
      const errors = Array.isArray(e.errors) && e.errors.length ? e.errors : [{ instancePath: "", message: e.message }];
      for (const err of errors) {
        let message = err.message ?? String(err);
        if (err.keyword === "enum" && err.params?.allowedValues) message += `: ${err.params.allowedValues.join(", ")}`;
        problems.push({ kind, name, path: err.instancePath || "/", message });
      }
    }
    for (const u of unknownFields(obj)) problems.push({ kind, name, path: u.path, message: u.message });
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return { problems, counts, skipped };
}

function main(argv) {
  if (argv.length === 0 || argv.includes("-h") || argv.includes("--help")) {
    process.stderr.write("usage: validate.mjs FILE... ('-' for stdin): JSON or multi-document YAML Kubernetes objects\n");
    return 2;
  }
  const index = modelIndex();
  let total = 0;
  let failed = false;
  const counts = new Map();
  for (const file of argv) {
    let objects;
    try {
      objects = parse(readFileSync(file === "-" ? 0 : file, "utf8"));
    } catch (e) {
      process.stderr.write(`error: ${file}: cannot read or parse: ${e.message.split("\n")[0]}\n`);
      return 2;
    }
    const result = validateObjects(objects, index);
    for (const s of result.skipped) process.stderr.write(`note: ${file}: ${s}: skipped (no schema for this group installed)\n`);
    for (const p of result.problems) process.stderr.write(`error: ${file}: ${p.kind}/${p.name}: ${p.path}: ${p.message}\n`);
    if (result.problems.length) failed = true;
    for (const [k, n] of result.counts) counts.set(k, (counts.get(k) ?? 0) + n);
    total += objects.length - result.skipped.length;
  }
  if (failed) return 1;
  if (total === 0) {
    process.stderr.write("error: no objects found\n");
    return 1;
  }
  const kinds = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => (n > 1 ? `${k} x${n}` : k));
  process.stdout.write(`ok: ${total} objects (${kinds.join(", ")})\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/validate.mjs")) {
  process.exitCode = main(process.argv.slice(2));
}
