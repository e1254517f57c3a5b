"""Random sequences of actions by random roles on the pure core (issue 5, verification).

After every step: no order without an active dual clearance covering its time; no accepted
firing outside a window; ammunition never negative; every transition in the history (and
nothing else changes an operation).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dispatch.ammunition import AmmunitionLedger
from dispatch.clearance import Authority, StandingAgreement, TimeWindow
from dispatch.errors import DispatchError
from dispatch.firing import Burst, FiringReport, Observation
from dispatch.lifecycle import (
    ALLOWED_FROM,
    ROLE_ACTIONS,
    SYSTEM,
    Actor,
    Operation,
    OperationState,
    acknowledge,
    amend,
    authorize,
    cancel,
    deny,
    expire,
    file_written_report,
    grant,
    order,
    recall,
    report_firing,
    request_clearance,
    revoke,
    start_firing,
)
from sites.geometry import azimuth_in_sectors
from sites.model import Sector
from tests.unit.dispatch.dispatch_factories import (
    ALL_ACTORS,
    OTHER_OPERATOR,
    T0,
    make_operation,
    make_request,
)

S = OperationState
ACTORS = (*ALL_ACTORS, SYSTEM)
ACTIONS = sorted(ALLOWED_FROM)
PROGRESS = frozenset(
    {"authorize", "request_clearance", "grant", "order", "acknowledge", "start_firing",
     "report_firing", "file_written_report"}
)  # fmt: skip
STANDING = (
    StandingAgreement("atc-1", "T-01", Authority.ATC, (Sector(0, 180),), 8000.0, time(0), time(0)),
    StandingAgreement(
        "mil-1", "T-01", Authority.MILITARY, (Sector(0, 360),), 9000.0, time(0), time(0)
    ),
)


class DispatchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now: datetime = T0
        self.ops: list[Operation] = []
        self.ledger = AmmunitionLedger.from_stock("T-01", {"37mm_shell": 60}, T0)
        self.calls = 0

    # ----------------------------------------------------------------------- rules

    @precondition(lambda self: len(self.ops) < 3)
    @rule(
        length=st.integers(10, 60),
        azimuth=st.sampled_from([10.0, 90.0, 200.0, 350.0]),
        altitude=st.sampled_from([6000.0, 7700.0, 8500.0]),
    )
    def propose(self, length: int, azimuth: float, altitude: float) -> None:
        self.ops.append(
            make_operation(
                id=f"op-{len(self.ops)}",
                window=TimeWindow(self.now, self.now + timedelta(minutes=length)),
                azimuth_deg=azimuth,
                max_altitude_m=altitude,
                now=self.now,
            )
        )

    @precondition(lambda self: bool(self.ops))
    @rule(
        data=st.data(),
        which=st.integers(0, 2),
        minutes=st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 5, 15]),
        replay=st.integers(0, 9),
    )
    def act(self, data: st.DataObject, which: int, minutes: int, replay: int) -> None:
        # A real clock moves between two decisions: the core orders events by their time, so
        # a revocation stamped the same instant as a shot cannot say which came first.
        self.now += timedelta(minutes=minutes, seconds=1)
        index = which % len(self.ops)
        op = self.ops[index]
        # Mostly a legal action by a rightful actor, so that the walk gets deep; sometimes
        # anything by anyone, so that refusals are exercised too.
        legal = [a for a in ACTIONS if op.state in ALLOWED_FROM[a]]
        forward = [a for a in legal if a in PROGRESS]
        dice = data.draw(st.integers(0, 9))
        wild = dice == 0 or not legal
        pool = ACTIONS if wild else forward if dice >= 4 and forward else legal
        action = data.draw(st.sampled_from(pool))
        rightful = [a for a in ACTORS if a.role in ROLE_ACTIONS[action] and a is not OTHER_OPERATOR]
        actor = data.draw(st.sampled_from(ACTORS if wild or not rightful else rightful))
        known = sorted(op.applied_keys)
        key = known[-1] if replay == 0 and known else f"k{self.calls}"
        self.calls += 1
        before_ledger = self.ledger
        try:
            after, ledger = self._call(data, op, action, actor, key)
        except DispatchError:
            return
        if key in op.applied_keys:  # a replay changes nothing
            assert after is op and ledger is before_ledger
            return
        new = after.history[len(op.history) :]
        assert op.history == after.history[: len(op.history)]  # history is append-only
        # the call's own entry first; standing grants may follow it automatically
        assert new and new[0].action == action and new[0].actor == actor.username
        assert all(h.detail == "standing agreement" for h in new[1:])
        assert all(h.at == self.now for h in new)
        assert new[0].previous in ALLOWED_FROM[action]
        event(f"{action}: {op.state.value} -> {after.state.value}")
        self.ops[index] = after
        self.ledger = ledger

    def _call(
        self, data: st.DataObject, op: Operation, action: str, actor: Actor, key: str
    ) -> tuple[Operation, AmmunitionLedger]:
        now, kw = self.now, {"idempotency_key": key}  # one spelling for every call
        ledger = self.ledger
        if action == "authorize":
            return authorize(op, actor, now, **kw), ledger
        if action == "request_clearance":
            request = make_request(
                id=op.id,
                window=op.window,
                requested_at=now,
                sectors=(Sector(0, 180),) if data.draw(st.booleans()) else (Sector(0, 360),),
            )
            agreements = STANDING if data.draw(st.booleans()) else ()
            return request_clearance(op, actor, now, request, agreements=agreements, **kw), ledger
        if action == "grant":
            start = data.draw(st.sampled_from([None, None, 0, 5, 15]))
            window = (
                None
                if start is None
                else TimeWindow(
                    op.window.start + timedelta(minutes=start), op.window.end + timedelta(minutes=5)
                )
            )
            sectors = data.draw(
                st.sampled_from([None, None, (Sector(300, 60),), (Sector(150, 250),)])
            )
            ceiling = data.draw(st.sampled_from([None, None, 6500.0, 8000.0]))
            return grant(
                op, actor, now, window=window, sectors=sectors, ceiling_m=ceiling, **kw
            ), ledger
        if action == "deny":
            return deny(op, actor, now, "traffic", **kw), ledger
        if action == "revoke":
            return revoke(op, actor, now, "traffic", **kw), ledger
        if action == "order":
            return order(op, actor, now, **kw), ledger
        if action == "acknowledge":
            return acknowledge(op, actor, now, **kw), ledger
        if action == "amend":
            elevation = data.draw(st.sampled_from([45.0, 55.0, 70.0]))
            reach = data.draw(st.sampled_from([5500.0, 6400.0, 7700.0]))
            return amend(op, actor, now, elevation_deg=elevation, max_altitude_m=reach, **kw), ledger
        if action == "start_firing":
            return start_firing(op, actor, now, idempotency_key=key), ledger
        if action == "report_firing":
            offsets = data.draw(st.lists(st.integers(-15, 0), min_size=0, max_size=3))
            rounds = data.draw(st.integers(0, 40))
            bursts = tuple(
                Burst(
                    now + timedelta(minutes=o),
                    op.azimuth_deg,
                    op.elevation_deg,
                    "37mm_shell",
                    rounds,
                )
                for o in offsets
            )
            total = rounds * len(bursts) if bursts else rounds
            times = sorted(b.at for b in bursts) or [now - timedelta(minutes=5), now]
            report = FiringReport(
                times[0], times[-1], {"37mm_shell": total}, Observation.RAIN, bursts
            )
            return report_firing(op, ledger, actor, now, report, **kw)
        if action == "file_written_report":
            return file_written_report(op, actor, now, **kw), ledger
        if action == "cancel":
            return cancel(op, actor, now, "why", **kw), ledger
        if action == "recall":
            return recall(op, actor, now, "why", **kw), ledger
        assert action == "expire"
        return expire(op, now, actor=actor, **kw), ledger

    @rule(count=st.integers(1, 50))
    def restock(self, count: int) -> None:
        self.ledger = self.ledger.restock("37mm_shell", count, self.now, "depot")

    # ----------------------------------------------------------------------- invariants

    @invariant()
    def no_order_without_an_active_dual_clearance(self) -> None:
        for op in self.ops:
            for entry in op.history:
                if entry.action == "order":
                    cleared = op.clearance(entry.at)
                    assert cleared is not None and cleared.window.contains(entry.at)
                    assert azimuth_in_sectors(op.azimuth_deg, cleared.sectors)
                    assert op.max_altitude_m <= cleared.ceiling_m

    @invariant()
    def no_accepted_firing_outside_a_window(self) -> None:
        for op in self.ops:
            flagged = {v.at for v in op.violations}
            for entry in op.history:
                if entry.action == "start_firing":
                    cleared = op.clearance(entry.at)
                    legal = cleared is not None and cleared.window.contains(entry.at)
                    if entry.state == S.FIRING:
                        assert legal
                    else:
                        assert entry.at in flagged
            if op.report is not None:
                times = [b.at for b in op.report.bursts] + [
                    op.report.started_at,
                    op.report.ended_at,
                ]
                for t in times:
                    cleared = op.clearance(t)
                    if cleared is None or not cleared.window.contains(t):
                        assert t in flagged

    @invariant()
    def ammunition_never_negative(self) -> None:
        assert all(n >= 0 for n in self.ledger.balances().values())

    @invariant()
    def history_is_a_chain_ending_in_the_state(self) -> None:
        for op in self.ops:
            assert op.history[0].action == "propose"
            for previous, entry in zip(op.history, op.history[1:], strict=False):
                assert entry.previous == previous.state
            assert op.history[-1].state == op.state
            assert len({h.idempotency_key for h in op.history if h.idempotency_key}) == len(
                [h for h in op.history if h.idempotency_key]
            )


DispatchMachine.TestCase.settings = settings(
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDispatchMachine = DispatchMachine.TestCase
