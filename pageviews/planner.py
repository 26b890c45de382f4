"""Plan a run: courses, their rosters, each distinct user once, the units each needs.

For every course the user named, the planner resolves it, lists its roster
(enrollment filter applied by Canvas) page by page and, for each user not seen
yet in this run, hands the engine the units that user needs: the whole range,
or with ``incremental`` only the parts the store does not already cover. A user
in five courses is planned once; the reports route each view to its course.

A course that cannot be read (not found, not permitted, or whose reports would
overwrite another selection's) is recorded with its reason and the others go
on; only an unreachable Canvas or a rejected token stops the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from .canvas.client import CanvasClient
from .canvas.pagination import walk
from .coverage import Interval, missing, trusted
from .engine import Dispatch, Event, Progress
from .errors import NotFoundError, PermissionDeniedError, ProtocolError, TransientError
from .outcomes import CourseState, course_outcome
from .sources.history_plan import BATCH_USERS, SourcePlan, months_of
from .sources.listing import SOURCE
from .sources.records import local_id
from .store import Enrollment, Run, RunCourse, Store, Unit

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Selection:
    """Whose page views, over which range of a run."""

    courses: tuple[str, ...]
    enrollment_types: tuple[str, ...] | None
    enrollment_states: tuple[str, ...] | None
    incremental: bool = False
    overlap: timedelta = timedelta(hours=1)
    #: Which source reads which seconds (:func:`~.sources.history_plan.plan_sources`);
    #: None reads everything through the list endpoint.
    cut: Callable[[Interval], SourcePlan] | None = None


class Planner:
    """Feed an engine the units of a run's users, course by course."""

    def __init__(
        self,
        client: CanvasClient,
        store: Store,
        run: Run,
        selection: Selection,
        me: int,
        progress: Progress,
        check_course: Callable[[int], str | None] = lambda _: None,
    ) -> None:
        self.client, self.store, self.run, self.selection = client, store, run, selection
        self.me, self.progress, self.check_course = local_id(me), progress, check_course

    async def produce(self, dispatch: Dispatch) -> None:
        """List every course's roster and dispatch each new user's units."""
        known = self.store.courses(self.run.run_id)
        # Jobs a killed run left running on Canvas hold this token's job slots: poll
        # them before any new job is started.
        started = self.store.started_queries(self.run.run_id)
        for key in dict.fromkeys(root for root, _ in started):
            await dispatch(self.store.group_units(self.run.run_id, key)[:1])
        # A group left open by a killed run is read as it is; new users start new groups.
        await self._dispatch_groups(self.store.close_groups(self.run.run_id), dispatch)
        self.progress.courses_total = len(self.selection.courses)
        for ref in self.selection.courses:
            course = known.get(ref)
            if course is None or course.state == CourseState.LISTING:
                course = await self._list(ref, dispatch)
            elif course.state == CourseState.LISTED and course.course_id is not None:
                roster = self.store.roster(self.run.run_id, course.course_id)
                await self._plan([user for user, _ in roster], dispatch)
            self.progress.courses_listed += 1
        await self._dispatch_groups(self.store.close_groups(self.run.run_id), dispatch)
        self.progress.roster_complete = True

    async def _dispatch_groups(self, keys: list[int], dispatch: Dispatch) -> None:
        """Hand the engine one unit per query group: its source reads the whole group."""
        for key in keys:
            units = self.store.group_units(self.run.run_id, key)
            if units:
                await dispatch(units[:1])  # the engine counts the group's users done with it

    async def _list(self, ref: str, dispatch: Dispatch) -> RunCourse:
        run_id = self.run.run_id
        try:
            found = await self.client.course(ref)
            course_id = local_id(int(found["id"]))
            name = str(found.get("name") or "")
        except (NotFoundError, PermissionDeniedError, TransientError) as exc:
            return self._give_up(ref, None, *course_outcome(exc))
        clash = self.check_course(course_id)
        if clash is not None:
            return self._give_up(ref, course_id, CourseState.CONFLICT, clash, name)
        course = RunCourse(ref, course_id, name, CourseState.LISTING, "")
        self.store.set_course(run_id, course)
        url = self.client.enrollments_url(
            course_id, self.selection.enrollment_types, self.selection.enrollment_states
        )
        try:
            async for page in walk(self.client, url):
                users: dict[int, str] = {}
                kinds: list[Enrollment] = []
                for enrollment in page.data:
                    # Exactly as Canvas gave it: a shard-global id (shard * 10**13 + local)
                    # names another person than the local id it reduces to
                    # (docs/canvas.md#global-ids).
                    user_id = _user_id(enrollment, page.url)
                    if local_id(user_id) == self.me:
                        continue
                    kinds.append(_enrollment(user_id, enrollment))
                    if user_id in users:
                        continue
                    user = enrollment.get("user") or {}
                    users[user_id] = str(user.get("name") or "")
                self.store.add_roster(run_id, course_id, users.items())
                self.store.add_enrollments(run_id, course_id, kinds)
                await self._plan(list(users), dispatch)
        except (PermissionDeniedError, TransientError) as exc:
            return self._give_up(ref, course_id, *course_outcome(exc), name)
        course = RunCourse(ref, course_id, name, CourseState.LISTED, "")
        self.store.set_course(run_id, course)
        log.info("course %s: roster complete", course_id)
        self.progress.emit(Event("course", course=ref))
        return course

    def _give_up(
        self, ref: str, course_id: int | None, state: CourseState, detail: str, name: str = ""
    ) -> RunCourse:
        # Debug only: whoever gets the result says it (the harvest's error, the batch's
        # summary line), and JSON logs would otherwise carry it twice.
        log.debug("course %s: %s (%s)", ref, state, detail)
        course = RunCourse(ref, course_id, name, state, detail)
        self.store.set_course(self.run.run_id, course)
        self.progress.emit(Event("course", course=ref, detail=f"{state}: {detail}"))
        return course

    async def _plan(self, users: list[int], dispatch: Dispatch) -> None:
        """Dispatch the units of users this run has not planned yet."""
        for user_id in users:
            # The store remembers who was planned: a set here would grow with the users.
            if not self.store.plan_once(self.run.run_id, user_id):
                continue
            units, waiting, full = self._units(user_id)
            self.progress.users_total += 1
            if not units and not waiting:
                self.progress.users_done += 1
            if waiting:
                self.progress.awaiting.add(user_id)  # done only once its group is read
            await dispatch(units)
            if full is not None:
                await self._dispatch_groups([full], dispatch)

    def _units(self, user_id: int) -> tuple[list[Unit], bool, int | None]:
        """The user's list units now, whether a history group will read it, a full group."""
        store, run = self.store, self.run
        if store.has_units(run.run_id, user_id):
            return store.pending(run.run_id, user_id), False, None  # resuming this run
        want = (run.start, run.end)
        if self.selection.incremental:
            covered = trusted(store.coverage(user_id), self.selection.overlap)
            gaps = missing(covered, want)
        else:
            gaps = [want]
        cut = self.selection.cut
        if cut is None:
            return store.add_units(run.run_id, user_id, gaps, SOURCE), False, None
        listed: list[Interval] = []
        older: list[Interval] = []
        for gap in gaps:
            plan = cut(gap)
            listed += [plan.listed] if plan.listed else []
            older += [plan.history] if plan.history else []
        # A gap is at most one stretch of history: coverage is one run's range, cut once.
        history = (older[0], _month_names(older[0])) if older else None
        units, full = store.plan_user(run.run_id, user_id, listed, history, BATCH_USERS)
        return units, history is not None, full


def _month_names(interval: Interval) -> tuple[str, str]:
    first, after = months_of(interval)
    return first.isoformat(), after.isoformat()


def _enrollment(user_id: int, enrollment: dict[str, Any]) -> Enrollment:
    """The type and last activity of one enrollment, for the inactive-users report.

    ``last_activity_at`` reaches only callers with ``read_reports`` (docs/canvas.md#roster-json).
    """
    last = enrollment.get("last_activity_at")
    return (user_id, str(enrollment.get("type") or ""), last if isinstance(last, str) else None)


def _user_id(enrollment: object, url: str) -> int:
    """An enrollment's ``user_id``, which Canvas always sends as an integer
    (docs/canvas.md#roster-json)."""
    value = enrollment.get("user_id") if isinstance(enrollment, dict) else None
    if type(value) is str and value.isdigit():
        value = int(value)
    if type(value) is not int:
        raise ProtocolError(
            f"an enrollment from {urlsplit(url).path} has no integer user_id: "
            "that is not Canvas's API"
        )
    return value
