/* Event sequence bookkeeping shared by the map and the consoles.  Events of several server
 * processes can arrive slightly out of order: remember which sequence numbers were seen
 * (bounded), not only the highest; on reconnect ask for a little before the highest. */
window.HailopsSeq = (function () {
  "use strict";
  const seen = new Set();
  const order = [];
  return {
    fresh: function (seq) {
      if (seen.has(seq)) return false;
      seen.add(seq); order.push(seq);
      if (order.length > 5000) seen.delete(order.shift());
      return true;
    },
    resumeFrom: function (lastSeq) { return Math.max(0, lastSeq - 50); },
  };
})();
