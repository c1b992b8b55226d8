// ngx_ws browser client: a WebSocket on the JSON control protocol
// (docs/control-protocol.md) that survives its server. Plain script, no
// build step, no dependency; served by the demo at /ws_client.js.
//
//   const client = new NgxWsClient("wss://example.com/ws", { maxDelay: 30000 });
//   client.on("message", (channel, data, seq) => ...)
//         .on("gap", (channel, from, to) => ...)      // lost: refetch state
//         .on("reset", (channel, lastSeq, now) => ...)  // the server forgot
//         .on("state", (state, detail) => ...);
//   client.subscribe("room:lobby");
//   await client.publish("room:lobby", { text: "hi" });
//
// What it does about a lost connection:
// - reconnects after a random delay between 0 and a ceiling that doubles
//   with each failed attempt, from minDelay up to maxDelay ("full
//   jitter"), so that clients dropped together by a restart do not come
//   back together; the ceiling resets once a connection stayed up for
//   stableAfter ms;
// - after 1001 (going away: a reload or restart) and 1013 (try again
//   later) it waits at least minDelay on top of that: the server asked
//   not to come straight back;
// - when an attempt fails before opening, it asks the same URL over HTTP
//   and waits at least as long as a Retry-After there says (a browser's
//   WebSocket shows no status or header of a refused upgrade, so this is
//   what it can see of a 429 or 503: that of the location's plain GET, of
//   a load balancer or of a maintenance page);
// - stops on closes that a retry cannot fix: 1000 sent by the server,
//   1002, 1003, 1007, 1008 (policy: a ban, a bad token), 1009, 1010;
// - resubscribes to every channel with the last sequence number it
//   delivered (last_seq): missed messages still kept by the server come
//   again, in order, before the live ones; none is delivered twice;
//   whatever the server no longer has is reported as a "gap", and a
//   channel whose numbers went back (the server lost its zone) as a
//   "reset".
(function (root) {
  "use strict";

  const STOP_CODES = new Set([1000, 1002, 1003, 1007, 1008, 1009, 1010]);
  const POLITE_CODES = new Set([1001, 1013]);

  class NgxWsClient {
    constructor(url, options) {
      this.url = url;
      this.options = Object.assign({
        protocols: undefined,
        minDelay: 500,          // ms: the first ceiling, and the floor after 1001/1013
        maxDelay: 30000,        // ms: the highest ceiling
        stableAfter: 10000,     // ms up before the ceiling starts again at minDelay
        probeRetryAfter: true,  // ask the URL over HTTP after a refused attempt
        random: Math.random,
      }, options || {});
      this.channels = new Map();  // name -> { lastSeq: number | null, subscribed: bool }
      this.pending = new Map();   // request id -> { resolve, reject }
      this.handlers = { message: [], gap: [], reset: [], state: [], error: [] };
      this.nextId = 1;
      this.attempt = 0;
      this.socket = null;
      this.timer = null;
      this.stopped = false;
      this.state = "idle";
      this.duplicates = 0;      // messages seen again and dropped
      setTimeout(() => this._connect(), 0);
    }

    on(event, fn) {
      this.handlers[event].push(fn);
      return this;
    }

    subscribe(channel) {
      if (!this.channels.has(channel)) {
        this.channels.set(channel, { lastSeq: null, subscribed: false });
        if (this._open()) this._subscribe(channel);
      }
    }

    unsubscribe(channel) {
      if (this.channels.delete(channel) && this._open()) {
        return this._request({ op: "unsubscribe", channel });
      }
      return Promise.resolve();
    }

    // Resolves with the ack ({op:"ack", seq}); rejects while disconnected
    // (the application decides whether to send it again).
    publish(channel, data) {
      return this._request({ op: "publish", channel, data });
    }

    close() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.socket) this.socket.close(1000, "client closed");
      this._setState("closed", { by: "client" });
    }

    _open() {
      return this.socket && this.socket.readyState === WebSocket.OPEN;
    }

    _emit(event, ...args) {
      for (const fn of this.handlers[event]) {
        try { fn(...args); } catch (err) { console.error(err); }
      }
    }

    _setState(state, detail) {
      this.state = state;
      this._emit("state", state, detail || {});
    }

    _connect() {
      if (this.stopped) return;
      this._setState(this.attempt ? "reconnecting" : "connecting",
                     { attempt: this.attempt });
      let socket;
      try {
        socket = new WebSocket(this.url, this.options.protocols);
      } catch (err) {
        this._emit("error", err);
        this._retry(1006, false);
        return;
      }
      this.socket = socket;
      let openedAt = 0;
      socket.onopen = () => {
        openedAt = Date.now();
        this._setState("open", { attempt: this.attempt });
        for (const [name, ch] of this.channels) {
          ch.subscribed = false;
          this._subscribe(name);
        }
      };
      socket.onmessage = (event) => this._receive(event.data);
      socket.onclose = (event) => {
        if (this.socket === socket) this.socket = null;
        for (const { reject } of this.pending.values()) {
          reject(new Error(`connection closed (${event.code})`));
        }
        this.pending.clear();
        if (this.stopped) return;
        if (openedAt && Date.now() - openedAt >= this.options.stableAfter) {
          this.attempt = 0;
        }
        if (openedAt && STOP_CODES.has(event.code)) {
          this.stopped = true;
          this._setState("closed", { code: event.code, reason: event.reason });
          return;
        }
        this._retry(event.code, openedAt !== 0, event.reason);
      };
    }

    async _retry(code, opened, reason) {
      const o = this.options;
      const ceiling = Math.min(o.maxDelay, o.minDelay * 2 ** this.attempt);
      let delay = o.random() * ceiling;
      if (POLITE_CODES.has(code)) delay += o.minDelay;
      this.attempt++;
      let retryAfter = 0;
      if (!opened && o.probeRetryAfter) {
        retryAfter = await this._probeRetryAfter();
        delay = Math.max(delay, retryAfter);
      }
      if (this.stopped) return;
      this._setState("waiting", { code, reason, delay, retryAfter,
                                  attempt: this.attempt });
      this.timer = setTimeout(() => this._connect(), delay);
    }

    // The Retry-After (ms) of the URL's plain HTTP answer; 0 if none.
    async _probeRetryAfter() {
      if (typeof fetch !== "function") return 0;
      try {
        const res = await fetch(this.url.replace(/^ws/, "http"),
                                { cache: "no-store" });
        const value = res.headers.get("Retry-After");
        if (!value) return 0;
        if (/^\d+$/.test(value.trim())) return 1000 * Number(value.trim());
        const at = Date.parse(value);
        return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
      } catch (err) {
        return 0;   // the server is not there at all: the backoff decides
      }
    }

    _subscribe(name) {
      const ch = this.channels.get(name);
      const req = { op: "subscribe", channel: name };
      if (ch.lastSeq !== null) req.last_seq = ch.lastSeq;
      this._request(req).then((ack) => {
        const now = ack.seq || 0;
        if (ch.lastSeq === null) {
          ch.lastSeq = now;           // live from here
        } else if (now < ch.lastSeq) {
          // the numbers went back: the server lost the channel (its zone
          // was restarted without Redis); start again from its number
          this._emit("reset", name, ch.lastSeq, now);
          ch.lastSeq = now;
        }
        ch.subscribed = true;
        if (this.channels.size && [...this.channels.values()].every((c) => c.subscribed)) {
          this._setState("subscribed", {});
        }
      }, (err) => this._emit("error", err));
    }

    _request(message) {
      if (!this._open()) {
        return Promise.reject(new Error("not connected"));
      }
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.socket.send(JSON.stringify(Object.assign({ id }, message)));
      });
    }

    _receive(data) {
      if (typeof data !== "string") return;   // binary publishes: not ours
      let m;
      try { m = JSON.parse(data); } catch (err) { return; }
      const waiting = m.id !== undefined && this.pending.get(m.id);
      if (m.op === "ack" && waiting) {
        this.pending.delete(m.id);
        waiting.resolve(m);
        return;
      }
      if (m.op === "error" && waiting) {
        this.pending.delete(m.id);
        waiting.reject(Object.assign(new Error(m.message), { code: m.code }));
        return;
      }
      const ch = this.channels.get(m.channel);
      if (!ch) return;
      if (m.op === "gap") {
        this._emit("gap", m.channel, m.from, m.to);
        ch.lastSeq = Math.max(ch.lastSeq || 0, m.to);
        return;
      }
      if (m.op !== "message") return;
      if (ch.lastSeq !== null && m.seq <= ch.lastSeq) {
        this.duplicates++;            // a replay overlapping what we had
        return;
      }
      if (ch.lastSeq !== null && m.seq > ch.lastSeq + 1) {
        // the server reports gaps itself; this is a safety net
        this._emit("gap", m.channel, ch.lastSeq + 1, m.seq - 1);
      }
      ch.lastSeq = m.seq;
      this._emit("message", m.channel, m.data, m.seq);
    }
  }

  root.NgxWsClient = NgxWsClient;
})(typeof window !== "undefined" ? window : globalThis);
