import { Counter, Gauge, type Registry } from 'prom-client';
import type { JoinHook, JoinHookOutcomeName } from './join-hook.js';
import type { WebhookNotifier } from './webhook-notifier.js';

const HOOK_OUTCOMES: readonly JoinHookOutcomeName[] = ['allowed', 'refused', 'failed_open', 'failed_closed'];

/**
 * Webhook and join hook figures of this instance, read from their owners' counters at scrape time
 * (as the other metrics are): `signaling_webhook_events_total{outcome}` (delivered, failed after every
 * attempt, dropped because the queue was full), `signaling_webhook_queue_depth` and
 * `signaling_join_hook_checks_total{outcome}`. Exported at 0 when webhooks or the hook are off.
 */
export function registerIntegrationMetrics(
  registry: Registry,
  webhooks: WebhookNotifier | null,
  hook: JoinHook | null,
): void {
  const registers = [registry];
  new Counter({
    name: 'signaling_webhook_events_total',
    help: 'Webhook events by outcome: delivered, failed (after every retry) or dropped (queue full).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const counts = webhooks?.counts() ?? { delivered: 0, failed: 0, dropped: 0 };
      for (const outcome of ['delivered', 'failed', 'dropped'] as const)
        this.inc({ outcome }, counts[outcome]);
    },
  });
  new Gauge({
    name: 'signaling_webhook_queue_depth',
    help: 'Webhook events waiting for delivery, over every endpoint.',
    registers,
    collect() {
      this.set(webhooks?.counts().queued ?? 0);
    },
  });
  new Counter({
    name: 'signaling_join_hook_checks_total',
    help: 'Join hook checks by outcome (failed_*: timeout or error, resolved by JOIN_HOOK_FAIL).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const outcome of HOOK_OUTCOMES) this.inc({ outcome }, hook?.counts[outcome] ?? 0);
    },
  });
}
