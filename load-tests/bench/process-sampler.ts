import { cpuSeconds, rssMb } from '@mesh/harness';

export interface ProcessFigures {
  name: string;
  cpuAvgPct: number;
  cpuMaxPct: number;
  /** CPU seconds the group used over the whole sampled time. */
  cpuSeconds: number;
  rssMaxMb: number;
}

/** What each group used in one sampling tick: CPU seconds between the tick before (`fromMs`) and this one (`toMs`). */
export interface CpuTick {
  fromMs: number;
  toMs: number;
  cpuS: Record<string, number>;
}

/**
 * Samples CPU (share of one core) and resident memory of named groups of
 * processes once a second; a group's pids are looked up at every tick, so
 * processes that come and go (ffmpeg, k6) are counted while they live.
 */
export class ProcessSampler {
  private readonly last = new Map<number, number>();
  private readonly cpu = new Map<string, number[]>();
  private readonly rss = new Map<string, number>();
  private readonly used = new Map<string, number>();
  private readonly ticks: CpuTick[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;

  constructor(private readonly groups: Record<string, () => number[]>) {}

  start(): void {
    this.lastAt = Date.now();
    for (const pids of Object.values(this.groups)) for (const pid of pids()) this.last.set(pid, cpuSeconds(pid) ?? 0);
    this.timer = setInterval(() => this.tick(), 1_000);
  }

  stop(): ProcessFigures[] {
    if (this.timer) clearInterval(this.timer);
    return Object.keys(this.groups).map((name) => {
      const samples = this.cpu.get(name) ?? [];
      return {
        name,
        cpuAvgPct: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : 0,
        cpuMaxPct: samples.length ? Math.max(...samples) : 0,
        cpuSeconds: this.used.get(name) ?? 0,
        rssMaxMb: this.rss.get(name) ?? 0,
      };
    });
  }

  /** Every tick so far, in order: what the stack spent when (set against what k6 did then). */
  timeline(): readonly CpuTick[] {
    return this.ticks;
  }

  private tick(): void {
    const now = Date.now();
    const elapsedS = (now - this.lastAt) / 1000;
    const tick: CpuTick = { fromMs: this.lastAt, toMs: now, cpuS: {} };
    this.ticks.push(tick);
    this.lastAt = now;
    for (const [name, pids] of Object.entries(this.groups)) {
      let used = 0;
      let rss = 0;
      for (const pid of pids()) {
        const total = cpuSeconds(pid);
        if (total === null) continue;
        used += total - (this.last.get(pid) ?? total);
        this.last.set(pid, total);
        rss += rssMb(pid);
      }
      this.used.set(name, (this.used.get(name) ?? 0) + used);
      tick.cpuS[name] = used;
      const samples = this.cpu.get(name) ?? [];
      samples.push((used / elapsedS) * 100);
      this.cpu.set(name, samples);
      this.rss.set(name, Math.max(this.rss.get(name) ?? 0, rss));
    }
  }
}
