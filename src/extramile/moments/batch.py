"""What a batch of proposals reads once for many candidates instead of once for each.

The rules of contact (moments.proposals) consult, for every candidate, the store's rules, the
client's consents and open problems, whether the moment is already recorded, and how many open
actions the associate has on a day. Read one by one, that is a dozen statements a candidate;
`BatchFacts.read` reads them for a chunk of candidates in a few. The batch's own decisions keep
the facts up to date (a key it records, an action it opens or moves), so a later candidate of the
chunk sees the earlier ones exactly as a fresh read would.

Other writers are seen from the next chunk on: a consent withdrawn, a problem reported, or an
associate's action done or snoozed while a chunk is decided (about a second) counts from the
next one. What must be exact under the client's lock (the client's row, their actions of the
purpose) stays read in each candidate's own transaction (moments.proposals), and a moment
recorded meanwhile by another run is refused by the key's unique index.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, insort
from collections.abc import Iterable

from extramile.accounts.models import Absence, User, backup_on
from extramile.clients.models import Client, Consent
from extramile.clients.services import current_consents
from extramile.moments.candidates import Candidate
from extramile.moments.governance import (
    clients_with_open_problems,
    consents_in_force,
    has_open_problem,
    rules_by_store,
    rules_for,
)
from extramile.moments.models import Action, ActionKey, ActionPurpose, ActionState, StoreRules

# Candidates decided on one reading of the facts; each id list stays under SQLite's 999 limit.
CHUNK = 500
# A day counted for capacity starts at most 25 hours before `now` (the day of a due time at or
# after now, in any time zone, with a summer-time change); open actions due earlier never count.
CALENDAR_FROM = dt.timedelta(days=2)


def recorded_keys(keys: Iterable[str]) -> set[str]:
    """Return those of `keys` that name a moment already recorded."""
    return set(ActionKey.objects.filter(key__in=list(keys)).values_list("key", flat=True))


def absences_of(associate_ids: set[int], *, now: dt.datetime) -> dict[int, list[Absence]]:
    """Each associate's absences that are not over (a day's margin for time zones), with backups."""
    found: dict[int, list[Absence]] = {pk: [] for pk in associate_ids}
    if not associate_ids:
        return found
    since = (now - dt.timedelta(days=1)).date()
    rows = Absence.objects.filter(user_id__in=associate_ids, ends_on__gte=since).select_related(
        "backup"
    )
    for absence in rows.order_by("starts_on", "id"):
        found[absence.user_id].append(absence)
    return found


class BatchFacts:
    """The facts the rules consult for one chunk of candidates, read at once."""

    def __init__(
        self,
        *,
        now: dt.datetime,
        keys: set[str],
        rules: dict[int, StoreRules],
        consents: dict[int, dict[str, Consent]],
        problems: set[int],
        problems_read: set[int],
        absences: dict[int, list[Absence]] | None = None,
    ) -> None:
        self.now = now
        self._keys = keys
        self._rules = rules
        self._consents = consents
        self._problems = problems
        self._problems_read = problems_read
        # associate id -> their absences not over by `now` (read for service candidates only).
        self._absences = absences if absences is not None else {}
        # associate id -> (due time, action id) of their open actions, sorted; read when needed.
        self._dues: dict[int, list[tuple[dt.datetime, int]]] = {}

    @classmethod
    def read(
        cls, candidates: list[Candidate], *, now: dt.datetime, rules: dict[int, StoreRules]
    ) -> BatchFacts:
        """Read the facts for `candidates`; `rules` holds stores' rules already read, and grows."""
        keys = recorded_keys(c.key for c in candidates)
        # A recorded moment is a duplicate, or refreshes its action: neither needs the rest.
        fresh = [c for c in candidates if c.key not in keys]
        rules.update(rules_by_store({c.client.store_id for c in fresh} - rules.keys()))
        marketing = {c.client.pk for c in fresh if c.purpose == ActionPurpose.MARKETING}
        covered = {
            c.client.primary_associate_id
            for c in fresh
            if c.purpose == ActionPurpose.SERVICE
            and c.associate is None
            and c.client.primary_associate_id is not None
        }
        return cls(
            now=now,
            keys=keys,
            rules=rules,
            consents=consents_in_force({c.client.pk for c in fresh}),
            problems=clients_with_open_problems(marketing),
            problems_read=marketing,
            absences=absences_of(covered, now=now),
        )

    def key_taken(self, key: str) -> bool:
        """Say whether the moment was recorded when the chunk was read, or since by the batch."""
        return key in self._keys

    def rules_of(self, client: Client) -> StoreRules:
        """The rules of the client's store."""
        rules = self._rules.get(client.store_id)
        if rules is None:
            rules = self._rules[client.store_id] = rules_for(client.store)
        return rules

    def consents_of(self, client: Client) -> dict[str, Consent]:
        """The client's consent in force per channel."""
        consents = self._consents.get(client.pk)
        if consents is None:
            consents = self._consents[client.pk] = current_consents(client)
        return consents

    def has_open_problem(self, client: Client) -> bool:
        """Say whether the client has a problem that is not resolved."""
        if client.pk not in self._problems_read:
            return has_open_problem(client)
        return client.pk in self._problems

    def backup_for(self, associate_id: int, day: dt.date) -> User | None:
        """The active colleague covering for the associate on this day, when they are away."""
        if associate_id not in self._absences:
            self._absences.update(absences_of({associate_id}, now=self.now))
        return backup_on(self._absences[associate_id], day)

    def open_actions_between(
        self, associate_id: int, start: dt.datetime, end: dt.datetime, *, exclude: int | None
    ) -> int:
        """Count the associate's open actions due from `start` to before `end`, bar `exclude`."""
        dues = self._dues_of(associate_id)
        first = bisect_left(dues, (start,))
        last = bisect_left(dues, (end,))
        return sum(1 for _, pk in dues[first:last] if pk != exclude)

    def recorded(self, key: str) -> None:
        """Note a moment the batch recorded (or found recorded)."""
        self._keys.add(key)

    def opened(self, action: Action) -> None:
        """Note an open action the batch made."""
        dues = self._dues.get(action.associate_id or 0)
        if dues is not None and action.state == ActionState.OPEN:
            insort(dues, (action.due_at, action.pk))

    def moved(self, action: Action, *, was_due: dt.datetime) -> None:
        """Note an open action the batch made due at another time."""
        dues = self._dues.get(action.associate_id or 0)
        if dues is None or was_due == action.due_at:
            return
        index = bisect_left(dues, (was_due, action.pk))
        if index < len(dues) and dues[index] == (was_due, action.pk):
            del dues[index]
        insort(dues, (action.due_at, action.pk))

    def _dues_of(self, associate_id: int) -> list[tuple[dt.datetime, int]]:
        dues = self._dues.get(associate_id)
        if dues is None:
            open_actions = Action.objects.filter(
                associate_id=associate_id,
                state=ActionState.OPEN,
                due_at__gte=self.now - CALENDAR_FROM,
            )
            dues = self._dues[associate_id] = sorted(open_actions.values_list("due_at", "id"))
        return dues
