// Tests of check-network.mjs on hand-made renders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNetwork } from "../check-network.mjs";

const ns = "gpu-dev";
const ours = { "app.kubernetes.io/managed-by": "gpu-dev" };
const good = () => [
  { kind: "Deployment", metadata: { name: "gpu-dev-server", namespace: ns },
    spec: { template: { metadata: { labels: { "app.kubernetes.io/name": "gpu-dev-server" } } } } },
  { kind: "NetworkPolicy", metadata: { name: "deny", namespace: ns }, spec: { podSelector: { matchLabels: { ...ours } }, policyTypes: ["Ingress", "Egress"] } },
  { kind: "NetworkPolicy", metadata: { name: "build", namespace: ns },
    spec: { podSelector: { matchLabels: { ...ours, "gpu-dev.io/role": "build" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] } },
];

test("a default deny and an egress-only build policy pass", () => assert.deepEqual(checkNetwork(good()), []));

test("no default deny fails", () => {
  const objs = good();
  objs.splice(1, 1);
  assert.match(checkNetwork(objs).join("\n"), /no default-deny NetworkPolicy/);
});

test("a deny that only covers ingress, or sits in another namespace, fails", () => {
  const ingressOnly = good();
  ingressOnly[1].spec.policyTypes = ["Ingress"];
  const elsewhere = good();
  elsewhere[1].metadata.namespace = "default";
  assert.match(checkNetwork(ingressOnly).join("\n"), /no default-deny/);
  assert.match(checkNetwork(elsewhere).join("\n"), /no default-deny/);
});

test("a manifest policy that opens ingress to gpu-dev's pods fails", () => {
  const objs = good();
  objs[2].spec.ingress = [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }];
  assert.match(checkNetwork(objs).join("\n"), /NetworkPolicy\/build: opens ingress/);
});

test("a server pod template without the label the reservations' policies let in fails", () => {
  const objs = good();
  objs[0].spec.template.metadata.labels = { app: "server" };
  assert.match(checkNetwork(objs).join("\n"), /must keep label app.kubernetes.io\/name=gpu-dev-server/);
});
