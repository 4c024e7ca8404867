// Tests of check-rbac.mjs on hand-made renders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRbac } from "../check-rbac.mjs";

const ns = "gpu-dev";
const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "s", namespace: ns } };
const rule = (groups, resources, verbs) => ({ apiGroups: groups, resources, verbs });
const good = () => [
  sa,
  { kind: "Role", metadata: { name: "r", namespace: ns }, rules: [
    rule([""], ["pods"], ["get", "list", "watch", "create", "delete"]),
    rule([""], ["pods/log"], ["get"]),
    rule([""], ["services", "secrets", "configmaps", "persistentvolumeclaims"], ["get", "list", "watch", "create", "delete", "patch"]),
    rule([""], ["events"], ["get", "list", "watch"]),
    rule(["batch"], ["jobs"], ["get", "list", "watch", "create", "delete"]),
    rule(["networking.k8s.io"], ["networkpolicies"], ["list", "create", "delete"]),
    rule(["snapshot.storage.k8s.io"], ["volumesnapshots"], ["get", "list", "watch", "create", "delete"]),
  ] },
  { kind: "ClusterRole", metadata: { name: "c" }, rules: [rule([""], ["nodes"], ["get", "list", "watch"]), rule([""], ["pods"], ["list"])] },
  { kind: "RoleBinding", metadata: { name: "rb", namespace: ns }, roleRef: { kind: "Role", name: "r" },
    subjects: [{ kind: "ServiceAccount", name: "s", namespace: ns }] },
  { kind: "ClusterRoleBinding", metadata: { name: "crb" }, roleRef: { kind: "ClusterRole", name: "c" },
    subjects: [{ kind: "ServiceAccount", name: "s", namespace: ns }] },
];

test("the exact rules pass", () => assert.deepEqual(checkRbac(good()), []));

test("an extra verb, a missing resource and a wildcard fail", () => {
  const objs = good();
  objs[1].rules[0].verbs.push("patch");
  objs[1].rules.splice(1, 1);
  objs[2].rules.push(rule(["*"], ["*"], ["*"]));
  const errors = checkRbac(objs).join("\n");
  assert.match(errors, /grants core:pods:patch/);
  assert.match(errors, /lacks core:pods\/log:get/);
  assert.match(errors, /'\*' wildcard/);
});

test("a binding to another account or namespace fails", () => {
  const objs = good();
  objs[4].subjects[0].namespace = "default";
  assert.match(checkRbac(objs).join("\n"), /ClusterRoleBinding\/crb: subjects must be exactly ServiceAccount gpu-dev\/s/);
});
