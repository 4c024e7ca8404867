// Tests of check-server.mjs on the real base render and on broken copies of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import { checkServer } from "../check-server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const render = spawnSync("kubectl", ["kustomize", "deploy/kubernetes/base"], { cwd: root, encoding: "utf8" });
const haveKubectl = render.status === 0;
const objects = () => loadAll(render.stdout);

test("the base render keeps the contract", { skip: !haveKubectl && "kubectl not found" }, () => {
  assert.deepEqual(checkServer(objects()), []);
});

test("a renamed key, a wrong provider and a writable root are reported", { skip: !haveKubectl && "kubectl not found" }, () => {
  const objs = objects();
  const cm = objs.find((o) => o.kind === "ConfigMap");
  cm.data.GPUDEV_KUBERNETES__IMAGE = cm.data.GPUDEV_KUBERNETES__DEFAULTIMAGE;
  delete cm.data.GPUDEV_KUBERNETES__DEFAULTIMAGE;
  const c = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
  c.env.find((e) => e.name === "GPUDEV_COMPUTE__PROVIDER").value = "local";
  c.securityContext.readOnlyRootFilesystem = false;
  const errors = checkServer(objs).join("\n");
  assert.match(errors, /ConfigMap .* keys .* differ/);
  assert.match(errors, /GPUDEV_COMPUTE__PROVIDER must be kubernetes/);
  assert.match(errors, /readOnlyRootFilesystem must be true/);
});
