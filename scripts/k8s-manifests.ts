import {
  DEADLINES,
  FUNCTION_CATALOG,
  SCALING_POLICY,
  TOPICS,
  functionGroup,
  topicName,
  type ScalingPolicy,
} from '@mesh/contracts';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const NAMESPACE = 'dispatch-mesh';
/** Where the mix writes HLS and the gateway serves it from: a ReadWriteMany volume both mount. */
const LIVE_DIR = '/var/lib/mesh/live';
const IMAGE = 'ghcr.io/dispatch-mesh/dispatch-mesh:0.1.0';
/** The bootstrap list: three brokers (an operator's StatefulSet or Strimzi cluster), any of which answers. */
const KAFKA = [0, 1, 2].map((i) => `kafka-${i}.kafka-headless.dispatch-mesh.svc:9092`).join(',');
/** Seed nodes of the Redis Cluster (three masters with a replica each); the client learns the rest from them. */
const REDIS_CLUSTER = [0, 1, 2]
  .map((i) => `redis-cluster-${i}.redis-cluster-headless.dispatch-mesh.svc:6379`)
  .join(',');
/**
 * The Prometheus that scrapes the gateways' /metrics (with METRICS_TOKEN, give it the token): KEDA
 * reads the live-room counts the mix scales on from it. The Prometheus Operator's default service.
 */
const PROMETHEUS = 'http://prometheus-operated.monitoring.svc:9090';
/** The topics' replication on the cluster; min.insync.replicas is one less (a write acknowledged by two survives one loss). */
const KAFKA_REPLICATION = 3;
const labels = (component: string) => ({
  'app.kubernetes.io/name': 'dispatch-mesh',
  'app.kubernetes.io/component': component,
});

/** Runs as the unprivileged `node` user, read-only root, nothing extra. */
const securityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/**
 * Shared settings from the ConfigMap; secrets from a Secret the operator creates: JWT_SECRET (or
 * JWT_JWKS_URL/JWT_PUBLIC_KEY), DATABASE_URL with its credentials (the route log's PostgreSQL),
 * OBJECT_STORE_ACCESS_KEY and OBJECT_STORE_SECRET_KEY (the object store's; leave both out to use the
 * SDK's own chain, e.g. a workload identity), and REPORT_WEBHOOK_URL if the hourly report is posted somewhere.
 */
const envFrom = [{ configMapRef: { name: 'mesh-config' } }, { secretRef: { name: 'mesh-secrets' } }];

function deployment(
  name: string,
  opts: {
    command: string[];
    port: number;
    env?: Record<string, string>;
    replicas?: number;
    drainS: number;
    readyPath: string;
    /** Mounts the live-room HLS volume (the mix writes it, the gateway serves it). */
    liveVolume?: boolean;
    resources?: Record<string, unknown>;
  },
): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE, labels: labels(name) },
    spec: {
      ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
      selector: { matchLabels: labels(name) },
      template: {
        metadata: { labels: labels(name) },
        spec: {
          // SIGTERM starts the drain: stop fetching, finish in-flight events, commit, leave the group.
          terminationGracePeriodSeconds: opts.drainS,
          containers: [
            {
              name,
              image: IMAGE,
              command: opts.command,
              ports: [{ name: 'http', containerPort: opts.port }],
              envFrom,
              env: Object.entries({ HOST: '0.0.0.0', ...opts.env }).map(([k, v]) => ({ name: k, value: v })),
              readinessProbe: { httpGet: { path: opts.readyPath, port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
              resources: opts.resources ?? { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
              securityContext,
              ...(opts.liveVolume ? { volumeMounts: [{ name: 'live', mountPath: LIVE_DIR }] } : {}),
            },
          ],
          ...(opts.liveVolume
            ? { volumes: [{ name: 'live', persistentVolumeClaim: { claimName: 'mesh-live' } }] }
            : {}),
        },
      },
    },
  };
}

/** A Job run once per release, retried until it succeeds. */
function job(name: string, command: string[]): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NAMESPACE, labels: labels(name) },
    spec: {
      backoffLimit: 6,
      template: {
        metadata: { labels: labels(name) },
        spec: {
          restartPolicy: 'OnFailure',
          containers: [{ name, image: IMAGE, command, envFrom, securityContext }],
        },
      },
    },
  };
}

