/* Event sequence bookkeeping shared by the map and the consoles.  Events of several server
 * processes can arrive slightly out of order: remember which sequence numbers were seen
 * (bounded), not only the highest; on reconnect ask for a little before the highest.
 *
 * Nothing missed stays missed (issue 12): `attach(socket, state)` makes a client catch up on
 * its own — when the server says more pages follow (`live.sync`), when an event's sequence
 * number jumps past the next expected one (a gap), and when the periodic sequence heartbeat
 * (GET /api/live/seq, plain HTTP: it works while the Redis message queue is down and events
 * from other server processes do not arrive) shows the server ahead of the client.  The
 * server filters catch-up by the user's rooms and pages it; `last_seq` is the watermark.
 *
 * Each page comes as ONE message (issue 16; a server that does not batch sends the events one
 * by one, which works as well): `live.batch` after the connect, the `catchup` reply after a
 * request, `{events: [envelope, ...], last_seq, more}`.  Their events reach the page's
 * listeners exactly as events received one by one would. */
window.HailopsSeq = (function () {
  "use strict";
  const seen = new Set();
  const order = [];
  const HEARTBEAT_MS = 10000;
  const GAP_WAIT_MS = 1500;   // events of other processes may arrive a little out of order

  function fresh(seq) {
    if (seen.has(seq)) return false;
    seen.add(seq); order.push(seq);
    if (order.length > 5000) seen.delete(order.shift());
    return true;
  }
  function resumeFrom(lastSeq) { return Math.max(0, lastSeq - 50); }

  /** state: {get: () => lastSeq, set: (seq) => void}. Returns {catchUp, observe, heartbeat}.
   *  Call it right after io(), before the connection opens: it adds `batch: true` to the
   *  socket's connect auth, so the server sends catch-up pages as one message each. */
  function attach(socket, state) {
    const auth = socket.auth;
    socket.auth = typeof auth === "function"
      ? function (cb) { auth(function (data) { cb(Object.assign({}, data, { batch: true })); }); }
      : Object.assign({}, auth, { batch: true });
    let busy = false, again = false, gapTimer = null;
    let coveredTo = -1;  // while a batch is dispatched: the last sequence number it covers
    function advance(seq) { if (typeof seq === "number" && seq > state.get()) state.set(seq); }
    /** One catch-up page received as one message (issue 16): every event goes to the
     *  listeners it would have reached had it arrived on its own — the onAny listeners
     *  (where the map and the consoles de-duplicate with fresh(seq) and observe gaps), then
     *  socket.on(name) ones — in sequence order.  A page holds every event the user may see
     *  up to its last_seq, so its own jumps in sequence are rooms the user is not in, not
     *  losses: they start no gap catch-up. */
    function deliver(page) {
      const events = (page && Array.isArray(page.events) ? page.events : [])
        .filter(env => env && typeof env.seq === "number" && typeof env.event === "string")
        .sort((a, b) => a.seq - b.seq);
      coveredTo = typeof page.last_seq === "number" ? page.last_seq : -1;
      try {
        for (const env of events) {
          const listeners = socket.listenersAny().map(fn => () => fn.call(socket, env.event, env))
            .concat(socket.listeners(env.event).map(fn => () => fn.call(socket, env)));
          for (const call of listeners) {
            // A failing listener must not cost the rest of the page its events.
            try { call(); } catch (e) { setTimeout(() => { throw e; }); }
          }
        }
      } finally { coveredTo = -1; }
      advance(page.last_seq);
    }
    function catchUp(since) {
      if (busy) { again = true; return; }
      busy = true;
      const from = typeof since === "number" ? since : resumeFrom(state.get());
      socket.emit("catchup", { since: from, batch: true }, function (ack) {
        busy = false;
        if (ack && ack.ok) {
          if (ack.events) deliver(ack); else advance(ack.last_seq);
          if (ack.more) { catchUp(ack.last_seq); return; }
        }
        if (again) { again = false; catchUp(); }
      });
    }
    // A reply never comes for a request sent before a disconnect: the reconnect catches up.
    socket.on("disconnect", function () { busy = false; again = false; });
    // The page that comes with the connect (auth.since), as one message...
    socket.on("live.batch", function (page) {
      if (!page) return;
      deliver(page);
      if (page.more) catchUp(page.last_seq);
    });
    // ... or, from a server that does not batch, its events one by one and then this.
    socket.on("live.sync", function (sync) {
      if (!sync) return;
      advance(sync.last_seq);
      if (sync.more) catchUp(sync.last_seq);
    });
    function observe(seq) {
      if (seq <= coveredTo) return;  // inside a catch-up page: nothing was lost
      // A jump past the next number may be events for rooms this user is not in, or events
      // lost on the way: ask the server (it filters by room), once things have settled.
      if (seq > state.get() + 1 && !gapTimer) {
        gapTimer = setTimeout(function () { gapTimer = null; catchUp(); }, GAP_WAIT_MS);
      }
    }
    async function heartbeat() {
      if (!socket.connected) return;
      try {
        const r = await fetch("/api/live/seq", { credentials: "same-origin",
                                                 headers: { Accept: "application/json" } });
        if (!r.ok) return;
        const body = await r.json();
        if (typeof body.seq === "number" && body.seq > state.get()) catchUp();
      } catch (e) { /* offline: the socket's reconnect catches up */ }
    }
    setInterval(heartbeat, HEARTBEAT_MS);
    return { catchUp: catchUp, observe: observe, heartbeat: heartbeat };
  }

  return { fresh: fresh, resumeFrom: resumeFrom, attach: attach };
})();
