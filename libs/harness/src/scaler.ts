import { KafkaEventBus } from '@mesh/bus';
import { eventually, uniqueName } from './eventually';
import { silentLogger } from './silent-logger';
import { LOCAL_OBJECT_STORE, deleteTopics, freePort, startProcess, type RunningProcess } from './stack';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScalerStatus {
  functions: {
    function: string;
    replicas: number;
    lag: number;
    workers: { warm: boolean; coldStartMs: number | null }[];
  }[];
  history: { at: string; function: string; from: number; to: number; lag: number }[];
  coldStarts: { function: string; ms: number; kind: 'cold' | 'warm' }[];
  standbysReady: number;
}

export interface RunningScaler {
  readonly process: RunningProcess;
  readonly env: NodeJS.ProcessEnv;
  /** A bus on the scaler's topics, to feed its functions. */
  readonly bus: KafkaEventBus;
  status(): Promise<ScalerStatus>;
  replicas(fn: string): Promise<number>;
  stop(): Promise<void>;
}

/** The local scaler as its own process, with its own topics and keys, and a policy for the test. */
export async function startScaler(policy: object, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningScaler> {
  const run = uniqueName('scale');
  const policyFile = join(tmpdir(), `${run}.policy.json`);
  writeFileSync(policyFile, JSON.stringify(policy));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    ADAPTERS: 'real',
    HOST: '127.0.0.1',
    SCALER_PORT: String(port),
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REDIS_KEY_PREFIX: `${run}:`,
    KAFKA_TOPIC_PREFIX: `${run}.`,
    LOG_LEVEL: 'info',
    SCALING_POLICY_FILE: policyFile,
    ...LOCAL_OBJECT_STORE,
    ...extraEnv,
  };
  const proc = startProcess('scaler', 'apps/scaler/src/main.js', env);
  const url = `http://127.0.0.1:${port}`;
  const status = async () => (await (await fetch(`${url}/status`)).json()) as ScalerStatus;
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`scaler exited:\n${proc.output.join('')}`);
      await status();
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const bus = new KafkaEventBus({
    brokers: String(env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'scaler-test',
    topicPrefix: String(env.KAFKA_TOPIC_PREFIX),
    logger: silentLogger,
  });
  return {
    process: proc,
    env,
    bus,
    status,
    replicas: async (fn) => (await status()).functions.find((f) => f.function === fn)?.replicas ?? 0,
    stop: async () => {
      await bus.close();
      await proc.stop();
      await deleteTopics(String(env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), run);
    },
  };
}
