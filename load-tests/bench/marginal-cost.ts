import type { CpuTick } from './process-sampler';

/** A window of the run: when it starts (Unix seconds) and the orders k6 had accepted per second in it. */
export interface OrderWindow {
  atS: number;
  ordersPerS: number;
}

/** The fit for one group of processes (or the sum of several). */
export interface CpuLine {
  /** CPU milliseconds one more order costs: the slope. */
  perOrderMs: number;
  /** Share of one core (%) spent with no orders coming: the fleet online, its positions, idle work. */
  withoutOrdersPct: number;
}

export interface MarginalCost {
  /** Windows the fit used. */
  windows: number;
  /** How much of the windows' CPU the line explains (R², 0–1). */
  r2: number;
  stack: CpuLine;
  byProcess: Record<string, CpuLine>;
}

/**
 * Splits what a run cost into what an order costs and what the stack spends anyway:
 * a least-squares line through each window's CPU (cores) against its orders per
 * second. The whole-run CPU per order spreads the fleet's sign-in, its positions
 * and idle work over the orders; this slope is what the next order costs, which is
 * what decides how high a spike the machine can take. A window counts when the
 * sampler covered it (`windowS - 1` seconds of ticks at least) and orders came in it.
 */
export function marginalCost(
  orderWindows: readonly OrderWindow[],
  ticks: readonly CpuTick[],
  stack: readonly string[],
  windowS: number,
): MarginalCost | null {
  const groups = [...new Set(ticks.flatMap((t) => Object.keys(t.cpuS)))];
  const points = orderWindows.flatMap(({ atS, ordersPerS }) => {
    const { seconds, cores } = coresOver(ticks, atS * 1000, (atS + windowS) * 1000);
    if (ordersPerS <= 0 || seconds < windowS - 1) return [];
    return [{ x: ordersPerS, cores }];
  });
  // Two rates at least, or there is no slope to find.
  if (points.length < 3 || new Set(points.map((p) => p.x)).size < 2) return null;
  const xs = points.map((p) => p.x);
  const stackOf = (cores: Record<string, number>) => stack.reduce((s, g) => s + (cores[g] ?? 0), 0);
  const stackLine = fit(
    xs,
    points.map((p) => stackOf(p.cores)),
  );
  return {
    windows: points.length,
    r2: stackLine.r2,
    stack: asLine(stackLine),
    byProcess: Object.fromEntries(
      groups.map((g) => [
        g,
        asLine(
          fit(
            xs,
            points.map((p) => p.cores[g] ?? 0),
          ),
        ),
      ]),
    ),
  };
}

/**
 * Each group's CPU in cores (CPU seconds per second) over the ticks whose middle falls
 * in [fromMs, toMs), and how many seconds those ticks cover; groups absent from a
 * tick count as idle in it.
 */
export function coresOver(
  ticks: readonly CpuTick[],
  fromMs: number,
  toMs: number,
): { seconds: number; cores: Record<string, number> } {
  const inside = ticks.filter((t) => (t.fromMs + t.toMs) / 2 >= fromMs && (t.fromMs + t.toMs) / 2 < toMs);
  const seconds = inside.reduce((s, t) => s + (t.toMs - t.fromMs) / 1000, 0);
  const groups = [...new Set(ticks.flatMap((t) => Object.keys(t.cpuS)))];
  const cores = Object.fromEntries(
    groups.map((g) => [g, seconds > 0 ? inside.reduce((s, t) => s + (t.cpuS[g] ?? 0), 0) / seconds : 0]),
  );
  return { seconds, cores };
}

function asLine({ slope, intercept }: { slope: number; intercept: number }): CpuLine {
  return { perOrderMs: slope * 1000, withoutOrdersPct: intercept * 100 };
}

/** Ordinary least squares of y on x. */
function fit(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** What the stack spent in one part of the run. */
export interface PhaseCost {
  /** Seconds of the run in this part. */
  seconds: number;
  /** Orders accepted in it (k6's windows; none before and after the orders). */
  orders: number;
  /** The stack's CPU seconds in it. */
  cpuS: number;
  /** CPU milliseconds per order in it (null where no orders came). */
  perOrderMs: number | null;
}

/**
 * The parts of a run: `beforeOrders`, from the start of sampling to the first window of
 * orders (the fleet signing in and settling); `calm`, windows at the baseline rate (at most
 * a quarter of the peak); `bursts`, windows at three quarters of the peak and more; `ramps`,
 * the windows between (a burst starting or ending); `afterOrders`, after the last window
 * (deliveries finishing, the fleet still online, then leaving).
 */
export type PhaseName = 'beforeOrders' | 'calm' | 'ramps' | 'bursts' | 'afterOrders';
export type RunPhases = Record<PhaseName, PhaseCost>;

/**
 * Where a run's CPU went, by part of the run: the whole-run CPU per order mixes the
 * fleet's sign-in, calm orders (each on its own: nothing to batch with) and burst
 * orders (which share every fetch, pipeline and produce request), and a change can
 * move one and not the others. Each tick goes to the part holding its middle.
 */
export function cpuByPhase(
  orderWindows: readonly OrderWindow[],
  ticks: readonly CpuTick[],
  stack: readonly string[],
  windowS: number,
): RunPhases | null {
  if (orderWindows.length === 0 || ticks.length === 0) return null;
  const peak = Math.max(...orderWindows.map((w) => w.ordersPerS));
  const firstMs = Math.min(...orderWindows.map((w) => w.atS)) * 1000;
  const lastMs = (Math.max(...orderWindows.map((w) => w.atS)) + windowS) * 1000;
  const empty = (): PhaseCost => ({ seconds: 0, orders: 0, cpuS: 0, perOrderMs: null });
  const phases: RunPhases = {
    beforeOrders: empty(),
    calm: empty(),
    bursts: empty(),
    ramps: empty(),
    afterOrders: empty(),
  };
  const partOf = (rate: number): PhaseName => (rate <= peak / 4 ? 'calm' : rate >= (peak * 3) / 4 ? 'bursts' : 'ramps');
  for (const w of orderWindows) phases[partOf(w.ordersPerS)].orders += w.ordersPerS * windowS;
  for (const t of ticks) {
    const middle = (t.fromMs + t.toMs) / 2;
    let part: PhaseName;
    if (middle < firstMs) part = 'beforeOrders';
    else if (middle >= lastMs) part = 'afterOrders';
    else {
      const window = orderWindows.find((w) => middle >= w.atS * 1000 && middle < (w.atS + windowS) * 1000);
      // A tick in a gap between windows (none in k6's series) counts with the ramps.
      part = window ? partOf(window.ordersPerS) : 'ramps';
    }
    phases[part].seconds += (t.toMs - t.fromMs) / 1000;
    phases[part].cpuS += stack.reduce((s, g) => s + (t.cpuS[g] ?? 0), 0);
  }
  for (const p of Object.values(phases)) p.perOrderMs = p.orders > 0 ? (p.cpuS / p.orders) * 1000 : null;
  return phases;
}
