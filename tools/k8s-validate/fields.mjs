// Unknown-field check ("strict" field validation, as `kubectl apply` does on a server): the
// compiled schemas of kubernetes-models accept unknown properties, so a typo such as
// `readinesProbe` would pass them. The package's TypeScript declarations list every field of every
// type; this module reads them (no TypeScript needed) and walks an object along them.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nodeModules = join(dirname(fileURLToPath(import.meta.url)), "node_modules");
const cache = new Map();

/** Text of a type after `"name"?:` up to the `;` that ends it at nesting depth 0. */
function readType(body, start) {
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === "{" || c === "<" || c === "(") depth++;
    else if (c === "}" || c === ">" || c === ")") depth--;
    else if (c === ";" && depth === 0) return [body.slice(start, i).replace(/\s+/g, ""), i + 1];
  }
  return [body.slice(start).replace(/\s+/g, ""), body.length];
}

/** {fields: Map(name -> type text), typeMeta, file} of the first interface in a .d.ts, or null. */
function declaration(file) {
  if (cache.has(file)) return cache.get(file);
  let result = null;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    const imports = new Map();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports.set(name, m[2]);
    }
    const head = /export interface \w+(?:\s+extends\s+([\w,\s]+))?\s*\{/.exec(text);
    if (head) {
      let depth = 1;
      let i = head.index + head[0].length;
      const start = i;
      for (; i < text.length && depth > 0; i++) {
        if (text[i] === "{") depth++;
        else if (text[i] === "}") depth--;
      }
      const body = text.slice(start, i - 1);
      const fields = new Map();
      let pos = 0;
      const prop = /"([^"]+)"\??:/g;
      while (pos < body.length) {
        prop.lastIndex = pos;
        const m = prop.exec(body);
        if (!m) break;
        const [type, next] = readType(body, m.index + m[0].length);
        fields.set(m[1], type);
        pos = next;
      }
      result = { fields, imports, file, typeMeta: /\bTypeMeta\b/.test(head[1] ?? "") };
    }
  }
  cache.set(file, result);
  return result;
}

function resolve(fromFile, spec) {
  const candidates = spec.startsWith(".")
    ? [join(dirname(fromFile), `${spec}.d.ts`)]
    : [join(nodeModules, `${spec}.d.ts`), join(nodeModules, "kubernetes-models", "node_modules", `${spec}.d.ts`)];
  return candidates.find((f) => existsSync(f)) ?? null;
}

/** Walks value along type text; pushes {path, message} for fields the declarations do not know. */
function walkType(value, type, decl, path, problems) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => walkType(v, m[1], decl, `${path}/${i}`, problems));
    return;
  }
  if ((m = /^\{\[key:string\]:(.+);?\}$/.exec(type))) {
    const inner = m[1].replace(/;$/, "");
    if (typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walkType(v, inner, decl, `${path}/${k}`, problems);
    }
    return;
  }
  if (/^\w+$/.test(type) && decl.imports.has(type)) {
    const file = resolve(decl.file, decl.imports.get(type));
    const target = file && declaration(file);
    if (target) walkObject(value, target, path, problems);
  }
}

function walkObject(value, decl, path, problems) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (decl.typeMeta && (key === "apiVersion" || key === "kind")) continue;
    const type = decl.fields.get(key);
    if (type === undefined) {
      problems.push({ path: `${path}/${key}`, message: `unknown field "${key}"` });
      continue;
    }
    walkType(v, type, decl, `${path}/${key}`, problems);
  }
}

/** Unknown fields of a top-level object; [] when its kind's declarations are not found. */
export function unknownFields(obj) {
  const file = join(nodeModules, "kubernetes-models", obj.apiVersion, `${obj.kind}.d.ts`);
  const decl = declaration(file);
  const problems = [];
  if (decl) walkObject(obj, decl, "", problems);
  return problems;
}
