// Tests of tools/check-dockerfile.mjs: `npm test` in tools/k8s-validate (deploy/check.sh runs them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { check, instructions } from "../check-dockerfile.mjs";

const rules = (text) => check(text).problems.map((p) => p.rule);

test("continuations are joined and comments inside them dropped", () => {
  const ins = instructions("FROM a:1\nRUN echo 1 \\\n  # note\n  && echo 2\n");
  assert.deepEqual(ins.map((i) => [i.line, i.keyword, i.args]), [[1, "FROM", "a:1"], [2, "RUN", "echo 1 && echo 2"]]);
});

test("a clean Dockerfile passes", () => {
  const text = [
    "ARG BASE=ubuntu:24.04",
    "FROM ${BASE} AS build",
    "RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*",
    "RUN python -m pip install --no-cache-dir numpy==2.2.6 'uvicorn[standard]==0.30.0'",
    "RUN npm install -g @anthropic-ai/claude-code@2.0.50",
    "RUN git clone --depth 1 --branch v0.7.1 https://example.com/x.git /opt/x",
    "FROM scratch",
    "COPY --from=build /opt/x /x",
  ].join("\n");
  assert.deepEqual(check(text).problems, []);
});

test("unpinned and latest images fail", () => {
  assert.deepEqual(rules("FROM ubuntu"), ["from-pinned"]);
  assert.ok(rules("FROM ubuntu:latest").includes("from-pinned"));
  assert.ok(rules("FROM ubuntu:latest").includes("no-latest"));
  assert.deepEqual(rules("FROM ubuntu@sha256:" + "a".repeat(64)), []);
  assert.deepEqual(rules("FROM a:1\nCOPY --from=busybox /bin/sh /sh"), ["from-pinned"]);
});

test("apt-get install needs -y, --no-install-recommends, update and cleanup in the same RUN", () => {
  assert.deepEqual(rules("FROM a:1\nRUN apt-get update && apt-get install -y --no-install-recommends x && rm -rf /var/lib/apt/lists/*"), []);
  assert.deepEqual(rules("FROM a:1\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*"), ["apt-install"]);
  assert.deepEqual(rules("FROM a:1\nRUN apt-get update && apt-get install --no-install-recommends -y x"), ["apt-install"]);
  assert.deepEqual(rules("FROM a:1\nRUN apt-get install -y --no-install-recommends x && rm -rf /var/lib/apt/lists/*"), ["apt-install"]);
  assert.deepEqual(rules("FROM a:1\nRUN apt update && apt-get upgrade -y"), ["apt-only", "apt-only"]);
});

test("pip packages must be pinned with ==", () => {
  assert.deepEqual(rules("FROM a:1\nRUN pip install --no-cache-dir pandas"), ["pip-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN pip install --no-cache-dir 'pandas>=2'"), ["pip-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN pip install pandas==2.3.3"), ["pip-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN pip3 install --no-cache-dir -r requirements.txt"), ["pip-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN pip install --no-cache-dir -i https://x/simple pandas==2.3.3"), []);
});

test("npm packages, git clones and piped installers", () => {
  assert.deepEqual(rules("FROM a:1\nRUN npm install -g typescript"), ["npm-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN git clone https://example.com/x.git"), ["git-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN git init x && git -C x fetch https://e/x.git main"), ["git-pinned"]);
  assert.deepEqual(rules("FROM a:1\nRUN git init x && git -C x fetch --depth 1 https://e/x.git \"$REF\" && git -C x checkout FETCH_HEAD"), []);
  assert.deepEqual(rules("FROM a:1\nRUN curl -fsSL https://example.com/install.sh | sh"), ["no-pipe-shell"]);
  assert.deepEqual(rules("FROM a:1\nADD https://example.com/x.tgz /x.tgz"), ["add-url"]);
});

test("the project's Dockerfiles pass", async () => {
  const { readFileSync } = await import("node:fs");
  for (const f of ["images/devserver/Dockerfile", "deploy/server/Dockerfile"]) {
    const url = new URL(`../../${f}`, import.meta.url);
    assert.deepEqual(check(readFileSync(url, "utf8")).problems, [], f);
  }
});
