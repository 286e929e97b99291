/**
 * agent-config-sync, the browser side. One ES module, no dependencies, no build step; served by the
 * service at GET /client/agent-config.js (ETag, see VERSION). docs/client.md is its manual.
 *
 *   import { createClient } from 'https://config.example.com/client/agent-config.js';
 *   const client = createClient({ baseUrl: 'https://config.example.com', getAccessToken });
 *   await client.save(tenantId, userId, { callAgentId: 'agent_123' }); // {status: 'saved'|'pending'|...}
 *
 * A save the service cannot take (network error, timeout, 408, 429, 5xx) waits in this browser's
 * outbox (localStorage; the API key only as AES-GCM ciphertext under a non-extractable key kept in
 * IndexedDB) and is sent again on a schedule. Every edit carries editedAt, the moment it was made,
 * from which the service derives the field versions: an edit synced late never overwrites a newer one.
 */
export const VERSION = '1.0.0';

/** The fields a save may carry; null clears one. */
export const FIELDS = Object.freeze(['retellApiKey', 'callAgentId', 'smsAgentId']);

const SECRET_FIELD = 'retellApiKey';
const NS = 'agent-config:v1:';
/** One immutable record per save: agent-config:v1:edit:<tenant>/<user>/<editId>. */
const EDIT_PREFIX = NS + 'edit:';
/** Per user, written only under that user's lock: attempts, next attempt, last error, lost keys. */
const META_PREFIX = NS + 'meta:';
/** The newest editedAt this browser handed out (edits of one browser stay in order). */
const CLOCK_KEY = NS + 'clock';
/**
 * Per user, what the service last confirmed (values as the service shows them: the API key masked,
 * never the plaintext): agent-config:v1:known:<tenant>/<user>. A read that cannot reach the service
 * answers from it, each field marked source 'last_known' with its asOf.
 */
const KNOWN_PREFIX = NS + 'known:';
/** The last attempt to reach the service, from any tab: {reached, at, status}. status().online reads it. */
const REACH_KEY = NS + 'reach';
/**
 * A save the service took that may still lose (it answered stale, or parked it: queued), watched until its
 * receipt says: agent-config:v1:watch:<tenant>/<user>/<saveId> = {tenantId, userId, saveId, editedAt, at}.
 * In localStorage, so a reload does not forget it: the `superseded` event fires on a later page too.
 */
const WATCH_PREFIX = NS + 'watch:';
/** A watched save whose receipt never settles is forgotten after this long. */
const WATCH_MS = 7 * 24 * 3600 * 1000;
const LEASE_PREFIX = NS + 'lease:';
const LOCK_PREFIX = 'agent-config:v1:';
const DB_NAME = 'agent-config-outbox';
const DB_STORE = 'keys';
const DB_KEY = 'outbox-key';
const BUSY = Symbol('busy');
const LEASE_MS = 15000;

/** A refusal (4xx), or a save this browser could not keep. `status` is the HTTP status (0: none). */
export class AgentConfigError extends Error {
  constructor(message, { status = 0, code = null, problem = null, requestId = null } = {}) {
    super(message);
    this.name = 'AgentConfigError';
    this.status = status;
    this.code = code;
    this.problem = problem;
    this.requestId = requestId;
  }
}

/**
 * @param {object} options
 * @param {string} options.baseUrl  where the service answers ('' = this page's origin)
 * @param {function({tenantId, userId}): (string|null|Promise<string|null>)} options.getAccessToken
 *        the signed-in user's Supabase access token; null: none for this user now (nothing is sent)
 * @param {number} [options.interval=30000]  the longest wait between two attempts of a pending edit
 * @param {number} [options.retryBase=1000]  the first retry delay; doubles per failed attempt, jittered,
 *        capped at retryMax (default: interval, so a service that is back is reached within the interval)
 * @param {number} [options.timeout=10000]   a request that has not answered by then counts as failed
 * @param {boolean} [options.autoSync=true]  drain on load, on `online` and on the schedule
 */
export function createClient(options) {
  return new AgentConfigClient(options || {});
}

class AgentConfigClient extends EventTarget {
  #o;
  #storage;
  #fetch;
  #tabId = randomId();
  #timer = null;
  #draining = 0;
  #closed = false;
  #leases = new Set();
  #onOnline = () => { this.#resetBackoff(); this.#kick(); };

  constructor(o) {
    super();
    if (typeof o.getAccessToken !== 'function') {
      throw new TypeError('createClient needs getAccessToken: () => the Supabase access token');
    }
    const interval = positive(o.interval, 30000);
    this.#o = {
      baseUrl: String(o.baseUrl ?? '').replace(/\/+$/, ''),
      getAccessToken: o.getAccessToken,
      interval,
      retryBase: positive(o.retryBase, 1000),
      retryMax: positive(o.retryMax, interval),
      timeout: positive(o.timeout, 10000),
      autoSync: o.autoSync !== false,
    };
    this.#storage = o.storage || globalThis.localStorage;
    this.#fetch = o.fetch || globalThis.fetch.bind(globalThis);
    if (this.#o.autoSync) {
      globalThis.addEventListener?.('online', this.#onOnline);
      this.#schedule(0); // page load: whatever an earlier visit left goes out at once
    }
  }

