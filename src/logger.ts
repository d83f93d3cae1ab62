import pino, { type Logger } from 'pino';
import { BatchedLogDestination } from './batched-log-destination.js';
import type { Config } from './config/config.js';

/** Query parameters whose values never reach a log line. */
const SECRET_PARAMS = /([?&](?:token|access_token|password)=)[^&#]*/gi;

/** `/ws/room?token=abc` → `/ws/room?token=[redacted]`. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_PARAMS, '$1[redacted]');
}

/**
 * The server's pino logger: pretty lines on a terminal (`tty`) or with DEBUG=true, JSON lines
 * otherwise (files, log collectors); colours only on a terminal. Secrets are redacted by
 * exact path (Authorization headers, `token`/`password` fields at the top and in `body`) as a second
 * line of defence; callers log no secrets in the first place. No wildcard paths: they cost ~5 µs on
 * every line, two lines per connection.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'debug'>,
  output: { readonly tty?: boolean; readonly destination?: pino.DestinationStream } = {},
): Logger {
  const { tty = false, destination } = output;
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'signaling' },
    redact: {
      paths: [
        'headers.authorization',
        'req.headers.authorization',
        'password',
        'token',
        'access_token',
        'body.password',
        'body.token',
        'body.access_token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      err: pino.stdSerializers.err,
    },
  };
  if (destination) return pino(options, destination);
  if (!config.debug && !tty) {
    // Buffered asynchronous writes (up to 16 KiB or 250 ms): a write per line cost the join path
    // ~10 % CPU. The batching is ours (see BatchedLogDestination for why not sonic-boom's own).
    // `log.flush()` writes out at once; what is buffered at exit is written synchronously.
    const stdout = new BatchedLogDestination(pino.destination({ dest: 1, sync: false }), 16_384);
    setInterval(() => stdout.flush(), 250).unref();
    process.once('exit', () => {
      try {
        stdout.flushSync();
      } catch {
        // stdout already closed
      }
    });
    return pino(options, stdout);
  }
  return pino({
    ...options,
    transport: {
      target: 'pino-pretty',
      options: { colorize: tty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
    },
  });
}
