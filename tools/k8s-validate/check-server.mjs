#!/usr/bin/env node
// Asserts the server Deployment in a rendered kustomization keeps the contract other code relies on:
// the ConfigMap keys the Kubernetes provider reads, the provider/store/URL environment, the
// PostgreSQL Secret reference, probes, non-root + read-only root with a writable /tmp, the Service
// and the shared RWX claims named by the ConfigMap.
//
//   node tools/k8s-validate/check-server.mjs FILE...   -> "ok: FILE: server" or "error: FILE: ..." (exit 1)
import { readFileSync } from "node:fs";
import { parse } from "./validate.mjs";

export const CONFIG_KEYS = [
  "GPUDEV_KUBERNETES__NAMESPACE",
  "GPUDEV_KUBERNETES__DEFAULTIMAGE",
  "GPUDEV_KUBERNETES__STORAGECLASS",
  "GPUDEV_KUBERNETES__SHAREDPERSONALCLAIM",
  "GPUDEV_KUBERNETES__CCACHECLAIM",
  "GPUDEV_KUBERNETES__GPUTYPELABEL",
  "GPUDEV_KUBERNETES__BUILDREGISTRY",
];

export function checkServer(objects) {
  const errors = [];
  const find = (kind, name) => objects.find((o) => o?.kind === kind && (name === undefined || o.metadata?.name === name));
  const deployment = find("Deployment", "gpu-dev-server");
  if (!deployment) return ["no Deployment gpu-dev-server"];
  const ns = deployment.metadata?.namespace;
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "server") ?? pod.containers[0];
  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  const expectValue = (name, value) => {
    if (env.get(name)?.value !== value) errors.push(`env ${name} must be ${value}`);
  };
  expectValue("GPUDEV_STORAGE__PROVIDER", "postgres");
  expectValue("GPUDEV_COMPUTE__PROVIDER", "kubernetes");
  expectValue("GPUDEV_URLS", "http://0.0.0.0:8484");
  const secret = env.get("GPUDEV_STORAGE__POSTGRES")?.valueFrom?.secretKeyRef;
  if (secret?.name !== "gpu-dev-postgres" || secret?.key !== "connection-string") {
    errors.push("env GPUDEV_STORAGE__POSTGRES must come from Secret gpu-dev-postgres key connection-string");
  }

  const cmName = (container.envFrom ?? []).map((e) => e.configMapRef?.name).find(Boolean);
  const cm = cmName && find("ConfigMap", cmName);
  if (!cm) {
    errors.push(`envFrom ConfigMap ${cmName ?? "(none)"} is not in the manifests`);
  } else {
    const keys = Object.keys(cm.data ?? {}).sort();
    const expected = [...CONFIG_KEYS].sort();
    if (JSON.stringify(keys) !== JSON.stringify(expected)) {
      errors.push(`ConfigMap ${cmName} keys ${keys.join(",")} differ from ${expected.join(",")}`);
    }
    if (cm.data.GPUDEV_KUBERNETES__NAMESPACE !== ns) errors.push(`GPUDEV_KUBERNETES__NAMESPACE is not the namespace ${ns} the Role grants`);
    for (const key of ["GPUDEV_KUBERNETES__SHAREDPERSONALCLAIM", "GPUDEV_KUBERNETES__CCACHECLAIM"]) {
      const pvc = find("PersistentVolumeClaim", cm.data[key]);
      if (!pvc || !pvc.spec?.accessModes?.includes("ReadWriteMany")) errors.push(`${key}: no ReadWriteMany claim ${cm.data[key]}`);
    }
  }

  const port = (container.ports ?? []).find((p) => p.containerPort === 8484);
  if (!port) errors.push("container does not expose 8484");
  const probe = (p, path) => {
    const get = container[p]?.httpGet;
    if (get?.path !== path || !(get.port === 8484 || get.port === port?.name)) errors.push(`${p} must GET ${path} on 8484`);
  };
  probe("readinessProbe", "/readyz");
  probe("livenessProbe", "/healthz");

  if (pod.securityContext?.runAsNonRoot !== true) errors.push("pod securityContext.runAsNonRoot must be true");
  if (container.securityContext?.readOnlyRootFilesystem !== true) errors.push("readOnlyRootFilesystem must be true");
  if (container.securityContext?.allowPrivilegeEscalation !== false) errors.push("allowPrivilegeEscalation must be false");
  const tmp = (container.volumeMounts ?? []).find((m) => m.mountPath === "/tmp");
  if (!tmp || !(pod.volumes ?? []).some((v) => v.name === tmp.name && v.emptyDir)) errors.push("/tmp must be an emptyDir");
  if (!find("ServiceAccount", pod.serviceAccountName)) errors.push(`ServiceAccount ${pod.serviceAccountName} is not in the manifests`);

  const service = find("Service", "gpu-dev-server");
  const labels = deployment.spec.template.metadata?.labels ?? {};
  if (!service) {
    errors.push("no Service gpu-dev-server");
  } else {
    const sp = service.spec.ports?.[0];
    if (sp?.port !== 80 || !(sp.targetPort === 8484 || sp.targetPort === port?.name)) errors.push("Service must map 80 to 8484");
    if (!Object.entries(service.spec.selector ?? {}).every(([k, v]) => labels[k] === v) || !service.spec.selector) {
      errors.push("Service selector does not match the pod labels");
    }
  }
  return errors;
}

function main(files) {
  if (!files.length) {
    process.stderr.write("usage: check-server.mjs FILE...\n");
    return 2;
  }
  let failed = false;
  for (const file of files) {
    const errors = checkServer(parse(readFileSync(file, "utf8")));
    for (const e of errors) process.stderr.write(`error: ${file}: ${e}\n`);
    if (errors.length) failed = true;
    else process.stdout.write(`ok: ${file}: server\n`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1]?.endsWith("/check-server.mjs")) {
  process.exitCode = main(process.argv.slice(2));
}
