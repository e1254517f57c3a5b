/* Drill mode of a console (?drill=ID): the page runs on the drill clock — the event's own
 * time, advancing at the drill's speed — so timers, windows and reports line up with the
 * drill's operations.  Loaded before console_common.js only in drill mode. */
(function () {
  "use strict";
  const drill = window.HAILOPS_CONSOLE && window.HAILOPS_CONSOLE.drill;
  if (!drill) return;
  const RealDate = window.Date;
  const loadedAt = RealDate.now();
  const drillAtLoad = new RealDate(drill.drill_time).getTime();
  const speed = drill.state === "running" ? Number(drill.speed) || 1 : 0;
  function drillNow() { return drillAtLoad + (RealDate.now() - loadedAt) * speed; }
  class DrillDate extends RealDate {
    constructor(...args) { if (args.length) super(...args); else super(drillNow()); }
    static now() { return drillNow(); }
  }
  window.Date = DrillDate;
})();
