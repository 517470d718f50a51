import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import type { ReportSeries } from './model';

// Only what this chart draws, so the bundle carries no other chart types, scales or plugins. The legend is
// the page's own (index.html, like the map's), which spares the Legend plugin.
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale);
Chart.register(Tooltip);

type Data = (number | null)[];
/** style.css's --busy, --available and --alert, which the page's legend uses too. */
const COLOURS = { placed: '#3b6fd8', delivered: '#1f9d55', p95: '#d64545' } as const;

/**
 * The reports chart on its canvas: placed and delivered orders per key as bars,
 * dispatch p95 (seconds) as a line on its own axis. Drawn on the canvas only
 * (no markup, no inline styles), so the page's CSP needs nothing more.
 */
export class ReportChart {
  private chart: Chart<'bar' | 'line', Data, string> | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  show(series: ReportSeries): void {
    if (this.chart) {
      this.chart.data.labels = series.labels;
      const [placed, delivered, p95] = this.chart.data.datasets;
      placed!.data = series.placed;
      delivered!.data = series.delivered;
      p95!.data = series.dispatchP95S;
      this.chart.update();
    } else {
      this.chart = new Chart(this.canvas, config(series));
    }
    this.canvas.dataset.keys = String(series.keys.length);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }
}

function config(series: ReportSeries): ChartConfiguration<'bar' | 'line', Data, string> {
  return {
    type: 'bar',
    data: {
      labels: series.labels,
      datasets: [
        { type: 'bar', label: 'placed', data: series.placed, backgroundColor: COLOURS.placed, yAxisID: 'orders' },
        {
          type: 'bar',
          label: 'delivered',
          data: series.delivered,
          backgroundColor: COLOURS.delivered,
          yAxisID: 'orders',
        },
        {
          type: 'line',
          label: 'dispatch p95 (s)',
          data: series.dispatchP95S,
          borderColor: COLOURS.p95,
          backgroundColor: COLOURS.p95,
          yAxisID: 'seconds',
          spanGaps: true,
          pointRadius: 2,
          borderWidth: 2,
        },
      ],
    },
    options: {
      // A refresh every minute should not replay a growing animation.
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { type: 'category', ticks: { autoSkip: true, maxRotation: 0 } },
        orders: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          ticks: { precision: 0 },
          title: { display: true, text: 'orders' },
        },
        seconds: {
          type: 'linear',
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: 'dispatch p95 (s)' },
        },
      },
    },
  };
}