/** Every manifest of the mesh on Kubernetes with KEDA, from the same catalog and scaling policy the local scaler uses. */
export function renderManifests(policy: ScalingPolicy = SCALING_POLICY): Manifest[] {
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mesh-config', namespace: NAMESPACE },
      data: {
        NODE_ENV: 'production',
        ADAPTERS: 'real',
        KAFKA_BROKERS: KAFKA,
        REDIS_CLUSTER_NODES: REDIS_CLUSTER,
        // MARKETS: the deployment's service areas (a GeoJSON FeatureCollection); one market everywhere when unset.
        LOG_LEVEL: 'info',
        MIX_HLS_DIR: LIVE_DIR,
        // Any S3-compatible store; the buckets must exist (infra/scripts/buckets.mjs creates them).
        OBJECT_STORE_URL: 'http://object-store.dispatch-mesh.svc:8333',
        OBJECT_STORE_UPLOADS_BUCKET: 'mesh-uploads',
        OBJECT_STORE_MEDIA_BUCKET: 'mesh-media',
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'mesh-live', namespace: NAMESPACE },
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } },
    },
    // The route log's schema, migrated once per release (node-pg-migrate under its advisory lock).
    job('db-migrate', ['node', 'infra/scripts/db-migrate.mjs']),
    // The mesh's topics with the cluster's replication, once per release (idempotent; waits for the brokers).
    job('kafka-topics', [
      'node',
      'infra/scripts/kafka-topics.mjs',
      '--bootstrap',
      KAFKA,
      '--replication',
      String(KAFKA_REPLICATION),
      '--wait',
      '300',
    ]),
    deployment('gateway', {
      command: ['node', 'dist/apps/gateway/src/main.js'],
      port: 3000,
      env: { PORT: '3000' },
      replicas: 2,
      drainS: 30,
      readyPath: '/readyz',
      liveVolume: true,
    }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'gateway', namespace: NAMESPACE, labels: labels('gateway') },
      spec: {
        selector: labels('gateway'),
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        // Socket.IO's long-polling (before a browser's upgrade to WebSocket) must stay on the gateway holding
        // its session; WebSockets need no affinity, and broadcasts cross gateways through the Redis adapter.
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 3_600 } },
      },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'gateway', namespace: NAMESPACE },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gateway' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    },
    // The deadline sweeper never scales to zero: offers must expire while dispatch has no replica.
    deployment(`fn-${DEADLINES}`, {
      command: ['node', 'dist/apps/functions/src/main.js'],
      port: 3001,
      env: { FUNCTIONS: DEADLINES, FUNCTIONS_PORT: '3001' },
      replicas: 1,
      drainS: 15,
      readyPath: '/healthz',
    }),
  ];
  for (const { name, topic } of FUNCTION_CATALOG) {
    const scaling = policy.functions[name];
    if (!scaling) continue;
    manifests.push(
      deployment(`fn-${name}`, {
        command: ['node', 'dist/apps/functions/src/main.js'],
        port: 3001,
        env: { FUNCTIONS: name, FUNCTIONS_PORT: '3001' },
        drainS: 45,
        readyPath: '/healthz',
        // The mix runs ffmpeg: a core or two per few live rooms, and the HLS volume.
        ...(name === 'mix'
          ? {
              liveVolume: true,
              resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
            }
          : name === 'media'
            ? // libvips decodes a photo of up to 40 megapixels at a time, several renditions at once.
              { resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1536Mi' } } }
            : {}),
      }),
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: `fn-${name}`, namespace: NAMESPACE },
        spec: {
          scaleTargetRef: { name: `fn-${name}` },
          pollingInterval: Math.max(1, Math.round(policy.pollingIntervalS)),
          cooldownPeriod: scaling.cooldownS,
          minReplicaCount: scaling.minReplicas,
          maxReplicaCount: Math.min(scaling.maxReplicas, TOPICS[topic].partitions),
          advanced: {
            // The local scaler's scale-down rule: not below the highest recommendation of the last cooldown.
            horizontalPodAutoscalerConfig: {
              behavior: { scaleDown: { stabilizationWindowSeconds: scaling.cooldownS } },
            },
          },
          triggers: [
            {
              type: 'kafka',
              metadata: {
                bootstrapServers: KAFKA,
                consumerGroup: functionGroup(name),
                topic: topicName(topic),
                lagThreshold: String(scaling.lagThreshold),
                activationLagThreshold: String(scaling.activationLagThreshold),
                offsetResetPolicy: 'earliest',
                allowIdleConsumers: 'false',
              },
            },
            // Live rooms: the gateways' deployment-wide counts, through Prometheus (every gateway reports the same).
            ...(scaling.liveRooms
              ? [
                  ['mesh_live_rooms', scaling.liveRooms.roomsPerReplica],
                  ['mesh_live_room_inputs', scaling.liveRooms.inputsPerReplica],
                ].map(([metric, perReplica]) => ({
                  type: 'prometheus',
                  metadata: {
                    serverAddress: PROMETHEUS,
                    query: `max(${metric})`,
                    threshold: String(perReplica),
                    activationThreshold: '0',
                  },
                }))
              : []),
            // Warm windows: KEDA takes the highest of its triggers, as the local scaler raises its minimum.
            ...scaling.warm.map((w) => ({
              type: 'cron',
              name: w.name,
              metadata: {
                timezone: w.timeZone,
                start: w.start,
                end: w.end,
                desiredReplicas: String(Math.min(w.replicas, scaling.maxReplicas)),
              },
            })),
          ],
        },
      },
    );
  }
  // Voluntary disruptions (node drains, upgrades) take one replica of a kind at a time: the gateways
  // keep one serving; a function's partitions move to the others within its session timeout.
  for (const name of manifests.filter((m) => m.kind === 'Deployment').map((m) => m.metadata.name)) {
    manifests.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace: NAMESPACE, labels: labels(name) },
      spec: {
        selector: { matchLabels: labels(name) },
        ...(name === 'gateway' ? { minAvailable: 1 } : { maxUnavailable: 1 }),
      },
    });
  }
  return manifests;
}
