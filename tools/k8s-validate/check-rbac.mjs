#!/usr/bin/env node
// Asserts that the RBAC in rendered manifests is exactly what the Kubernetes compute provider needs.
//
//   node tools/k8s-validate/check-rbac.mjs FILE...   (each FILE: one rendered kustomization, YAML or JSON)
//
// Per file: exactly one Role and one ClusterRole; the Role's rules, expanded to
// (apiGroup, resource, verb) triples, equal NAMESPACED below and the ClusterRole's equal CLUSTER;
// no '*' anywhere, no resourceNames/nonResourceURLs; each binding points at that Role/ClusterRole
// and at the ServiceAccount the Deployment (if any) runs as, in the Role's namespace.
// Prints "ok: FILE: rbac" per file, or "error: FILE: ..." lines and exits 1.
import { readFileSync } from "node:fs";
import { parse } from "./validate.mjs";

const VERBS_RW = ["get", "list", "watch", "create", "delete", "patch"];
const NAMESPACED = expand([
  ["", ["pods"], ["get", "list", "watch", "create", "delete"]],
  ["", ["pods/log"], ["get"]],
  ["", ["services", "secrets", "configmaps", "persistentvolumeclaims"], VERBS_RW],
  ["", ["events"], ["get", "list", "watch"]],
  ["batch", ["jobs"], ["get", "list", "watch", "create", "delete"]],
  ["networking.k8s.io", ["networkpolicies"], ["list", "create", "delete"]],
  ["snapshot.storage.k8s.io", ["volumesnapshots"], ["get", "list", "watch", "create", "delete"]],
]);
// Pods: list only (DiscoverNodesAsync's ListPodForAllNamespaces); watches and reads of pods are namespaced.
const CLUSTER = expand([["", ["nodes"], ["get", "list", "watch"]], ["", ["pods"], ["list"]]]);

function expand(rules) {
  const out = new Set();
  for (const [group, resources, verbs] of rules) {
    for (const r of resources) for (const v of verbs) out.add(`${group || "core"}:${r}:${v}`);
  }
  return out;
}

function triples(role, errors, where) {
  const out = new Set();
  for (const [i, rule] of (role.rules ?? []).entries()) {
    if (rule.resourceNames?.length || rule.nonResourceURLs?.length) errors.push(`${where}: rules[${i}] has resourceNames/nonResourceURLs`);
    const all = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...(rule.verbs ?? [])];
    if (all.some((x) => x.includes("*"))) errors.push(`${where}: rules[${i}] uses a '*' wildcard`);
    for (const g of rule.apiGroups ?? []) for (const r of rule.resources ?? []) for (const v of rule.verbs ?? []) out.add(`${g || "core"}:${r}:${v}`);
  }
  return out;
}

function diff(actual, expected, where, errors) {
  for (const t of actual) if (!expected.has(t)) errors.push(`${where}: grants ${t} which the provider does not need`);
  for (const t of expected) if (!actual.has(t)) errors.push(`${where}: lacks ${t} which the provider needs`);
}

export function checkRbac(objects) {
  const errors = [];
  const of = (kind) => objects.filter((o) => o?.kind === kind);
  const roles = of("Role");
  const clusterRoles = of("ClusterRole");
  if (roles.length !== 1) errors.push(`expected exactly one Role, found ${roles.length}`);
  if (clusterRoles.length !== 1) errors.push(`expected exactly one ClusterRole, found ${clusterRoles.length}`);
  if (errors.length) return errors;
  const [role] = roles;
  const [clusterRole] = clusterRoles;
  const ns = role.metadata?.namespace;
  if (!ns) errors.push(`Role/${role.metadata?.name}: has no namespace`);
  diff(triples(role, errors, `Role/${role.metadata.name}`), NAMESPACED, `Role/${role.metadata.name}`, errors);
  diff(triples(clusterRole, errors, `ClusterRole/${clusterRole.metadata.name}`), CLUSTER, `ClusterRole/${clusterRole.metadata.name}`, errors);

  const accounts = of("ServiceAccount");
  const deployment = of("Deployment")[0];
  const account = deployment?.spec?.template?.spec?.serviceAccountName ?? accounts[0]?.metadata?.name;
  if (!accounts.some((a) => a.metadata?.name === account && a.metadata?.namespace === ns)) {
    errors.push(`ServiceAccount ${ns}/${account} (the server's) is not in the manifests`);
  }
  for (const [kind, target] of [["RoleBinding", role], ["ClusterRoleBinding", clusterRole]]) {
    const bindings = of(kind);
    if (bindings.length !== 1) {
      errors.push(`expected exactly one ${kind}, found ${bindings.length}`);
      continue;
    }
    const [b] = bindings;
    if (b.roleRef?.kind !== target.kind || b.roleRef?.name !== target.metadata.name) {
      errors.push(`${kind}/${b.metadata?.name}: roleRef ${b.roleRef?.kind}/${b.roleRef?.name} is not ${target.kind}/${target.metadata.name}`);
    }
    const subjects = b.subjects ?? [];
    if (subjects.length !== 1 || subjects[0].kind !== "ServiceAccount" || subjects[0].name !== account || subjects[0].namespace !== ns) {
      errors.push(`${kind}/${b.metadata?.name}: subjects must be exactly ServiceAccount ${ns}/${account}`);
    }
  }
  return errors;
}

function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: check-rbac.mjs FILE...\n");
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const errors = checkRbac(parse(readFileSync(file === "-" ? 0 : file, "utf8")));
    for (const e of errors) process.stderr.write(`error: ${file}: ${e}\n`);
    if (errors.length) failed = true;
    else process.stdout.write(`ok: ${file}: rbac\n`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith("/check-rbac.mjs")) {
  process.exitCode = main(process.argv.slice(2));
}
