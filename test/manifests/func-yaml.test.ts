/**
 * func.yaml files: only the fields knative func's own schema allows, one per function, each selecting
 * its handler, running as its ServiceAccount, scaling to zero, with config the code accepts and secrets
 * that exist (as templates) where the descriptor mounts them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { redisConfig } from '../../functions/lib/config.ts';
import {
  envOf,
  type FuncDescriptor,
  functionNames,
  ofKind,
  readFunctionDescriptor,
  readYamlFile,
  renderKustomization,
  repoRoot,
} from './manifests.ts';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'func-yaml.schema.json'), 'utf8'));
// strictTypes off: the upstream schema puts a `pattern` on the integer RunAsUser.
// Both are CommonJS modules whose class / plugin is their `default` export.
const ajv = new AjvDraft04.default({ allErrors: true, strictTypes: false });
ajvFormats.default(ajv);
const validateFuncYaml = ajv.compile(schema);

function schemaErrors(descriptor: unknown): string[] {
  if (validateFuncYaml(descriptor)) return [];
  return (validateFuncYaml.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

const root = readYamlFile('func.yaml') as FuncDescriptor;
const descriptors = functionNames.map((name) => [name, readFunctionDescriptor(name)] as const);
const infra = renderKustomization('infra');
const secretTemplates = ofKind(renderKustomization('infra/secrets'), 'Secret');
const services = ofKind(infra, 'Service');

describe('func.yaml schema', () => {
  it.each([['(root)', root] as const, ...descriptors])(
    '%s holds only fields the func.yaml schema allows',
    (_name, d) => {
      expect(schemaErrors(d)).toEqual([]);
    },
  );

  it('rejects fields func does not know, and a timeout (func.yaml has none)', () => {
    const withTimeout = { ...root, deploy: { options: { timeoutSeconds: 600 } } };
    expect(schemaErrors(withTimeout).join('\n')).toMatch(/additionalProperty.*timeoutSeconds/);
    expect(schemaErrors({ ...root, name: 'Not_A_Name' }).join('\n')).toMatch(/\/name must match pattern/);
  });

  it('exists for exactly the functions the code defines', () => {
    const dirs = readdirSync(join(repoRoot, 'functions'), { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && readdirSync(join(repoRoot, 'functions', entry.name)).includes('func.yaml'),
      )
      .map((entry) => entry.name)
      .sort();
    expect(dirs).toEqual([...functionNames].sort());
  });
});

describe.each(descriptors)('functions/%s/func.yaml', (name, descriptor) => {
  const env = envOf(descriptor);

  it('names the function and selects its handler in the one image', () => {
    expect(descriptor.name).toBe(name);
    expect(descriptor.runtime).toBe(root.runtime);
    expect(env.get('HEAPDUMP_FUNCTION')).toBe(name);
  });

  it('deploys into the namespace of the Broker, as its own ServiceAccount, scaling to zero', () => {
    const broker = ofKind(renderKustomization('eventing'), 'Broker')[0];
    expect(descriptor.deploy?.namespace).toBe(broker?.metadata.namespace);
    const account = descriptor.deploy?.serviceAccountName;
    expect(
      ofKind(infra, 'ServiceAccount').some(
        (sa) => sa.metadata.name === account && sa.metadata.namespace === descriptor.deploy?.namespace,
      ),
    ).toBe(true);
    expect(descriptor.deploy?.options?.scale?.min).toBe(0);
    expect(descriptor.deploy?.options?.scale?.max).toBeGreaterThan(0);
  });

  it('creates no Triggers (they carry no delivery settings; eventing/ has the real ones)', () => {
    expect(descriptor.deploy?.subscriptions).toBeUndefined();
  });

  it('is reachable only inside the cluster', () => {
    expect(descriptor.deploy?.labels).toContainEqual({
      key: 'networking.knative.dev/visibility',
      value: 'cluster-local',
    });
  });

  it('reads every *_FILE secret from a mounted Secret that has that key', () => {
    const volumes = descriptor.run?.volumes ?? [];
    const files = [...env].filter(([key]) => key.endsWith('_FILE'));
    for (const [key, path] of files) {
      const volume = volumes.find((v) => v.secret && v.path && path.startsWith(`${v.path}/`));
      expect(volume, `${key}=${path} is not inside a mounted Secret`).toBeDefined();
      const secret = secretTemplates.find(
        (s) => s.metadata.name === volume?.secret && s.metadata.namespace === descriptor.deploy?.namespace,
      );
      expect(secret?.stringData, `Secret ${volume?.secret} template`).toHaveProperty([
        path.slice((volume?.path ?? '').length + 1),
      ]);
    }
    for (const [key, value] of env) {
      expect(/TOKEN$|PASSWORD$|SECRET$|KEY$|CONNECTION_STRING$/.test(key), `${key}=${value} inline`).toBe(
        false,
      );
    }
  });

  it('points at Services that infra/ defines, on their ports', () => {
    for (const [hostVar, portVar] of [
      ['REDIS_REST_URL', undefined],
      ['SFTP_HOST', 'SFTP_PORT'],
    ] as const) {
      const value = env.get(hostVar);
      if (!value) continue;
      const url = new URL(value.includes('://') ? value : `ssh://${value}`);
      const [service, namespace, svc] = url.hostname.split('.');
      expect(svc).toBe('svc');
      const port = Number(portVar ? env.get(portVar) : url.port || (url.protocol === 'https:' ? 443 : 80));
      const target = services.find((s) => s.metadata.name === service && s.metadata.namespace === namespace);
      expect(target, `${hostVar}: no Service ${service}.${namespace}`).toBeDefined();
      expect(target?.spec.ports.map((p: { port: number }) => p.port)).toContain(port);
    }
  });

  it('gives Redis settings the config schema accepts, the same as every other function', () => {
    if (!env.has('REDIS_REST_URL')) return;
    expect(env.get('REDIS_REST_TOKEN_FILE')).toBeDefined();
    const parsed = redisConfig.safeParse({ ...Object.fromEntries(env), REDIS_REST_TOKEN: 'from-the-secret' });
    expect(parsed.error?.issues ?? []).toEqual([]);
    for (const [other, otherDescriptor] of descriptors) {
      const otherEnv = envOf(otherDescriptor);
      if (!otherEnv.has('REDIS_REST_URL')) continue;
      for (const key of Object.keys(redisConfig.shape)) {
        if (key === 'LOG_LEVEL') continue;
        expect(otherEnv.get(key), `${key} in ${other}`).toBe(env.get(key));
      }
    }
  });
});
