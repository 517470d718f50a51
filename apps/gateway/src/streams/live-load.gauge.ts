import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { StreamStore } from '@mesh/streams';
import { LOGGER, Metrics, type Logger } from '@mesh/telemetry';

/** How often the count is read: KEDA polls the mix's triggers every second, Prometheus scrapes every few. */
const READ_EVERY_MS = 5_000;

/**
 * Keeps `mesh_live_rooms` and `mesh_live_room_inputs` current on the gateway's /metrics:
 * what KEDA scales the mix replicas on, through Prometheus (infra/k8s). Every gateway
 * reports the same deployment-wide count, read from the stream store.
 */
@Injectable()
export class LiveLoadGauge implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: StreamStore,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    void this.read();
    this.timer = setInterval(() => void this.read(), READ_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async read(): Promise<void> {
    try {
      const { rooms, inputs } = await this.store.liveLoad();
      this.metrics.liveRooms.set(rooms);
      this.metrics.liveRoomInputs.set(inputs);
    } catch (err) {
      // The last count stands until the store answers again.
      this.logger.debug({ err }, 'live rooms not counted');
    }
  }
}
