#!/usr/bin/env node
// Pinning and hygiene rules for the project's Dockerfiles (hadolint is not available offline here).
//
//   node tools/check-dockerfile.mjs Dockerfile...
//
// Rules (each violation: "error: FILE:LINE: message"; exit 1; all clean: "ok: FILE (N instructions)"):
//   from-pinned     FROM / COPY --from images carry a tag or digest, never `latest` (stage names and
//                   `scratch` excepted; ARG defaults declared before FROM are substituted)
//   no-latest       no `:latest` anywhere outside comments
//   apt-install     `apt-get install` runs with -y and --no-install-recommends, after `apt-get update`
//                   in the same RUN, which ends by removing /var/lib/apt/lists/*
//   apt-only        no `apt install` (unstable CLI), no `apt-get upgrade`/`dist-upgrade`
//   pip-pinned      every `pip install` package is NAME==VERSION (or NAME[extra]==VERSION), with
//                   --no-cache-dir; no -r/-e/--upgrade of unpinned packages
//   npm-pinned      every `npm install`/`npm i` package is NAME@X.Y.Z
//   no-pipe-shell   no `curl|wget ... | sh|bash`
//   git-pinned      `git clone` names --branch (a tag), or the RUN checks out a fetched commit
//   add-url         no ADD of a URL without --checksum
import { readFileSync } from "node:fs";

/** Splits a Dockerfile into instructions {line, keyword, args} (continuations joined, comments dropped). */
export function instructions(text) {
  const lines = text.split(/\r?\n/);
  const out = [];
  let current = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (/^\s*#/.test(raw)) continue; // comments (also inside continuations) and parser directives
    if (current === null && raw.trim() === "") continue;
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, "") : raw;
    if (current === null) {
      const m = /^\s*(\S+)\s*(.*)$/.exec(body);
      current = { line: i + 1, keyword: m[1].toUpperCase(), args: m[2].trimEnd() };
    } else {
      current.args += " " + body.trim();
    }
    if (!continues) {
      current.args = current.args.trim();
      out.push(current);
      current = null;
    }
  }
  if (current) out.push(current);
  return out;
}

/** Shell words with separators (&&, ||, ;, |) as their own tokens; quotes removed. */
export function words(s) {
  const out = [];
  let cur = "";
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"') {
      const end = s.indexOf(c, i + 1);
      cur += s.slice(i + 1, end < 0 ? s.length : end);
      has = true;
      i = end < 0 ? s.length : end;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else if ((c === "&" && s[i + 1] === "&") || (c === "|" && s[i + 1] === "|")) {
      if (has) out.push(cur);
      out.push(c + c);
      cur = "";
      has = false;
      i++;
    } else if (c === ";" || c === "|") {
      if (has) out.push(cur);
      out.push(c);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Simple commands of a RUN line: arrays of words, split at separators. */
function commands(args) {
  const cmds = [[]];
  const pipes = [];
  for (const w of words(args)) {
    if (["&&", "||", ";", "|"].includes(w)) {
      if (w === "|") pipes.push(cmds.length - 1);
      cmds.push([]);
    } else {
      cmds[cmds.length - 1].push(w);
    }
  }
  return { cmds: cmds.filter((c) => c.length), pipes };
}

const PIP_OPTS_WITH_VALUE = new Set([
  "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-t", "--target", "--prefix", "--root",
  "-f", "--find-links", "--platform", "--python-version", "--implementation", "--abi", "--progress-bar",
  "--cache-dir", "--src", "--upgrade-strategy", "--trusted-host", "--log", "--timeout", "--retries", "--only-binary", "--no-binary",
]);
const PIP_PIN = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$/;
const NPM_PIN = /^(@[a-z0-9._-]+\/)?[a-z0-9._-]+@\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

function imageProblem(ref, args, aliases) {
  if (ref === "scratch" || aliases.has(ref.toLowerCase())) return null;
  const resolved = ref.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name) => args.get(name) ?? "");
  if (resolved.includes("@sha256:")) return null;
  const lastSlash = resolved.lastIndexOf("/");
  const colon = resolved.indexOf(":", lastSlash + 1);
  if (colon < 0) return `image ${ref} has no tag or digest`;
  if (resolved.slice(colon + 1) === "latest") return `image ${ref} uses the latest tag`;
  return null;
}

