import { coresOver, cpuByPhase, marginalCost, type OrderWindow } from './marginal-cost';
import type { CpuTick } from './process-sampler';

/** One-second ticks from `startS` on, each group's CPU seconds given by `cores(second)`. */
function ticksFor(startS: number, seconds: number, cores: (s: number) => Record<string, number>): CpuTick[] {
  return Array.from({ length: seconds }, (_, i) => ({
    fromMs: (startS + i) * 1000,
    toMs: (startS + i + 1) * 1000,
    cpuS: cores(startS + i),
  }));
}

describe('what one more order costs', () => {
  // Calm at 20 orders/s, a burst at 200/s from second 1010 to 1020, calm again.
  const rate = (s: number) => (s >= 1010 && s < 1020 ? 200 : 20);
  const windows: OrderWindow[] = [1000, 1005, 1010, 1015, 1020, 1025].map((atS) => ({ atS, ordersPerS: rate(atS) }));

  it('finds the CPU per order and what the stack spends with no orders, per process and in all', () => {
    // The gateway: 10% of a core anyway, 3 ms an order; the functions 5% and 2 ms; k6 is not the stack.
    const ticks = ticksFor(1000, 30, (s) => ({
      gateway: 0.1 + 0.003 * rate(s),
      functions: 0.05 + 0.002 * rate(s),
      k6: 0.5,
    }));

    const cost = marginalCost(windows, ticks, ['gateway', 'functions'], 5)!;

    expect(cost.windows).toBe(6);
    expect(cost.stack.perOrderMs).toBeCloseTo(5, 6);
    expect(cost.stack.withoutOrdersPct).toBeCloseTo(15, 6);
    expect(cost.byProcess.gateway).toEqual({
      perOrderMs: expect.closeTo(3, 6) as number,
      withoutOrdersPct: expect.closeTo(10, 6) as number,
    });
    expect(cost.byProcess.k6!.perOrderMs).toBeCloseTo(0, 6);
    expect(cost.r2).toBeCloseTo(1, 6);
  });

  it('leaves out windows the sampler did not cover and windows without orders', () => {
    // Sampling began at 1007: the first window is not covered, the second only in part.
    const ticks = ticksFor(1007, 23, (s) => ({ gateway: 0.1 + 0.003 * rate(s) }));
    const quiet = [...windows, { atS: 1030, ordersPerS: 0 }];

    const cost = marginalCost(quiet, ticks, ['gateway'], 5)!;

    expect(cost.windows).toBe(4);
    expect(cost.stack.perOrderMs).toBeCloseTo(3, 6);
  });

  it('finds nothing in a run whose rate never changed', () => {
    const steady = windows.map((w) => ({ ...w, ordersPerS: 20 }));
    expect(
      marginalCost(
        steady,
        ticksFor(1000, 30, () => ({ gateway: 0.2 })),
        ['gateway'],
        5,
      ),
    ).toBeNull();
  });
});

describe('where a run spent its CPU', () => {
  // 10 s of sign-in before the orders; calm at 20/s, a ramp window at 110/s, a burst at 200/s; 5 s after.
  const rates: Record<number, number> = { 1010: 20, 1015: 20, 1020: 110, 1025: 200, 1030: 200, 1035: 20 };
  const windows: OrderWindow[] = Object.entries(rates).map(([atS, ordersPerS]) => ({ atS: Number(atS), ordersPerS }));
  // The gateway: 0.5 of a core signing the fleet in, then 0.1 plus 2 ms an order (1 ms at the burst rate, batched),
  // 0.05 after; k6 is not the stack.
  const ticks = ticksFor(1000, 45, (s) => {
    const window = Math.floor(s / 5) * 5;
    const rate = rates[window] ?? 0;
    const gateway = s < 1010 ? 0.5 : s >= 1040 ? 0.05 : 0.1 + (rate >= 200 ? 0.001 : 0.002) * rate;
    return { gateway, k6: 0.4 };
  });

  it('splits it into the sign-in, calm, ramps, bursts and after, with what an order cost in each', () => {
    const phases = cpuByPhase(windows, ticks, ['gateway'], 5)!;

    expect(phases.beforeOrders).toEqual({
      seconds: 10,
      orders: 0,
      cpuS: expect.closeTo(5, 6) as number,
      perOrderMs: null,
    });
    expect(phases.calm.seconds).toBe(15);
    expect(phases.calm.orders).toBe(300);
    // 15 s at 0.14 of a core over 300 orders: 7 ms each, the idle share included.
    expect(phases.calm.perOrderMs).toBeCloseTo(7, 6);
    expect(phases.ramps).toMatchObject({ seconds: 5, orders: 550 });
    expect(phases.bursts.orders).toBe(2000);
    // 10 s at 0.3 of a core over 2,000 orders.
    expect(phases.bursts.perOrderMs).toBeCloseTo(1.5, 6);
    expect(phases.afterOrders).toEqual({
      seconds: 5,
      orders: 0,
      cpuS: expect.closeTo(0.25, 6) as number,
      perOrderMs: null,
    });
  });

  it('has nothing to split without windows or ticks', () => {
    expect(cpuByPhase([], ticks, ['gateway'], 5)).toBeNull();
    expect(cpuByPhase(windows, [], ['gateway'], 5)).toBeNull();
  });
});

describe("a steady window's CPU", () => {
  it('averages each process over the ticks whose middle is in the window, a missing process as idle', () => {
    // The gateway at 0.2 of a core until second 20, then 0.6; the functions only sampled from second 15.
    const ticks = ticksFor(0, 40, (s) => ({
      gateway: s < 20 ? 0.2 : 0.6,
      ...(s >= 15 ? { functions: 0.1 } : {}),
    }));

    const { seconds, cores } = coresOver(ticks, 10_000, 30_000);

    expect(seconds).toBe(20);
    expect(cores.gateway).toBeCloseTo(0.4, 6);
    // Sampled for 15 of the 20 seconds.
    expect(cores.functions).toBeCloseTo(0.075, 6);
  });

  it('covers no time when no tick falls in the window', () => {
    const ticks = ticksFor(0, 5, () => ({ gateway: 1 }));

    expect(coresOver(ticks, 10_000, 20_000)).toEqual({ seconds: 0, cores: { gateway: 0 } });
  });
});
