// How the app tries again after a failure: one policy for every retry loop (the interview
// socket, the live view's snapshots, lists that refresh themselves, signed URLs, a start time
// not yet committed). A loop that retries at once turns one failing server into a flood: the
// live view once sent 574 requests in 4 s against a 503, and 10,220 in 25 s while the server
// was down. So every wait after a failure:
//
// - grows exponentially (base × 2^failures) up to a cap;
// - is jittered ("equal jitter": half the step fixed, half random), so that many browsers
//   that failed together do not come back together;
// - is never shorter than the server's Retry-After, when it sent one.
//
// A success resets it.

// A Retry-After past this is taken as a broken header rather than a request to wait an hour.
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

export class Backoff {
  constructor({ baseMs = 500, capMs = 30000 } = {}) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.failures = 0;
  }

  /** The wait before the next try after a failure: jittered, capped, at least retryAfterMs. */
  next(retryAfterMs = null) {
    const step = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    const delay = step / 2 + Math.random() * (step / 2);
    return Math.max(delay, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
  }

  /** It worked: the next failure waits the base again. */
  reset() {
    this.failures = 0;
  }
}

/** The wait a Retry-After header asks for, in ms (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value === "") return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The wait the server asked for with this error (an ApiError's Retry-After), or null. */
export function retryAfterOf(error) {
  return error?.retryAfterMs ?? null;
}

/**
 * One retried task: `run()` calls `task`; when it throws, calls it again after the backoff
 * (honouring the error's Retry-After), until it succeeds or `stop()`. Calling `run()` while a
 * try is in flight or a retry is waiting does nothing: the waiting retry will do the work, so
 * a burst of triggers (a snapshot a second) never cuts a wait short.
 */
export class Retrying {
  constructor(task, { backoff = new Backoff(), onError = null } = {}) {
    this.task = task;
    this.backoff = backoff;
    this.onError = onError;
    this.timer = null;
    this.running = false;
    this.stopped = false;
  }

  get waiting() {
    return this.timer !== null;
  }

  async run() {
    if (this.stopped || this.running || this.timer !== null) return;
    this.running = true;
    try {
      await this.task();
      this.backoff.reset();
    } catch (error) {
      if (this.stopped) return;
      const delay = this.backoff.next(retryAfterOf(error));
      this.onError?.(error, delay);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.run();
      }, delay);
    } finally {
      this.running = false;
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Call `task` every `everyMs` (a list that refreshes itself); after a failure wait per the
 * backoff instead (from one to two intervals, doubling up to `capMs`). Returns a function that stops it.
 */
export function poll(task, { everyMs, capMs = 60000, onError = null }) {
  const backoff = new Backoff({ baseMs: 2 * everyMs, capMs });
  let timer = null;
  let stopped = false;
  const schedule = (ms) => {
    if (!stopped) timer = setTimeout(tick, ms);
  };
  async function tick() {
    try {
      await task();
      backoff.reset();
      schedule(everyMs);
    } catch (error) {
      onError?.(error);
      schedule(Math.max(everyMs, backoff.next(retryAfterOf(error))));
    }
  }
  schedule(everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
