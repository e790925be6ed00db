// The Kubernetes examples: the DaemonSet's agent.yaml loads with the config loader and with
// `logship check` (the ConfigMap is what operators copy), and the manifest keeps the promises
// the README makes about it (read-only log mounts, offsets on the node, every node, probes).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../src/config/load.js';
import { compileTemplate, fileVars } from '../src/config/templates.js';
import { kubernetesMetadata } from '../src/lines/kubernetes.js';
import { BIN } from './helpers/agent-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAEMONSET = join(ROOT, 'examples/kubernetes/logship-daemonset.yaml');
const ENV = { NODE_NAME: 'node-1', KAFKA_BROKERS: 'kafka-0:9093,kafka-1:9093', KAFKA_PASSWORD: 'secret' };

/** The parts of the manifests this test reads. */
interface ContainerSpec {
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
  resources: { requests: { cpu?: string; memory?: string }; limits: { memory?: string } };
  securityContext: { capabilities: unknown; readOnlyRootFilesystem?: boolean };
}
interface Doc {
  kind: string;
  data?: Record<string, string>;
  spec?: { template: { spec: { tolerations: unknown; containers: ContainerSpec[]; volumes: { name: string; hostPath?: { path: string } }[] } } };
}

function manifests(): Doc[] {
  const docs = parseAllDocuments(readFileSync(DAEMONSET, 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], 'valid YAML');
    return d.toJS() as Doc;
  });
}

const tmp = mkdtempSync(join(os.tmpdir(), 'logship-examples-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The ConfigMap's agent.yaml, with /etc/logship/ pointing at a temp dir holding the CA file. */
function agentYaml(): string {
  const configMap = manifests().find((d) => d.kind === 'ConfigMap');
  assert.ok(configMap?.data?.['agent.yaml'], 'a ConfigMap with agent.yaml');
  mkdirSync(join(tmp, 'etc/tls'), { recursive: true });
  writeFileSync(join(tmp, 'etc/tls/ca.crt'), 'not checked beyond being readable\n');
  return configMap.data['agent.yaml'].replaceAll('/etc/logship/', `${tmp}/etc/`);
}

describe('examples/kubernetes/logship-daemonset.yaml', () => {
  test('its agent.yaml loads: container parser, Kubernetes topics, JSON routing, filters, dead letters', () => {
    const cfg = parseConfigText(agentYaml(), join(tmp, 'agent.yaml'), ENV, { hostname: 'h' });
    const [pods, apps] = cfg.inputs;
    assert.deepEqual([pods?.parser, pods?.parse, pods?.topic, pods?.exclude_lines], ['auto', 'none', 'k8s.{k8s.namespace}.{k8s.container}', ['^\\s*$']]);
    assert.deepEqual([apps?.parser, apps?.parse, apps?.include_lines], ['auto', 'json', ['"level":"(warn|error)"']]);
    assert.equal(cfg.kafka.dead_letter_topic, 'logship.dead-letters');
    assert.deepEqual(cfg.kafka.brokers, ['kafka-0:9093', 'kafka-1:9093']);
    assert.equal(cfg.agent.name, 'node-1');
    assert.equal(cfg.agent.data_dir, '/var/lib/logship');

    // The topics it promises, for a real pair of kubelet paths.
    const link = `/var/log/containers/web-0_shop_nginx-${'a'.repeat(64)}.log`;
    const vars = { input: 'pods', host: 'node-1', file: fileVars(link), env: {}, k8s: kubernetesMetadata(link) };
    assert.equal(compileTemplate(pods!.topic, 'topic').bind(vars).constant, 'k8s.shop.nginx');
    const appsTopic = compileTemplate(apps!.topic, 'topic').bind(vars);
    assert.equal(appsTopic.renderTopic({ stream: 'stdout', json: ['cart'] }), 'apps.shop.cart');
    assert.equal(appsTopic.renderTopic({ stream: 'stdout', json: null }), 'apps.shop.unknown');
  });

  test('logship check accepts it: every key it uses is applied by this build', async () => {
    const file = join(tmp, 'agent-check.yaml');
    writeFileSync(file, agentYaml());
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'check', '-c', file], { env: { ...process.env, ...ENV } });
    assert.match(stderr, /is valid/);
    const effective = JSON.parse(stdout) as { inputs: Array<{ parser: string; parse: string }> };
    assert.deepEqual(effective.inputs.map((i) => [i.parser, i.parse]), [['auto', 'none'], ['auto', 'json']]);
    assert.doesNotMatch(stdout + stderr, /secret/, 'the password is not echoed');
  });

  test('the DaemonSet: every node, read-only log mounts at their node paths, offsets on a hostPath, probes, limits', () => {
    const pod = manifests().find((d) => d.kind === 'DaemonSet')?.spec?.template.spec;
    assert.ok(pod);
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    const container = pod.containers[0]!;
    const mounts = new Map(container.volumeMounts.map((m) => [m.name, m]));
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const [name, path] of [
      ['pods', '/var/log/pods'],
      ['containers', '/var/log/containers'],
    ] as const) {
      assert.equal(volumes.get(name)?.hostPath?.path, path, `${name} is the node's ${path}`);
      assert.deepEqual([mounts.get(name)?.mountPath, mounts.get(name)?.readOnly], [path, true], `${name} mounted read-only at ${path}`);
    }
    assert.equal(volumes.get('data')?.hostPath?.path, '/var/lib/logship');
    assert.equal(mounts.get('data')?.mountPath, '/var/lib/logship');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
    assert.deepEqual(container.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  });
});