  /** Adds a listener for 'pending', 'synced', 'superseded' or 'error'; returns the function that removes it. */
  on(type, listener) {
    const l = (e) => listener(e.detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  /**
   * Saves fields of one user. Resolves with the service's answer ({status: 'saved' | 'stale' |
   * 'queued' | 'quarantined', saveId, version, targets, editedAt}) or, when the service cannot take
   * it now, with {status: 'pending', editedAt, fields, reason}: the edit waits in the outbox.
   * Rejects with AgentConfigError for a refusal (4xx: the caller's mistake, never queued).
   */
  async save(tenantId, userId, fields) {
    checkUser(tenantId, userId);
    const changes = checkFields(fields);
    const record = {
      v: 1, tenantId: String(tenantId), userId: String(userId), editId: randomId(),
      editedAt: this.#nextEditTime(), heldBy: this.#tabId, fields: {},
      // the edit's trace (W3C Trace Context): every attempt to send it, now or from the outbox later, carries
      // it, so the service's spans (and a parked save's replay) join this one trace
      traceparent: newTraceparent(),
    };
    const unsealable = [];
    for (const [name, value] of Object.entries(changes)) {
      if (name === SECRET_FIELD && value !== null) {
        try {
          record.fields[name] = { sealed: await seal(value, aad(record, name)) };
        } catch (e) {
          // no WebCrypto/IndexedDB here (an insecure context, a private mode): the key is never kept
          record.fields[name] = { unsealed: true };
          unsealable.push(name);
        }
      } else {
        record.fields[name] = { value };
      }
    }
    // written ahead: a tab closed during the request loses nothing; other tabs leave it alone while
    // heldBy this tab is sending it
    record.heldUntil = Date.now() + 2 * this.#o.timeout + 2000;
    const kept = this.#put(record);
    const user = userOf(record);
    const result = await this.#withLock(user, this.#o.timeout, async () => {
      const live = this.#liveFields(record);
      if (live.length === 0) {
        this.#remove(record); // a newer edit of every field arrived meanwhile (another tab)
        return { outcome: 'superseded' };
      }
      const body = {};
      for (const f of live) { body[f] = changes[f]; }
      const answer = await this.#send(record, body, live);
      if (answer.kind === 'ok') {
        this.#remove(record);
        this.#rememberSaved(record, body, answer.body);
        this.#updateMeta(user, (m) => {
          m.lost = (m.lost || []).filter((l) => !live.includes(l.field) || replaces(micros(l.editedAt), micros(record.editedAt)));
          m.attempts = 0; m.nextAttemptAt = null;
          return m;
        });
      } else if (answer.kind === 'refused' || answer.kind === 'auth') {
        this.#remove(record);
      }
      return { outcome: 'sent', answer, live };
    });
    if (result === BUSY) {
      // another tab is draining this user's outbox: this edit waits its turn there or here
      return this.#pending(record, kept, unsealable, { kind: 'busy', message: 'another tab is sending' });
    }
    if (result.outcome === 'superseded') {
      return { status: 'superseded', editedAt: record.editedAt, fields: [] };
    }
    const { answer } = result;
    if (answer.kind === 'ok') {
      this.#watch(user, answer.body, record.editedAt);
      return { ...answer.body, editedAt: record.editedAt };
    }
    if (answer.kind === 'refused' || answer.kind === 'auth') {
      throw refusalError(answer);
    }
    return this.#pending(record, kept, unsealable, answer);
  }

  /**
   * The user's configuration: the service's answer (retellApiKey masked) merged per field with what
   * this browser still has pending and with this browser's last-known copy. A field is never null
   * because it could not be seen: null means cleared. A pending field newer than the service's value
   * is shown with fields[name].pending = true. When the service cannot be reached (or cannot see its
   * tables), `offline` is true and each field comes from the freshest place this browser has: its
   * outbox, then its last-known copy (fields[name].source 'last_known', with asOf). A field no place
   * knows is absent and listed in `unknown`; `complete` says whether the answer is whole, `asOf` the
   * moment it is true for. Rejects with AgentConfigError on a refusal.
   */
  async read(tenantId, userId) {
    checkUser(tenantId, userId);
    const user = { tenantId: String(tenantId), userId: String(userId) };
    let body = null;
    let offline = false;
    let error = null;
    const token = await this.#token(user);
    if (token) {
      const answer = await this.#request('GET', user, null, token, {});
      if (answer.kind === 'ok') {
        body = answer.body;
        this.#rememberRead(user, body);
      } else if (answer.status === 404) {
        // no place of the service knows the user: a complete answer (nothing set), the copy is obsolete
        this.#forgetKnown(user);
        body = { tenantId: user.tenantId, userId: user.userId, retellApiKey: null, callAgentId: null, smsAgentId: null,
          fields: {}, found: false, complete: true };
      } else if (answer.kind === 'refused' || answer.kind === 'auth') {
        throw refusalError(answer);
      } else {
        offline = true;
        error = { status: answer.status, message: answer.message };
      }
    } else {
      offline = true;
      error = { status: 0, message: 'no access token for this user' };
    }
    const now = new Date().toISOString();
    const view = body ? { ...body, fields: { ...(body.fields || {}) } }
      : { tenantId: user.tenantId, userId: user.userId, fields: {}, complete: false };
    view.offline = offline;
    if (error) { view.error = error; }
    // fields the service could not tell (or all, offline): from this browser's last-known copy when it
    // holds them, or a newer version of them than the service's own last-known copy
    const known = this.#known(user);
    let asOf = (body && body.asOf) || now;
    const unknown = new Set(body ? (Array.isArray(body.unknown) ? body.unknown : []) : FIELDS);
    for (const f of FIELDS) {
      const mine = known.fields[f];
      if (!mine) { continue; }
      const served = body && Object.prototype.hasOwnProperty.call(body, f) ? view.fields[f] : null;
      const better = !served ? !body || unknown.has(f)
        : served.source === 'last_known' && served.version != null && mine.version != null && replaces(mine.version, served.version);
      if (better) {
        view[f] = mine.value;
        view.fields[f] = { source: 'last_known', version: mine.version, updatedAt: mine.updatedAt, asOf: mine.asOf };
        unknown.delete(f);
        if (mine.asOf < asOf) { asOf = mine.asOf; }
      }
    }
    const pending = [];
    for (const { record, live } of plan(this.#records(user))) {
      for (const f of live) {
        const version = micros(record.editedAt);
        const served = view.fields[f];
        if (served && served.source !== 'browser-outbox' && served.version != null && !replaces(version, served.version)) {
          view.fields[f] = { ...served, overtakesPending: record.editedAt }; // the pending edit will lose
          continue;
        }
        let value = record.fields[f].value ?? null;
        let state = 'pending';
        if (f === SECRET_FIELD) {
          value = null;
          if (record.fields[f].sealed) {
            try { value = mask(await unseal(record.fields[f].sealed, aad(record, f))); } catch (e) { state = 'lost'; }
          } else if (record.fields[f].unsealed) {
            state = 'lost';
          }
        }
        view[f] = value;
        view.fields[f] = { source: 'browser-outbox', pending: true, state, editedAt: record.editedAt, version };
        unknown.delete(f);
        pending.push(f);
      }
    }
    for (const f of unknown) { delete view[f]; delete view.fields[f]; }
    view.pending = pending;
    view.unknown = FIELDS.filter((f) => unknown.has(f));
    view.complete = !offline && view.unknown.length === 0 && body.complete !== false;
    view.asOf = asOf;
    return view;
  }

  /**
   * What this browser holds: per user the pending fields (newest edit per field) and since when,
   * keys that can no longer be read back ("lost"), attempts, the next attempt and the last error.
   */
  async status() {
    const users = new Map();
    const keyFor = (u) => {
      const id = userKey(u);
      if (!users.has(id)) {
        const meta = this.#meta(u);
        users.set(id, { tenantId: u.tenantId, userId: u.userId, pending: [], lost: [...(meta.lost || [])], since: null,
          attempts: meta.attempts || 0, nextAttemptAt: iso(meta.nextAttemptAt), lastError: meta.lastError || null,
          lastSyncedAt: meta.lastSyncedAt || null });
      }
      return users.get(id);
    };
    const key = await outboxKey(false).catch(() => null);
    for (const [, records] of this.#recordsByUser()) {
      for (const { record, live } of plan(records)) {
        const u = keyFor(record);
        for (const f of live) {
          const entry = record.fields[f];
          const lost = f === SECRET_FIELD && (entry.unsealed || (entry.sealed && (!key || key.kid !== entry.sealed.kid)));
          if (lost) {
            u.lost.push({ field: f, editedAt: record.editedAt, reason: entry.unsealed ? 'not kept (no WebCrypto here)'
              : 'the browser key that sealed it is gone (site data cleared)' });
          } else {
            u.pending.push({ field: f, editedAt: record.editedAt, sealed: Boolean(entry.sealed) });
          }
          if (!u.since || record.editedAt < u.since) { u.since = record.editedAt; }
        }
      }
    }
    for (const [id] of this.#metaKeys()) {
      const m = this.#metaAt(id);
      if (m && m.lost && m.lost.length) { keyFor(m.user); }
    }
    for (const u of users.values()) {
      const seen = new Set();
      u.lost = u.lost.filter((l) => !seen.has(l.field + '@' + l.editedAt) && seen.add(l.field + '@' + l.editedAt));
    }
    const list = [...users.values()].filter((u) => u.pending.length || u.lost.length || u.lastError);
    const lastError = list.map((u) => u.lastError).filter(Boolean).sort((a, b) => (a.at < b.at ? 1 : -1))[0] || null;
    const reach = this.#reach();
    return {
      version: VERSION,
      // the browser's own offline flag first; otherwise the last attempt to reach the service decides
      online: globalThis.navigator && navigator.onLine === false ? false : reach ? reach.reached : true,
      onlineCheckedAt: reach ? reach.at : null,
      draining: this.#draining > 0,
      pending: list.reduce((n, u) => n + u.pending.length, 0),
      lost: list.reduce((n, u) => n + u.lost.length, 0),
      since: list.map((u) => u.since).filter(Boolean).sort()[0] || null,
      // the age of the oldest pending edit (ms; 0: none): a drain that stopped shows as a growing number
      oldestPendingAgeMs: (() => {
        const oldest = list.map((u) => u.since).filter(Boolean).sort()[0];
        return oldest ? Math.max(0, Date.now() - Date.parse(oldest)) : 0;
      })(),
      lastError,
      lastSyncedAt: list.map((u) => u.lastSyncedAt).filter(Boolean).sort().pop() || null,
      users: list,
    };
  }

  /**
   * Sends what is pending now, whatever the backoff says. Resolves with
   * {sent, synced, refused, failed, busy, remaining}; busy counts users another tab is draining.
   */
  syncNow() {
    this.#resetBackoff();
    return this.#drainAll(true);
  }

  /** Drops everything pending for a user (for example on sign-out), lost keys included. */
  discard(tenantId, userId) {
    const user = { tenantId: String(tenantId), userId: String(userId) };
    for (const r of this.#records(user)) { this.#remove(r); }
    this.#storage.removeItem(META_PREFIX + userKey(user));
    this.#forgetKnown(user);
    for (const w of this.#watched(user)) { this.#storage.removeItem(w.key); }
  }

  /**
   * The receipt of a save (its saveId): what became of each field, as the service tells
   * (GET …/saves/{saveId}: applied, pending, superseded by which save, refused, abandoned). Rejects with
   * AgentConfigError on a refusal (404: not known), and with code 'unreachable' when the service cannot be
   * asked now.
   */
  async receipt(tenantId, userId, saveId) {
    checkUser(tenantId, userId);
    const user = { tenantId: String(tenantId), userId: String(userId) };
    const token = await this.#token(user);
    if (!token) {
      throw new AgentConfigError('no access token for this user', { code: 'no-token' });
    }
    const answer = await this.#request('GET', user, null, token, {}, '/saves/' + encodeURIComponent(String(saveId)));
    if (answer.kind === 'ok') {
      return answer.body;
    }
    if (answer.kind === 'transient') {
      throw new AgentConfigError(answer.message, { status: answer.status, code: 'unreachable',
        requestId: answer.requestId || null });
    }
    throw refusalError(answer);
  }

  /**
   * Signs a user out safely: sends what is pending for the user within deadlineMs (default: timeout), then
   * keeps the sealed edits that could not be sent for the user's next sign-in (keep: true, the default) or
   * discards them (keep: false). The key only ever rests sealed; no plaintext outlives this call. Resolves
   * with {synced, refused, kept, discarded, lost}.
   */
  async signOut(tenantId, userId, { deadlineMs, keep = true } = {}) {
    checkUser(tenantId, userId);
    const user = { tenantId: String(tenantId), userId: String(userId) };
    const deadline = positive(deadlineMs, this.#o.timeout);
    const summary = { sent: 0, synced: 0, refused: 0, failed: 0, busy: 0, remaining: 0 };
    const before = this.#records(user).length;
    if (before > 0) {
      let timer;
      await Promise.race([
        this.#withLock(user, deadline, () => this.#drainUser(user, summary)).catch(() => undefined),
        new Promise((resolve) => { timer = setTimeout(resolve, deadline); }),
      ]);
      clearTimeout(timer);
    }
    const left = this.#records(user).length;
    const lost = ((this.#meta(user) || {}).lost || []).length;
    const out = { synced: summary.synced, refused: summary.refused, kept: keep ? left : 0,
      discarded: keep ? 0 : left, lost };
    if (!keep) {
      this.discard(tenantId, userId);
    }
    return out;
  }

  /** Stops the schedule and the listeners of this client (the outbox stays). */
  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    globalThis.removeEventListener?.('online', this.#onOnline);
  }

  // ----- sending -------------------------------------------------------------------------------

  async #drainAll(force) {
    const summary = { sent: 0, synced: 0, refused: 0, failed: 0, busy: 0, remaining: 0 };
    this.#draining++;
    try {
      for (const [, records] of this.#recordsByUser()) {
        const user = userOf(records[0]);
        if (!force && (this.#meta(user).nextAttemptAt || 0) > Date.now()) {
          continue;
        }
        const r = await this.#withLock(user, 0, () => this.#drainUser(user, summary));
        if (r === BUSY) { summary.busy++; }
      }
    } finally {
      this.#draining--;
    }
    for (const [, records] of this.#recordsByUser()) {
      summary.remaining += plan(records).reduce((n, p) => n + p.live.length, 0);
    }
    return summary;
  }

  /** Under the user's lock: each pending edit (oldest first) as one PUT with its own editedAt. */
  async #drainUser(user, summary) {
    const tried = new Set();
    for (;;) {
      const now = Date.now();
      const next = plan(this.#records(user)).find(({ record, live }) => {
        if (tried.has(record.editId)) { return false; }
        if (live.length === 0) { this.#remove(record); return false; } // every field has a newer edit
        // a save of another live tab is sending it itself right now
        return !(record.heldBy && record.heldBy !== this.#tabId && record.heldUntil > now);
      });
      if (!next) { return; }
      const { record, live } = next;
      tried.add(record.editId);
      const token = await this.#token(user);
      if (!token) {
        this.#failed(user, { kind: 'auth', status: 0, message: 'no access token for this user' }, record, live, false);
        summary.failed++;
        return;
      }
      const body = {};
      const lost = [];
      for (const f of live) {
        const entry = record.fields[f];
        if (entry.sealed) {
          try { body[f] = await unseal(entry.sealed, aad(record, f)); } catch (e) { lost.push(f); }
        } else if (entry.unsealed) {
          lost.push(f);
        } else {
          body[f] = entry.value;
        }
      }
      if (lost.length) {
        // never sent garbled: the key is reported lost and the edit's other fields go on
        const known = (this.#meta(user).lost || []).filter((l) => l.editedAt === record.editedAt).map((l) => l.field);
        const fresh = lost.filter((f) => !known.includes(f));
        this.#updateMeta(user, (m) => {
          m.lost = (m.lost || []).filter((l) => !lost.includes(l.field));
          for (const f of lost) {
            m.lost.push({ field: f, editedAt: record.editedAt, detectedAt: new Date().toISOString(),
              reason: record.fields[f].unsealed ? 'not kept (no WebCrypto here)'
                : 'the browser key that sealed it is gone (site data cleared)' });
          }
          return m;
        });
        if (fresh.length) {
          this.#emit('error', { kind: 'key-lost', tenantId: user.tenantId, userId: user.userId, fields: fresh,
            editedAt: record.editedAt, message: 'the pending API key cannot be read back; enter it again' });
        }
      }
      const sendable = live.filter((f) => !lost.includes(f));
      if (sendable.length === 0) {
        this.#remove(record);
        continue;
      }
      const answer = await this.#send(record, body, sendable, token);
      summary.sent++;
      if (answer.kind === 'ok') {
        this.#remove(record);
        this.#rememberSaved(record, body, answer.body);
        summary.synced++;
        this.#updateMeta(user, (m) => {
          m.attempts = 0; m.nextAttemptAt = null; m.lastSyncedAt = new Date().toISOString();
          m.lost = (m.lost || []).filter((l) => !sendable.includes(l.field) || replaces(micros(l.editedAt), micros(record.editedAt)));
          return m;
        });
        this.#watch(user, answer.body, record.editedAt);
        this.#emit('synced', { tenantId: user.tenantId, userId: user.userId, editedAt: record.editedAt, fields: sendable,
          status: answer.body && answer.body.status, saveId: answer.body && answer.body.saveId,
          version: answer.body && answer.body.version });
      } else if (answer.kind === 'refused') {
        // the service will never take it (400, 409, 413, ...): kept no longer, reported
        this.#remove(record);
        summary.refused++;
        this.#failed(user, answer, record, sendable, true);
      } else {
        summary.failed++;
        this.#failed(user, answer, record, sendable, false);
        return; // the service is away (or the token is refused): the rest waits for the next attempt
      }
    }
  }

  /** A failed attempt: the error remembered, the next attempt scheduled with backoff and jitter. */
  #failed(user, answer, record, fields, dropped) {
    const at = new Date().toISOString();
    const lastError = { at, kind: dropped ? 'refused' : answer.kind, status: answer.status || 0,
      message: answer.message || '', requestId: answer.requestId || null };
    let nextAttemptAt = null;
    this.#updateMeta(user, (m) => {
      m.lastError = lastError;
      if (!dropped) {
        m.attempts = (m.attempts || 0) + 1;
        m.nextAttemptAt = Date.now() + this.#backoff(m.attempts, answer.retryAfter);
        nextAttemptAt = m.nextAttemptAt;
      }
      return m;
    });
    this.#emit('error', { kind: lastError.kind, tenantId: user.tenantId, userId: user.userId, status: lastError.status,
      message: lastError.message, editedAt: record.editedAt, fields,
      nextAttemptAt: nextAttemptAt ? new Date(nextAttemptAt).toISOString() : null,
      problem: answer.problem || null });
    if (nextAttemptAt) { this.#schedule(nextAttemptAt - Date.now()); }
  }

  #pending(record, kept, unsealable, answer) {
    const user = userOf(record);
    if (!kept) {
      throw new AgentConfigError('the service could not take the save (' + (answer.message || answer.kind)
        + ') and this browser cannot keep it (localStorage unavailable or full)', { code: 'outbox-unavailable',
        status: answer.status || 0 });
    }
    // the record leaves this tab's hands: any tab's drain may send it now
    const { heldBy, heldUntil, ...free } = record;
    if (this.#storage.getItem(editKey(record)) !== null) { this.#put(free); }
    const at = new Date().toISOString();
    let nextAttemptAt = null;
    this.#updateMeta(user, (m) => {
      if (answer.kind !== 'busy') {
        m.attempts = (m.attempts || 0) + 1;
        m.lastError = { at, kind: answer.kind, status: answer.status || 0, message: answer.message || '',
          requestId: answer.requestId || null };
      }
      m.nextAttemptAt = Date.now() + (answer.kind === 'busy' ? this.#o.retryBase : this.#backoff(m.attempts || 1, answer.retryAfter));
      if (unsealable.length) {
        m.lost = (m.lost || []).concat(unsealable.map((f) => ({ field: f, editedAt: record.editedAt,
          detectedAt: at, reason: 'not kept (no WebCrypto here)' })));
      }
      nextAttemptAt = m.nextAttemptAt;
      return m;
    });
    const fields = Object.keys(record.fields);
    const reason = reasonOf(answer);
    const detail = { tenantId: user.tenantId, userId: user.userId, editedAt: record.editedAt, fields,
      reason, status: answer.status || 0, message: answer.message || '' };
    this.#emit('pending', detail);
    if (unsealable.length) {
      this.#emit('error', { kind: 'key-lost', tenantId: user.tenantId, userId: user.userId, fields: unsealable,
        editedAt: record.editedAt, message: 'this browser cannot keep the API key (no WebCrypto); enter it again' });
    }
    if (this.#o.autoSync) { this.#schedule(nextAttemptAt - Date.now()); }
    return { status: 'pending', editedAt: record.editedAt, fields, reason };
  }

  /** One PUT for one edit: its live fields, its editedAt, an Idempotency-Key naming exactly them. */
  async #send(record, body, fields, token) {
    const user = userOf(record);
    token = token || await this.#token(user);
    if (!token) {
      return { kind: 'auth', status: 0, message: 'no access token for this user' };
    }
    const payload = { ...body, editedAt: record.editedAt };
    const key = record.editId + '.' + [...fields].sort().join('.');
    const extra = { 'Idempotency-Key': key };
    if (validTraceparent(record.traceparent)) { extra.traceparent = record.traceparent; }
    return this.#request('PUT', user, payload, token, extra);
  }

  /**
   * One request. {kind: 'ok'|'refused'|'auth'|'transient', status, body, message, problem, retryAfter}.
   * Transient: no answer (network, CORS failure, timeout), 408, 425, 429, 5xx.
   */
  async #request(method, user, payload, token, extra, suffix = '') {
    const url = this.#o.baseUrl + '/api/v1/agent-config/' + encodeURIComponent(user.tenantId) + '/'
      + encodeURIComponent(user.userId) + suffix;
    const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json', ...extra };
    if (payload) { headers['Content-Type'] = 'application/json'; }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#o.timeout);
    let response;
    try {
      response = await this.#fetch(url, { method, headers, body: payload ? JSON.stringify(payload) : undefined,
        signal: abort.signal, cache: 'no-store', credentials: 'omit', mode: 'cors', referrerPolicy: 'no-referrer' });
    } catch (e) {
      clearTimeout(timer);
      this.#reached(false, 0);
      const timedOut = abort.signal.aborted;
      return { kind: 'transient', status: 0, reason: timedOut ? 'timeout' : 'network',
        message: timedOut ? 'no answer within ' + this.#o.timeout + ' ms'
          : 'the service could not be reached (offline, down, or this origin is not allowed by its CORS list)' };
    }
    // 502 and 504 come from a gateway in front of a service that does not answer
    this.#reached(response.status !== 502 && response.status !== 504, response.status);
    let text = '';
    try {
      text = await response.text();
    } catch (e) {
      clearTimeout(timer);
      return { kind: 'transient', status: response.status, message: 'the answer was cut off' };
    }
    clearTimeout(timer);
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    const status = response.status;
    const requestId = response.headers.get('X-Request-Id');
    const traceId = response.headers.get('X-Trace-Id');
    const message = (body && (body.detail || body.title)) || ('HTTP ' + status);
    if (status >= 200 && status < 300) {
      return { kind: 'ok', status, body, requestId, traceId };
    }
    const retryAfter = Number(response.headers.get('Retry-After')) || 0;
    if (status >= 500 || status === 408 || status === 425 || status === 429) {
      return { kind: 'transient', status, message, requestId, problem: body, retryAfter };
    }
    return { kind: status === 401 || status === 403 ? 'auth' : 'refused', status, message, requestId, problem: body };
  }

  async #token(user) {
    try {
      const t = await this.#o.getAccessToken({ tenantId: user.tenantId, userId: user.userId });
      return t ? String(t) : null;
    } catch (e) {
      return null;
    }
  }

  // ----- schedule ------------------------------------------------------------------------------

  /** Exponential backoff with jitter: base * 2^(n-1), capped at retryMax, then between half and all of it. */
  #backoff(attempts, retryAfterSeconds) {
    const cap = Math.min(this.#o.retryMax, this.#o.retryBase * 2 ** Math.min(30, Math.max(0, attempts - 1)));
    const jittered = cap / 2 + Math.random() * cap / 2;
    return Math.min(this.#o.retryMax, Math.max(jittered, (retryAfterSeconds || 0) * 1000));
  }

  #resetBackoff() {
    for (const [, records] of this.#recordsByUser()) {
      const user = userOf(records[0]);
      if (this.#meta(user).nextAttemptAt) {
        this.#updateMeta(user, (m) => { m.nextAttemptAt = null; return m; });
      }
    }
  }

  #kick() { this.#schedule(0); }

  #schedule(delay) {
    if (this.#closed || !this.#o.autoSync) { return; }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, Math.min(delay, this.#o.interval)));
  }

  async #tick() {
    try {
      await this.#drainAll(false);
    } catch (e) {
      // a storage or lock failure: tried again on the next tick
    }
    try {
      await this.#checkWatched();
    } catch (e) {
      // asked again on the next tick
    }
    if (this.#closed) { return; }
    let next = this.#o.interval;
    for (const [, records] of this.#recordsByUser()) {
      const due = this.#meta(userOf(records[0])).nextAttemptAt;
      next = Math.min(next, due ? Math.max(50, due - Date.now()) : this.#o.interval);
    }
    this.#schedule(next);
  }

  // ----- the outbox (localStorage) -------------------------------------------------------------

  /** editedAt for a new edit: now, but never at or before one this browser already handed out. */
  #nextEditTime() {
    const now = Date.now();
    let last = 0;
    try { last = Number(this.#storage.getItem(CLOCK_KEY)) || 0; } catch (e) { last = 0; }
    // a clock stepped far back is believed rather than outrun (the service refuses editedAt too far ahead)
    const t = last >= now && last - now < 5000 ? last + 1 : now;
    try { this.#storage.setItem(CLOCK_KEY, String(t)); } catch (e) { /* the order across tabs is best effort */ }
    return new Date(t).toISOString();
  }

  #put(record) {
    try {
      this.#storage.setItem(editKey(record), JSON.stringify(record));
      return true;
    } catch (e) {
      return false;
    }
  }

  #remove(record) {
    this.#storage.removeItem(editKey(record));
  }

  #records(user) {
    const prefix = EDIT_PREFIX + userKey(user) + '/';
    const out = [];
    for (let i = 0; i < this.#storage.length; i++) {
      const k = this.#storage.key(i);
      if (k && k.startsWith(prefix)) {
        const r = parseRecord(this.#storage.getItem(k));
        if (r) { out.push(r); }
      }
    }
    return out.sort(byEditTime);
  }

  /** Map userKey -> records (oldest first), for every user with something pending. */
  #recordsByUser() {
    const users = new Map();
    const keys = [];
    for (let i = 0; i < this.#storage.length; i++) {
      const k = this.#storage.key(i);
      if (k && k.startsWith(EDIT_PREFIX)) { keys.push(k); }
    }
    for (const k of keys) {
      const r = parseRecord(this.#storage.getItem(k));
      if (!r) { continue; }
      const id = userKey(r);
      if (!users.has(id)) { users.set(id, []); }
      users.get(id).push(r);
    }
    for (const list of users.values()) { list.sort(byEditTime); }
    return users;
  }

  #liveFields(record) {
    const mine = plan(this.#records(record)).find((p) => p.record.editId === record.editId);
    return mine ? mine.live : [];
  }

  #meta(user) {
    return this.#metaAt(userKey(user)) || {};
  }

  #metaAt(id) {
    try {
      const m = JSON.parse(this.#storage.getItem(META_PREFIX + id) || 'null');
      return m && typeof m === 'object' ? m : null;
    } catch (e) {
      return null;
    }
  }

  #metaKeys() {
    const out = [];
    for (let i = 0; i < this.#storage.length; i++) {
      const k = this.#storage.key(i);
      if (k && k.startsWith(META_PREFIX)) { out.push([k.slice(META_PREFIX.length)]); }
    }
    return out;
  }

  #updateMeta(user, fn) {
    const id = userKey(user);
    const m = fn({ ...(this.#metaAt(id) || {}), user: { tenantId: user.tenantId, userId: user.userId } });
    try {
      this.#storage.setItem(META_PREFIX + id, JSON.stringify(m));
    } catch (e) {
      // the schedule works from memory until storage takes writes again
    }
  }

  // ----- the last-known copy and the last attempt (localStorage) --------------------------------

  #known(user) {
    try {
      const k = JSON.parse(this.#storage.getItem(KNOWN_PREFIX + userKey(user)) || 'null');
      return k && k.v === 1 && k.fields && typeof k.fields === 'object' ? k : { v: 1, fields: {} };
    } catch (e) {
      return { v: 1, fields: {} };
    }
  }

  /** Per field: a version older than the one kept never replaces it; an equal one refreshes asOf. */
  #updateKnown(user, entries) {
    const k = this.#known(user);
    let changed = false;
    for (const [f, e] of Object.entries(entries)) {
      const had = k.fields[f];
      if (!had || e.version == null || had.version == null || replaces(e.version, had.version)
        || (e.version === had.version && (e.value !== had.value || e.asOf > had.asOf))) {
        k.fields[f] = e;
        changed = true;
      }
    }
    if (!changed) { return; }
    k.user = { tenantId: user.tenantId, userId: user.userId };
    try {
      this.#storage.setItem(KNOWN_PREFIX + userKey(user), JSON.stringify(k));
    } catch (e) {
      // storage full: reads offline show less, nothing else depends on the copy
    }
  }

  #forgetKnown(user) {
    this.#storage.removeItem(KNOWN_PREFIX + userKey(user));
  }

  /** A read's answer: each field the service showed (the key as masked by it), with the answer's asOf. */
  #rememberRead(user, body) {
    if (!body || typeof body !== 'object') { return; }
    const now = new Date().toISOString();
    const entries = {};
    for (const f of FIELDS) {
      const meta = (body.fields && body.fields[f]) || null;
      if (!Object.prototype.hasOwnProperty.call(body, f) || (meta && meta.error)) { continue; }
      if (body[f] === null && !meta && body.complete === false) { continue; }
      entries[f] = { value: body[f] ?? null, version: meta && meta.version != null ? meta.version : null,
        updatedAt: (meta && meta.updatedAt) || null, asOf: (meta && meta.asOf) || body.asOf || now };
    }
    this.#updateKnown(user, entries);
  }

  /** A save the service took (saved, queued): the values sent, the key masked as the service masks it. */
  #rememberSaved(record, sent, answerBody) {
    const status = answerBody && answerBody.status;
    if (status !== 'saved' && status !== 'queued') { return; } // stale: some field lost, the next read tells
    const at = new Date().toISOString();
    const entries = {};
    for (const [f, v] of Object.entries(sent)) {
      entries[f] = { value: f === SECRET_FIELD ? mask(v) : v, version: micros(record.editedAt),
        updatedAt: record.editedAt, asOf: at };
    }
    this.#updateKnown(userOf(record), entries);
  }

  #reached(reached, status) {
    try {
      this.#storage.setItem(REACH_KEY, JSON.stringify({ reached, at: new Date().toISOString(), status }));
    } catch (e) {
      // best effort: status() falls back to navigator.onLine
    }
  }

  #reach() {
    try {
      const r = JSON.parse(this.#storage.getItem(REACH_KEY) || 'null');
      return r && typeof r.reached === 'boolean' ? r : null;
    } catch (e) {
      return null;
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ----- receipts of saves that may still lose -------------------------------------------------

  /** A save the service took that may still lose to a newer edit (stale, or parked: queued) is watched. */
  #watch(user, body, editedAt) {
    if (!body || !body.saveId || (body.status !== 'stale' && body.status !== 'queued')) { return; }
    try {
      this.#storage.setItem(WATCH_PREFIX + userKey(user) + '/' + body.saveId, JSON.stringify({
        tenantId: user.tenantId, userId: user.userId, saveId: body.saveId, editedAt, at: Date.now() }));
    } catch (e) {
      return; // storage full: the receipt can still be asked with receipt()
    }
    setTimeout(() => { this.#checkWatched().catch(() => undefined); }, 0);
  }

  #watched(user) {
    const out = [];
    const prefix = WATCH_PREFIX + (user ? userKey(user) + '/' : '');
    for (let i = 0; i < this.#storage.length; i++) {
      const key = this.#storage.key(i);
      if (key && key.startsWith(prefix)) {
        try { out.push({ key, ...JSON.parse(this.#storage.getItem(key)) }); } catch (e) { out.push({ key }); }
      }
    }
    return out;
  }

  /**
   * Asks the receipt of each watched save: `superseded` fires ({tenantId, userId, saveId, editedAt, fields:
   * {name: {saveId, version, editedAt, origin}}}) when one of its fields lost to a newer edit, and the save is
   * forgotten once its receipt settled (applied, superseded, refused, abandoned).
   */
  async #checkWatched() {
    for (const w of this.#watched(null)) {
      if (!w.saveId || Date.now() - (w.at || 0) > WATCH_MS) { this.#storage.removeItem(w.key); continue; }
      const user = { tenantId: w.tenantId, userId: w.userId };
      const token = await this.#token(user);
      if (!token) { continue; }
      const answer = await this.#request('GET', user, null, token, {}, '/saves/' + encodeURIComponent(w.saveId));
      if (answer.kind !== 'ok' || !answer.body) { continue; }
      const receipt = answer.body;
      if (receipt.status === 'pending' || receipt.status === 'unknown') { continue; }
      if (this.#storage.getItem(w.key) === null) { continue; } // another tab told it already
      this.#storage.removeItem(w.key);
      const lost = {};
      for (const [name, verdict] of Object.entries(receipt.fields || {})) {
        if (verdict && verdict.verdict === 'superseded') { lost[name] = verdict.by || {}; }
      }
      if (Object.keys(lost).length > 0) {
        this.#emit('superseded', { tenantId: w.tenantId, userId: w.userId, saveId: w.saveId, editedAt: w.editedAt,
          fields: lost });
      }
    }
  }

  // ----- one tab at a time ---------------------------------------------------------------------

  /**
   * fn under the user's lock across this browser's tabs (Web Locks API; without it a lease in
   * localStorage). wait 0: only if free (BUSY otherwise); else wait at most that long.
   */
  async #withLock(user, wait, fn) {
    const name = LOCK_PREFIX + userKey(user);
    const locks = globalThis.navigator && navigator.locks;
    if (locks && typeof locks.request === 'function') {
      if (!wait) {
        return locks.request(name, { ifAvailable: true }, (lock) => (lock ? fn() : BUSY));
      }
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), wait);
      let granted = false;
      try {
        return await locks.request(name, { signal: abort.signal }, () => { granted = true; clearTimeout(timer); return fn(); });
      } catch (e) {
        if (!granted && e && e.name === 'AbortError') { return BUSY; }
        throw e;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.#withLease(name, wait, fn);
  }

  /** The fallback: a renewed lease in localStorage, checked after a pause (best effort). */
  async #withLease(name, wait, fn) {
    const key = LEASE_PREFIX + name;
    const deadline = Date.now() + (wait || 0);
    const read = () => { try { return JSON.parse(this.#storage.getItem(key) || 'null'); } catch (e) { return null; } };
    const write = () => this.#storage.setItem(key, JSON.stringify({ owner: this.#tabId, until: Date.now() + LEASE_MS }));
    for (;;) {
      const held = read();
      if (!this.#leases.has(name) && (!held || held.until < Date.now())) {
        write();
        await sleep(50);
        if ((read() || {}).owner === this.#tabId && !this.#leases.has(name)) {
          this.#leases.add(name);
          const renew = setInterval(write, LEASE_MS / 3);
          try {
            return await fn();
          } finally {
            clearInterval(renew);
            this.#leases.delete(name);
            if ((read() || {}).owner === this.#tabId) { this.#storage.removeItem(key); }
          }
        }
      }
      if (Date.now() >= deadline) { return BUSY; }
      await sleep(100 + Math.random() * 100);
    }
  }
}

// ----- pure helpers --------------------------------------------------------------------------------

/** Per field the newest edit wins (editedAt, then editId): each record with the fields it still carries. */
function plan(records) {
  const newest = {};
  for (const r of records) {
    for (const f of Object.keys(r.fields)) {
      if (!newest[f] || byEditTime(newest[f], r) < 0) { newest[f] = r; }
    }
  }
  return records.map((record) => ({ record, live: Object.keys(record.fields).filter((f) => newest[f] === record) }));
}

/** Why a save waits: 'network', 'timeout', 'http-503', 'busy' (another tab is sending), ... */
function reasonOf(answer) {
  return answer.reason || (answer.status ? 'http-' + answer.status : answer.kind);
}

/** Older first: by version (the one rule, replaces), then, for two edits of the same instant, by editId. */
function byEditTime(a, b) {
  const va = micros(a.editedAt);
  const vb = micros(b.editedAt);
  if (replaces(vb, va)) { return -1; }
  if (replaces(va, vb)) { return 1; }
  return a.editId < b.editId ? -1 : a.editId > b.editId ? 1 : 0;
}

/**
 * Last-writer-wins, the product's one rule, written once in this module (as core/LastWriterWins in Java and
 * agentconfig.replaces in SQL): a write at version `candidate` replaces what is held at `held` only when it is
 * strictly newer; an equal version is the same write again and changes nothing; nothing held (null) is replaced
 * by any version. Every comparison of versions (or edit times) in this module that decides what wins calls it.
 */
function replaces(candidate, held) {
  return candidate != null && (held == null || candidate > held);
}

/** Epoch milliseconds (kept internally for the schedule) as the ISO-8601 string every time field uses. */
function iso(ms) {
  return ms ? new Date(ms).toISOString() : null;
}

/** The service's version of an editedAt: microseconds since the epoch. */
function micros(iso) {
  return Date.parse(iso) * 1000;
}

function parseRecord(text) {
  try {
    const r = JSON.parse(text);
    return r && r.v === 1 && r.editId && r.editedAt && r.fields && typeof r.fields === 'object' ? r : null;
  } catch (e) {
    return null;
  }
}

function userOf(r) {
  return { tenantId: r.tenantId, userId: r.userId };
}

function userKey(u) {
  return encodeURIComponent(u.tenantId) + '/' + encodeURIComponent(u.userId);
}

function editKey(r) {
  return EDIT_PREFIX + userKey(r) + '/' + r.editId;
}

function aad(record, field) {
  return ['agent-config:v1', record.tenantId, record.userId, field, record.editId].join('\n');
}

function checkUser(tenantId, userId) {
  if (!tenantId || !userId) {
    throw new AgentConfigError('tenantId and userId are required', { code: 'invalid-argument' });
  }
}

function checkFields(fields) {
  if (!fields || typeof fields !== 'object') {
    throw new AgentConfigError('fields must be an object such as {callAgentId: "agent_1"}', { code: 'invalid-argument' });
  }
  const out = {};
  for (const [k, v] of Object.entries(fields)) {
    if (!FIELDS.includes(k)) {
      throw new AgentConfigError('unknown field ' + k + '; known: ' + FIELDS.join(', '), { code: 'invalid-argument' });
    }
    if (v !== null && typeof v !== 'string') {
      throw new AgentConfigError(k + ' must be a string or null', { code: 'invalid-argument' });
    }
    out[k] = v;
  }
  if (Object.keys(out).length === 0) {
    throw new AgentConfigError('a save carries at least one field', { code: 'invalid-argument' });
  }
  return out;
}

function refusalError(answer) {
  return new AgentConfigError(answer.message || 'refused', { status: answer.status, code: answer.problem
    && typeof answer.problem.type === 'string' ? answer.problem.type.replace(/^.*\//, '') : (answer.status ? 'http-'
    + answer.status : 'no-token'), problem: answer.problem || null, requestId: answer.requestId || null });
}

/** The service's mask: the first and last few characters. */
function mask(p) {
  if (p == null) { return null; }
  const show = Math.min(4, Math.floor(p.length / 6));
  return show === 0 ? '…' : p.slice(0, show) + '…' + p.slice(p.length - show);
}

function positive(v, dflt) {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : dflt;
}

function randomId() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') { return crypto.randomUUID(); }
  const b = new Uint8Array(16);
  if (globalThis.crypto && typeof crypto.getRandomValues === 'function') {
    crypto.getRandomValues(b); // insecure contexts have this, though not randomUUID
  } else {
    for (let i = 0; i < b.length; i++) { b[i] = Math.floor(Math.random() * 256); }
  }
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A W3C traceparent starting a new, sampled trace: 00-<32 hex trace id>-<16 hex span id>-01. */
function newTraceparent() {
  const hex = (n) => {
    const b = new Uint8Array(n);
    if (globalThis.crypto && typeof crypto.getRandomValues === 'function') {
      crypto.getRandomValues(b);
    } else {
      for (let i = 0; i < n; i++) { b[i] = Math.floor(Math.random() * 256); }
    }
    b[n - 1] |= 1; // never all zeros (an invalid id)
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  };
  return '00-' + hex(16) + '-' + hex(8) + '-01';
}

function validTraceparent(t) {
  return typeof t === 'string' && /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(t);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ----- the sealing key (IndexedDB, non-extractable) ----------------------------------------------

let dbPromise = null;

function openDb() {
  if (!globalThis.indexedDB) { return Promise.reject(new Error('IndexedDB is not available')); }
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
      req.onsuccess = () => {
        const db = req.result;
        // site data being cleared (or a newer schema) closes it; the next use opens it again
        db.onversionchange = () => { db.close(); dbPromise = null; };
        db.onclose = () => { dbPromise = null; };
        resolve(db);
      };
      req.onerror = () => { dbPromise = null; reject(req.error); };
      req.onblocked = () => { dbPromise = null; reject(new Error('IndexedDB open blocked')); };
    });
  }
  return dbPromise;
}

function tx(db, mode, op) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(DB_STORE, mode);
    const req = op(t.objectStore(DB_STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error || req.error);
    t.onabort = () => reject(t.error || new Error('aborted'));
  });
}

