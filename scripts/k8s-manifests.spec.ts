import { FUNCTION_CATALOG, SCALING_POLICY, TOPICS } from '@mesh/contracts';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { renderManifests, type Manifest } from './k8s-manifests';
import { renderYaml } from './k8s-render';

const ROOT = join(__dirname, '..');

/** Validates a manifest against the Kubernetes (or KEDA CRD) OpenAPI schema of its kind; throws naming what is wrong. */
function validate(manifest: Manifest): void {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    Namespace,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    Deployment,
    HorizontalPodAutoscaler,
    Job,
    ScaledObject,
    PodDisruptionBudget,
  };
  const Model = models[manifest.kind];
  if (!Model) throw new Error(`no schema for ${manifest.kind}`);
  new Model(manifest as never).validate();
}

describe('Kubernetes + KEDA manifests', () => {
  const manifests = renderManifests();

  it('match the Kubernetes and KEDA schemas, every one of them', () => {
    expect(manifests.length).toBeGreaterThan(5);
    for (const manifest of manifests) expect(() => validate(manifest)).not.toThrow();
  });

  it('the schema check catches a broken manifest', () => {
    const broken = structuredClone(manifests.find((m) => m.kind === 'ScaledObject')!);
    delete (broken.spec as { scaleTargetRef?: unknown }).scaleTargetRef;
    expect(() => validate(broken)).toThrow(/scaleTargetRef/);
  });

  it('scale each function by the very policy the local scaler reads', () => {
    for (const { name, topic } of FUNCTION_CATALOG) {
      const policy = SCALING_POLICY.functions[name]!;
      const scaled = manifests.find((m) => m.kind === 'ScaledObject' && m.metadata.name === `fn-${name}`);
      expect(scaled).toMatchObject({
        spec: {
          scaleTargetRef: { name: `fn-${name}` },
          pollingInterval: SCALING_POLICY.pollingIntervalS,
          cooldownPeriod: policy.cooldownS,
          minReplicaCount: policy.minReplicas,
          maxReplicaCount: Math.min(policy.maxReplicas, TOPICS[topic].partitions),
          advanced: {
            horizontalPodAutoscalerConfig: {
              behavior: { scaleDown: { stabilizationWindowSeconds: policy.cooldownS } },
            },
          },
          triggers: [
            {
              type: 'kafka',
              metadata: {
                consumerGroup: `mesh.fn.${name}`,
                topic: TOPICS[topic].name,
                lagThreshold: String(policy.lagThreshold),
                activationLagThreshold: String(policy.activationLagThreshold),
              },
            },
            ...(policy.liveRooms
              ? [
                  {
                    type: 'prometheus',
                    metadata: { query: 'max(mesh_live_rooms)', threshold: String(policy.liveRooms.roomsPerReplica) },
                  },
                  {
                    type: 'prometheus',
                    metadata: {
                      query: 'max(mesh_live_room_inputs)',
                      threshold: String(policy.liveRooms.inputsPerReplica),
                    },
                  },
                ]
              : []),
            ...policy.warm.map((w) => ({
              type: 'cron',
              metadata: { timezone: w.timeZone, start: w.start, end: w.end, desiredReplicas: String(w.replicas) },
            })),
          ],
        },
      });
    }
    // Dispatch runs warm before the weekday lunch peak, in KEDA as in the local scaler.
    expect(SCALING_POLICY.functions.dispatch?.warm).toEqual([expect.objectContaining({ name: 'lunch', replicas: 2 })]);
    // The mix follows the live rooms, from none to several replicas.
    expect(SCALING_POLICY.functions.mix).toMatchObject({ minReplicas: 0, liveRooms: expect.any(Object) });
    expect(SCALING_POLICY.functions.mix?.maxReplicas).toBeGreaterThan(1);
  });

  it('are committed as rendered (run `npm run k8s:render` after changing the policy)', () => {
    const committed = readFileSync(join(ROOT, 'infra', 'k8s', 'mesh.yaml'), 'utf8');
    expect(committed).toBe(renderYaml());
    expect(parseAllDocuments(committed).map((d) => (d.toJS() as Manifest).kind)).toEqual(manifests.map((m) => m.kind));
  });

  it('compose.yaml parses and runs the same apps on Kafka and Redis', () => {
    const compose = parse(readFileSync(join(ROOT, 'infra', 'compose.yaml'), 'utf8')) as {
      services: Record<string, { image?: string; build?: unknown; command?: string[] }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['functions', 'gateway', 'kafka', 'redis']);
    expect(compose.services.gateway?.command).toEqual(['node', 'dist/apps/gateway/src/main.js']);
  });
});
