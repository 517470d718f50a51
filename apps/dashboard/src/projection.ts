/** A flat projection of a city onto the map's box: equirectangular around the middle latitude, metres true in both axes. */
export interface Projection {
  x(lng: number): number;
  y(lat: number): number;
  /** Pixels per metre. */
  readonly scale: number;
  readonly widthM: number;
}

const METRES_PER_DEGREE = 111_320;

/** Fits `points` (with a margin) into a width × height box; a default city when there is nothing yet. */
export function fitProjection(
  points: readonly { lat: number; lng: number }[],
  width: number,
  height: number,
  margin = 0.08,
): Projection {
  const lats = points.map((p) => p.lat);
  const lngs = points.map((p) => p.lng);
  const [south, north] = points.length ? [Math.min(...lats), Math.max(...lats)] : [52.49, 52.55];
  const [west, east] = points.length ? [Math.min(...lngs), Math.max(...lngs)] : [13.35, 13.45];
  const midLat = (south + north) / 2;
  const mPerLng = METRES_PER_DEGREE * Math.cos((midLat * Math.PI) / 180);
  // At least 1 km across, so one point or a tight cluster still shows as a neighbourhood.
  const spanX = Math.max((east - west) * mPerLng, 1_000);
  const spanY = Math.max((north - south) * METRES_PER_DEGREE, 1_000);
  const scale = Math.min(width / (spanX * (1 + 2 * margin)), height / (spanY * (1 + 2 * margin)));
  const midLng = (west + east) / 2;
  return {
    scale,
    widthM: width / scale,
    x: (lng) => width / 2 + (lng - midLng) * mPerLng * scale,
    y: (lat) => height / 2 - (lat - midLat) * METRES_PER_DEGREE * scale,
  };
}

/** A round grid step (1, 2 or 5 × 10^n metres) giving about `lines` lines across `widthM`. */
export function gridStep(widthM: number, lines = 8): number {
  const raw = widthM / lines;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  return step;
}

export function formatDistance(metres: number): string {
  return metres >= 1_000 ? `${metres / 1_000} km` : `${metres} m`;
}

/** A polyline's `points` for positions on the map ("x,y x,y …", to a tenth of a pixel). */
export function svgPoints(positions: readonly { lat: number; lng: number }[], p: Projection): string {
  const r = (n: number) => Math.round(n * 10) / 10;
  return positions.map((pos) => `${r(p.x(pos.lng))},${r(p.y(pos.lat))}`).join(' ');
}
