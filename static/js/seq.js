/* Event sequence bookkeeping shared by the map and the consoles.  Events of several server
 * processes can arrive slightly out of order: remember which sequence numbers were seen
 * (bounded), not only the highest; on reconnect ask for a little before the highest.
 *
 * Nothing missed stays missed (issue 12): `attach(socket, state)` makes a client catch up on
 * its own — when the server says more pages follow (`live.sync`), when an event's sequence
 * number jumps past the next expected one (a gap), and when the periodic sequence heartbeat
 * (GET /api/live/seq, plain HTTP: it works while the Redis message queue is down and events
 * from other server processes do not arrive) shows the server ahead of the client.  The
 * server filters catch-up by the user's rooms and pages it; `last_seq` is the watermark. */
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

  /** state: {get: () => lastSeq, set: (seq) => void}. Returns {catchUp, observe}. */
  function attach(socket, state) {
    let busy = false, again = false, gapTimer = null;
    function advance(seq) { if (typeof seq === "number" && seq > state.get()) state.set(seq); }
    function catchUp(since) {
      if (busy) { again = true; return; }
      busy = true;
      const from = typeof since === "number" ? since : resumeFrom(state.get());
      socket.emit("catchup", { since: from }, function (ack) {
        busy = false;
        if (ack && ack.ok) {
          advance(ack.last_seq);
          if (ack.more) { catchUp(ack.last_seq); return; }
        }
        if (again) { again = false; catchUp(); }
      });
    }
    socket.on("live.sync", function (sync) {
      if (!sync) return;
      advance(sync.last_seq);
      if (sync.more) catchUp(sync.last_seq);
    });
    function observe(seq) {
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