function checkRun(run, problems) {
  const { cmds, pipes } = commands(run.args);
  const flat = cmds.flat();
  const add = (rule, message) => problems.push({ line: run.line, rule, message });
  const isCmd = (cmd, ...names) => names.includes(cmd[0]) || (cmd[0] === "sudo" && names.includes(cmd[1]));

  for (const [ci, cmd] of cmds.entries()) {
    const at = (name) => cmd.indexOf(name);
    // apt
    if (isCmd(cmd, "apt")) add("apt-only", "use apt-get, not apt, in scripts");
    if (isCmd(cmd, "apt-get") && (cmd.includes("upgrade") || cmd.includes("dist-upgrade"))) {
      add("apt-only", "apt-get upgrade makes the image depend on the build day; pin the base image instead");
    }
    if (isCmd(cmd, "apt-get") && cmd.includes("install")) {
      if (!cmd.includes("--no-install-recommends")) add("apt-install", "apt-get install without --no-install-recommends");
      if (!cmd.some((w) => w === "-y" || w === "--yes" || /^-[a-z]*y[a-z]*$/.test(w))) add("apt-install", "apt-get install without -y");
      const updated = cmds.slice(0, ci).some((c) => isCmd(c, "apt-get") && c.includes("update"));
      if (!updated) add("apt-install", "apt-get install without apt-get update earlier in the same RUN");
      const cleaned = cmds.slice(ci + 1).some((c) => c[0] === "rm" && c.some((w) => w.startsWith("/var/lib/apt/lists")));
      if (!cleaned) add("apt-install", "apt-get install without rm -rf /var/lib/apt/lists/* later in the same RUN");
    }
    // pip
    let pip = -1;
    if ((cmd[0] === "pip" || cmd[0] === "pip3") && cmd[1] === "install") pip = 2;
    else if (/^python[0-9.]*$/.test(cmd[0]) && cmd[1] === "-m" && cmd[2] === "pip" && cmd[3] === "install") pip = 4;
    if (pip >= 0) {
      if (!cmd.includes("--no-cache-dir")) add("pip-pinned", "pip install without --no-cache-dir");
      for (let i = pip; i < cmd.length; i++) {
        const w = cmd[i];
        if (w === "-r" || w === "--requirement" || w === "-e" || w === "--editable") {
          add("pip-pinned", `pip install ${w}: list pinned packages in the Dockerfile instead`);
          i++;
        } else if (PIP_OPTS_WITH_VALUE.has(w)) {
          i++;
        } else if (w.startsWith("-")) {
          continue;
        } else if (!PIP_PIN.test(w)) {
          add("pip-pinned", `pip package '${w}' is not pinned as NAME==VERSION`);
        }
      }
    }
    // npm
    if (cmd[0] === "npm" && (cmd[1] === "install" || cmd[1] === "i" || cmd[1] === "add")) {
      for (const w of cmd.slice(2)) {
        if (!w.startsWith("-") && !NPM_PIN.test(w)) add("npm-pinned", `npm package '${w}' is not pinned as NAME@X.Y.Z`);
      }
    }
    // git
    if (cmd[0] === "git" && cmd.includes("clone")) {
      const branch = at("--branch") >= 0 ? at("--branch") : at("-b");
      if (branch < 0 || !cmd[branch + 1]) add("git-pinned", "git clone without --branch <tag>");
    }
  }
  // a `git fetch` must be of a fixed commit that is then checked out
  const fetches = cmds.some((c) => c[0] === "git" && c.includes("fetch"));
  if (fetches && !flat.includes("FETCH_HEAD") && !flat.some((w) => /^[0-9a-f]{40}$/.test(w))) {
    add("git-pinned", "git fetch without checking out a pinned commit");
  }
  for (const p of pipes) {
    const left = cmds[p];
    const right = cmds[p + 1];
    if (left && right && (left[0] === "curl" || left[0] === "wget") && ["sh", "bash", "zsh"].includes(right[0])) {
      add("no-pipe-shell", `${left[0]} piped into ${right[0]}: download, verify a checksum, then run`);
    }
  }
}

export function check(text) {
  const problems = [];
  const ins = instructions(text);
  const globalArgs = new Map();
  const aliases = new Set();
  let seenFrom = false;
  for (const i of ins) {
    if (i.keyword === "ARG" && !seenFrom) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(i.args);
      if (m) globalArgs.set(m[1], (m[2] ?? "").replace(/^["']|["']$/g, ""));
    }
    if (i.keyword === "FROM") {
      seenFrom = true;
      const w = words(i.args).filter((x) => !x.startsWith("--"));
      const p = imageProblem(w[0] ?? "", globalArgs, aliases);
      if (p) problems.push({ line: i.line, rule: "from-pinned", message: p });
      const as = w.findIndex((x) => x.toLowerCase() === "as");
      if (as >= 0 && w[as + 1]) aliases.add(w[as + 1].toLowerCase());
    }
    if (i.keyword === "COPY") {
      const from = words(i.args).find((x) => x.startsWith("--from="));
      if (from) {
        const ref = from.slice("--from=".length);
        const p = /^\d+$/.test(ref) ? null : imageProblem(ref, globalArgs, aliases);
        if (p) problems.push({ line: i.line, rule: "from-pinned", message: p });
      }
    }
    if (i.keyword === "ADD") {
      const w = words(i.args);
      if (w.some((x) => /^https?:\/\//.test(x)) && !w.some((x) => x.startsWith("--checksum="))) {
        problems.push({ line: i.line, rule: "add-url", message: "ADD of a URL without --checksum" });
      }
    }
    if (/:latest\b/.test(i.args)) problems.push({ line: i.line, rule: "no-latest", message: "`:latest` is not a pin" });
    if (i.keyword === "RUN") checkRun(i, problems);
  }
  if (!ins.some((i) => i.keyword === "FROM")) problems.push({ line: 1, rule: "from-pinned", message: "no FROM" });
  return { problems, count: ins.length };
}

function main(files) {
  if (!files.length) {
    process.stderr.write("usage: check-dockerfile.mjs Dockerfile...\n");
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const { problems, count } = check(readFileSync(file, "utf8"));
    // one line per problem, de-duplicated (the no-latest and from-pinned rules can both fire)
    const seen = new Set();
    for (const p of problems) {
      const line = `error: ${file}:${p.line}: ${p.message} [${p.rule}]`;
      if (!seen.has(line)) process.stderr.write(line + "\n");
      seen.add(line);
    }
    if (problems.length) failed = true;
    else process.stdout.write(`ok: ${file} (${count} instructions)\n`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith("/check-dockerfile.mjs")) {
  process.exitCode = main(process.argv.slice(2));
}
