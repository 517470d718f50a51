import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The Prometheus metrics of one process, in its own registry (so an embedded
 * process hosting gateway and functions exposes each series once).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'mesh_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'mesh_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly socketConnections = new Gauge({
    name: 'mesh_socket_connections',
    help: 'Open Socket.IO connections on this gateway',
    registers: [this.registry],
  });
  readonly socketEvents = new Counter({
    name: 'mesh_socket_events_total',
    help: 'Socket.IO client events by event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'mesh_events_published_total',
    help: 'Events acknowledged by the bus, by topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });
  readonly handoffs = new Counter({
    name: 'mesh_change_handoffs_total',
    help: 'Changes whose event the relay did not confirm in time: published by the gateway itself (direct), or answered before Kafka had it (unconfirmed)',
    labelNames: ['how'] as const,
    registers: [this.registry],
  });
  readonly functionInvocations = new Counter({
    name: 'mesh_function_invocations_total',
    help: 'Function invocations by function and outcome',
    labelNames: ['function', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly functionDuration = new Histogram({
    name: 'mesh_function_duration_seconds',
    help: 'Function invocation latency',
    labelNames: ['function'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly eventAge = new Histogram({
    name: 'mesh_function_event_age_seconds',
    help: 'Time from an event being published to its function finishing with it',
    labelNames: ['function'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'mesh_consumer_lag',
    help: "Messages behind the topic end, by consumer group and topic, from the group's committed positions (read every 5 s by each worker hosting the group)",
    labelNames: ['group', 'topic'] as const,
    registers: [this.registry],
  });
  readonly dispatchLatency = new Histogram({
    name: 'mesh_dispatch_latency_seconds',
    help: 'From an order being accepted to its first offer being committed',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly dispatchAttempts = new Histogram({
    name: 'mesh_dispatch_attempts',
    help: 'Search attempts an order took, observed when it is assigned or given up',
    labelNames: ['result'] as const,
    buckets: [1, 2, 3, 4, 5, 7, 10, 20],
    registers: [this.registry],
  });
  readonly offers = new Counter({
    name: 'mesh_offers_total',
    help: 'Offers by outcome: created, accepted, declined, expired, revoked',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly ordersUnassigned = new Counter({
    name: 'mesh_orders_unassigned_total',
    help: 'Orders dispatch gave up on (nobody within reach after the last attempt)',
    registers: [this.registry],
  });
  readonly stateRebuilds = new Counter({
    name: 'mesh_state_rebuilds_total',
    help: 'Dispatch state restored from the order log: full (Redis came back empty) or tail (a restart lost changes)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly liveRooms = new Gauge({
    name: 'mesh_live_rooms',
    help: 'Live rooms asked to be on air, in the whole deployment (what the mix scales on; every gateway reports the same count)',
    registers: [this.registry],
  });
  readonly liveRoomInputs = new Gauge({
    name: 'mesh_live_room_inputs',
    help: 'Co-hosts (inputs to decode) over every live room, in the whole deployment (what the mix scales on)',
    registers: [this.registry],
  });
  readonly functionReplicas = new Gauge({
    name: 'mesh_function_replicas',
    help: 'Worker processes the local scaler runs, by function',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });
  readonly functionLag = new Gauge({
    name: 'mesh_function_lag',
    help: 'Consumer lag of each function’s group, as the scaler last read it',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });
  readonly functionColdStart = new Histogram({
    name: 'mesh_function_cold_start_seconds',
    help: "A new replica's start → its first event handled: process start (kind=cold) or standby activation (kind=warm)",
    labelNames: ['function', 'kind'] as const,
    buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    registers: [this.registry],
  });

  readonly mixJobs = new Gauge({
    name: 'mesh_mix_jobs',
    help: 'ffmpeg mix processes running in this process',
    registers: [this.registry],
  });
  readonly mixRestarts = new Counter({
    name: 'mesh_mix_restarts_total',
    help: 'ffmpeg mix processes that ended unexpectedly, by what followed (restarting, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  /** No label per stream: stream ids appear in no public place (API.md "Playback"). */
  readonly mixSpeed = new Histogram({
    name: 'mesh_mix_speed',
    help: 'Encoding speed of the running mixes as ffmpeg reports it, twice a second each (1 = real time; below 1 falls behind)',
    buckets: [0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.2, 1.5, 2, 4],
    registers: [this.registry],
  });
  readonly mixSwitch = new Histogram({
    name: 'mesh_mix_switch_seconds',
    help: 'From a stream-mix request reaching the mix function to its revision being mixed: taken by the running ffmpeg (how=live), the first HLS segment of a run started beside the one on air and taking over from it (how=handover), or of a restarted one (how=restart)',
    labelNames: ['how'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10],
    registers: [this.registry],
  });
  readonly mixPushes = new Gauge({
    name: 'mesh_mix_pushes',
    help: "Live rooms' RTMP pushes held by this process, by state (connecting, connected, retrying, failed)",
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly mixPushDrops = new Counter({
    name: 'mesh_mix_push_drops_total',
    help: 'RTMP pushes the ingest refused or dropped (each tried again with backoff, or failed past MIX_PUSH_RETRIES)',
    registers: [this.registry],
  });
  readonly mixPushSwitch = new Histogram({
    name: 'mesh_mix_push_switch_seconds',
    help: 'From a run started beside the one on air in a pushing room to its RTMP push going on from that run (at its first keyframe)',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names like counters (promtool flags them); `nodejs_active_handles`
    // and `nodejs_active_resources`, by type, say the same.
    for (const name of GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
