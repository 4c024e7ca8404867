#!/usr/bin/env node
// Asserts that a rendered kustomization closes the network of every pod the provider creates:
// a NetworkPolicy in the server's namespace selecting `app.kubernetes.io/managed-by: gpu-dev`
// (the label on every environment, build and lister pod) with policyTypes Ingress and Egress and no
// rules (default deny), and that no other policy opens ingress to those pods (environments are
// opened per reservation by the provider, not by the manifests), and that the server's pods keep the
// label those per-reservation policies let in to sshd.
//
//   node tools/k8s-validate/check-network.mjs FILE...   -> "ok: FILE: network" or "error: FILE: ..." (exit 1)
import { readFileSync } from "node:fs";
import { parse } from "./validate.mjs";

const MANAGED = ["app.kubernetes.io/managed-by", "gpu-dev"];

const selectsOurs = (policy) => policy.spec?.podSelector?.matchLabels?.[MANAGED[0]] === MANAGED[1];

export function checkNetwork(objects) {
  const errors = [];
  const deployment = objects.find((o) => o?.kind === "Deployment" && o.metadata?.name === "gpu-dev-server");
  const ns = deployment?.metadata?.namespace;
  const policies = objects.filter((o) => o?.kind === "NetworkPolicy" && o.metadata?.namespace === ns);
  const deny = policies.find((p) => {
    const s = p.spec ?? {};
    const selector = s.podSelector ?? {};
    return selectsOurs(p) && Object.keys(selector.matchLabels).length === 1 && !selector.matchExpressions?.length
      && ["Ingress", "Egress"].every((t) => s.policyTypes?.includes(t)) && !s.ingress?.length && !s.egress?.length;
  });
  if (!deny) {
    errors.push(`no default-deny NetworkPolicy (podSelector ${MANAGED[0]}=${MANAGED[1]}, policyTypes Ingress+Egress, no rules) in namespace ${ns}`);
  }
  // The provider's per-reservation policy lets pods with this label reach sshd for the readiness handshake.
  if (deployment?.spec?.template?.metadata?.labels?.["app.kubernetes.io/name"] !== "gpu-dev-server") {
    errors.push("Deployment/gpu-dev-server: pod template must keep label app.kubernetes.io/name=gpu-dev-server (reservations' NetworkPolicies let it in to sshd)");
  }
  for (const p of policies) {
    if (p !== deny && selectsOurs(p) && p.spec?.ingress?.length) {
      errors.push(`NetworkPolicy/${p.metadata.name}: opens ingress to gpu-dev's pods; the provider opens each reservation's own`);
    }
  }
  return errors;
}

function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: check-network.mjs FILE...\n");
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const errors = checkNetwork(parse(readFileSync(file === "-" ? 0 : file, "utf8")));
    for (const e of errors) process.stderr.write(`error: ${file}: ${e}\n`);
    if (errors.length) failed = true;
    else process.stdout.write(`ok: ${file}: network\n`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith("/check-network.mjs")) {
  process.exitCode = main(process.argv.slice(2));
}
