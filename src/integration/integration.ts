import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { SecurityEvents } from '../security/security-events.js';
import type { Broker } from '../signaling/broker.js';
import type { RoomObserver } from '../signaling/room-observer.js';
import type { RequestAuthDeps } from '../transport/request-auth.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerIntegrationMetrics } from './integration-metrics.js';
import { JoinGate } from './join-gate.js';
import { JoinHook } from './join-hook.js';
import { RequestSigner } from './request-signer.js';
import { WebhookNotifier } from './webhook-notifier.js';

export type IntegrationConfig = Pick<
  Config,
  | 'requireAuth'
  | 'maxConnectionsPerRoom'
  | 'maxMessageBytes'
  | 'jwtIssuer'
  | 'webhookUrls'
  | 'webhookSecret'
  | 'webhookQueueSize'
  | 'webhookTimeoutMs'
  | 'webhookMaxAttempts'
  | 'joinHookUrl'
  | 'joinHookTimeoutMs'
  | 'joinHookFail'
>;

export interface IntegrationDeps {
  readonly log: Logger;
  readonly broker: Broker;
  readonly events: SecurityEvents;
  readonly registry: Registry;
  readonly now: () => number;
}

/**
 * "Connecting your backend" in one place: the join gate (token room limits, join hook), webhooks
 * (observing the broker's room lifecycle and the hub's peers) and the Admin API, with their metrics.
 * `buildApp` hands `observer` to the hub and `gate` to the dialects, and closes it after the sockets.
 */
export class Integration {
  /** A random id per process start, in every webhook event. */
  readonly instance = randomBytes(6).toString('hex');
  readonly gate: JoinGate;
  /** The webhook notifier when `WEBHOOK_URLS` is set. */
  readonly observer: (RoomObserver & { close(graceMs: number): Promise<void> }) | undefined;
  readonly #config: IntegrationConfig;
  readonly #deps: IntegrationDeps;

  constructor(config: IntegrationConfig, deps: IntegrationDeps) {
    this.#config = config;
    this.#deps = deps;
    const { log, now } = deps;
    const signer = config.webhookSecret
      ? new RequestSigner(config.webhookSecret, config.jwtIssuer, now)
      : null;
    const hook =
      config.joinHookUrl && signer
        ? new JoinHook({
            url: config.joinHookUrl,
            signer,
            timeoutMs: config.joinHookTimeoutMs,
            failOpen: config.joinHookFail === 'open',
            onError: (error) => log.warn({ err: errorText(error) }, 'join hook failed'),
          })
        : null;
    const webhooks =
      config.webhookUrls.length > 0 && signer
        ? new WebhookNotifier({
            urls: config.webhookUrls,
            signer,
            capacity: config.webhookQueueSize,
            timeoutMs: config.webhookTimeoutMs,
            maxAttempts: config.webhookMaxAttempts,
            instance: this.instance,
            now,
            onError: (error) => log.debug({ err: errorText(error) }, 'webhook delivery failed'),
          })
        : null;
    if (webhooks) deps.broker.observeRooms(webhooks);
    this.observer = webhooks ?? undefined;
    this.gate = new JoinGate(hook, deps.events);
    registerIntegrationMetrics(deps.registry, webhooks, hook);
  }

  /** Adds the Admin API routes. */
  register(http: FastifyInstance, auth: RequestAuthDeps): void {
    registerAdminRoutes(http, { config: this.#config, auth, ...this.#deps });
  }

  /** Gives queued webhook events `graceMs` to go out (peers closed by a shutdown are among them). */
  async close(graceMs: number): Promise<void> {
    await this.observer?.close(graceMs);
  }
}

/** Error text without the URL's query (which may hold a receiver's token). */
function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\?\S*/g, '?…');
}
