import { type Check, type CheckResult, type DoctorContext, fail, pass } from '../check.ts';
import type { FunctionNeeds, SecretNeed } from '../shipped.ts';

/** The placeholder of infra/secrets/secrets.yaml: a template applied as it is. */
const placeholder = 'REPLACE-ME';

/**
 * The Secrets each function's func.yaml mounts (run.volumes) exist, with every key its `*_FILE` env
 * variables read, non-empty and not the template's placeholder. Values are read, never printed.
 */
export const functionSecrets: Check = {
  name: 'function-secrets',
  needsCluster: true,
  run: (context) => Promise.all(context.shipped.functions.map((fn) => functionResult(context, fn))),
};

async function functionResult(context: DoctorContext, fn: FunctionNeeds): Promise<CheckResult> {
  const check = `secrets ${fn.name}`;
  const found = await Promise.all(fn.secrets.map((need) => secretProblem(context, fn.namespace, need)));
  const problems = found.filter((problem) => problem !== undefined);
  if (problems.length)
    return fail(check, `${fn.name}: ${problems.map((problem) => problem.text).join('; ')}`, problems[0]!.fix);
  const listed = fn.secrets.map(
    (need) => `${need.name} (${need.keys.map((key) => key.key).join(', ') || 'mounted'})`,
  );
  return pass(
    check,
    `${fn.name}: Secret(s) ${listed.join(', ') || 'none needed'} present in ${fn.namespace}`,
  );
}

async function secretProblem(context: DoctorContext, namespace: string, need: SecretNeed) {
  const secret = await context.cluster.secret(namespace, need.name);
  const create = `kubectl -n ${namespace} create secret generic ${need.name} ${need.keys.map((key) => `--from-file=${key.key}=<file>`).join(' ')} (docs/deploy.md step 3)`;
  if (!secret) return { text: `Secret ${namespace}/${need.name} does not exist`, fix: create };
  const data = (secret.data ?? {}) as Record<string, string>;
  const decoded = (key: string) =>
    Buffer.from(data[key] ?? '', 'base64')
      .toString('utf8')
      .trim();
  const bad = need.keys.flatMap(({ key, env }) => {
    if (!(key in data)) return [`lacks key ${key} (read through ${env})`];
    if (!decoded(key)) return [`key ${key} is empty`];
    if (decoded(key) === placeholder) return [`key ${key} still holds the template's ${placeholder}`];
    return [];
  });
  if (!bad.length) return undefined;
  return {
    text: `Secret ${namespace}/${need.name} ${bad.join(', ')}`,
    fix: `kubectl -n ${namespace} delete secret ${need.name}, then ${create}`,
  };
}
