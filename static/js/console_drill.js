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
  /** The drill time of a wall-clock instant (a live envelope's `at`): alerts and bulletins
   *  are stamped on the drill clock, like everything else on the page. */
  window.HAILOPS_DRILL_TIME = function (wallIso) {
    const wall = new RealDate(wallIso).getTime();
    if (!isFinite(wall)) return wallIso;
    return new RealDate(drillAtLoad + (wall - loadedAt) * speed).toISOString();
  };
})();
