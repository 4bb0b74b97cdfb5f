/**
 * Validates Kubernetes objects against the upstream API schema (Kubernetes'
 * OpenAPI, compiled into validators by the kubernetes-models package). That
 * package is ESM only, which jest's module loader cannot load, so checks.ts
 * runs this file in a child process:
 *
 *   node --import tsx test/unit/deploy/k8s-upstream.ts < [{ "where": "...", "doc": {...} }, ...]
 *
 * Prints a JSON array of problems (empty when every object is valid).
 */
interface Item {
  where: string;
  doc: { apiVersion?: string; kind?: string };
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

async function main(): Promise<void> {
  const items = JSON.parse(await readStdin()) as Item[];
  const problems: string[] = [];
  for (const { where, doc } of items) {
    const { apiVersion, kind } = doc;
    if (!apiVersion || !kind || !/^[A-Za-z0-9.]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) {
      problems.push(`${where}: not a Kubernetes object (apiVersion ${apiVersion}, kind ${kind})`);
      continue;
    }
    let Model: new (data: unknown) => { validate(): void };
    try {
      Model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind];
    } catch {
      problems.push(`${where}: Kubernetes has no ${apiVersion} ${kind} (kubernetes-models knows no such kind)`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (err) {
      const e = err as { message?: string; errors?: Array<{ instancePath?: string; message?: string }> };
      const details = e.errors?.length ? e.errors.map((x) => `${x.instancePath || "/"} ${x.message}`).join("; ") : e.message;
      problems.push(`${where}: ${apiVersion} ${kind} does not match the Kubernetes API schema: ${details}`);
    }
  }
  process.stdout.write(JSON.stringify(problems));
}

main().catch((err: Error) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