/** {kid, key} of this browser's outbox key; created on first use when asked to. */
async function outboxKey(create) {
  const db = await openDb();
  const found = await tx(db, 'readonly', (s) => s.get(DB_KEY));
  if (found || !create) { return found || null; }
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  try {
    // add, not put: of two tabs creating one at once, the first wins and both use it
    await tx(db, 'readwrite', (s) => s.add({ kid: randomId(), key, createdAt: new Date().toISOString() }, DB_KEY));
  } catch (e) {
    // ConstraintError: another tab was first
  }
  return tx(await openDb(), 'readonly', (s) => s.get(DB_KEY));
}

async function seal(plaintext, associated) {
  const entry = await outboxKey(true);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(associated) }, entry.key, utf8(plaintext));
  return { alg: 'A256GCM', kid: entry.kid, iv: b64(iv), ct: b64(new Uint8Array(ct)) };
}

/** The plaintext, or an error: never a garbled value (the GCM tag is checked). */
async function unseal(sealed, associated) {
  const entry = await outboxKey(false);
  if (!entry || entry.kid !== sealed.kid) {
    throw new Error('lost: the key that sealed it is gone');
  }
  const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(sealed.iv), additionalData: utf8(associated) },
    entry.key, unb64(sealed.ct));
  return new TextDecoder('utf-8', { fatal: true }).decode(pt);
}

function utf8(s) {
  return new TextEncoder().encode(s);
}

function b64(bytes) {
  let s = '';
  for (const b of bytes) { s += String.fromCharCode(b); }
  return btoa(s);
}

function unb64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}
