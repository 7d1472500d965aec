# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance windows: when a store (or a bare-metal machine) may be interrupted.

A store may be touched when it is closed: outside its opening hours, in its own time zone, and on
no blackout date (a florist's Valentine's week, the days before Christmas). An operation that needs
some time asks for a window that stays closed at least that long.

Opening hours are wall-clock times of the store's time zone; they are turned into instants with the
zone's rules for each date, so a night with a daylight saving change is an hour shorter or longer,
as it is for the people in the store. An hour that does not exist on a spring-forward night is read
with the offset in force before the change (so 02:30 is 03:30 summer time); an hour that happens
twice on a fall-back night is its first occurrence.

Everything here is pure: the time zone database is the only input besides the arguments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

WEEKDAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
DAY_NAMES = {
    'monday': 'mon', 'tuesday': 'tue', 'wednesday': 'wed', 'thursday': 'thu', 'friday': 'fri',
    'saturday': 'sat', 'sunday': 'sun',
}
UTC = datetime.timezone.utc
HOURS_RE = re.compile(r'^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$')
DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
# The options of the maintenance_window module and its action plugin.
ARGUMENT_SPEC = dict(
    timezone=dict(type='str', default=''),
    opening_hours=dict(type='dict', default={}),
    blackout_dates=dict(type='list', elements='raw', default=[]),
    minimum_minutes=dict(type='int', default=0),
    operation=dict(type='str', default='the operation'),
    override=dict(type='bool', default=False),
    override_option=dict(type='str', default='override'),
    now=dict(type='str'),
)
# How far ahead the next window is looked for: a year and a bit covers any blackout list.
HORIZON_DAYS = 400


class WindowError(ValueError):
    """Bad input; the message names the field and the fix."""


def load_zone(name, field='timezone'):
    """The IANA time zone called name (the controller's zone database)."""
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError:  # Python < 3.9
        raise WindowError('%s: maintenance windows need Python 3.9 or later for their time zones '
                          '(they are worked out on the controller)' % field)
    if not isinstance(name, str) or not name.strip():
        raise WindowError("%s: give the store's IANA time zone, such as Europe/Berlin" % field)
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError("%s: unknown time zone %r; give an IANA name such as Europe/Berlin or "
                          "America/New_York" % (field, name))


def _minutes(hours, minutes, text, field):
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise WindowError('%s: %r is not a time of day; write HH:MM-HH:MM, such as 08:00-20:00' % (field, text))
    return hours * 60 + minutes


def parse_range(text, field):
    """'08:00-20:00' -> (480, 1200), minutes after the day's midnight. An end at or before the
    start runs past midnight ('18:00-02:00' -> (1080, 1560)); '00:00-24:00' is the whole day."""
    if not isinstance(text, str):
        raise WindowError('%s: %r is not a range; write HH:MM-HH:MM, such as 08:00-20:00' % (field, text))
    m = HOURS_RE.match(text)
    if not m:
        raise WindowError('%s: %r is not a range; write HH:MM-HH:MM, such as 08:00-20:00' % (field, text))
    start = _minutes(int(m.group(1)), int(m.group(2)), text, field)
    end = _minutes(int(m.group(3)), int(m.group(4)), text, field)
    if start == 1440:
        raise WindowError('%s: %r starts at 24:00; start it at 00:00' % (field, text))
    if end <= start:
        end += 1440
    return start, end


def parse_hours(opening_hours, field='opening_hours'):
    """{'mon': ['08:00-20:00'], 'sun': 'closed', ...} -> {0: [(480, 1200)], 6: [], ...}.

    Keys are weekday names (mon..sun, or monday..sunday); a day that is not named is closed all day.
    A day's value is a list of ranges, one range, or 'closed' (or an empty list)."""
    if opening_hours is None:
        return {}
    if not isinstance(opening_hours, dict):
        raise WindowError('%s: give a mapping of weekday to opening hours, such as {mon: [08:00-20:00]}' % field)
    out = {}
    for key, value in opening_hours.items():
        day = str(key).strip().lower()
        day = DAY_NAMES.get(day, day)
        if day not in WEEKDAYS:
            raise WindowError('%s: %r is not a weekday; use mon, tue, wed, thu, fri, sat or sun' % (field, key))
        index = WEEKDAYS.index(day)
        if index in out:
            raise WindowError('%s: %s is given twice' % (field, day))
        if value is None or value == 'closed' or value == []:
            out[index] = []
            continue
        values = value if isinstance(value, list) else [value]
        out[index] = [parse_range(v, '%s.%s' % (field, day)) for v in values]
    return out


def _date(value, field):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    if DATE_RE.match(text):
        try:
            return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            pass
    raise WindowError('%s: %r is not a date; write YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD for a run of days'
                      % (field, value))


def parse_blackouts(blackout_dates, field='blackout_dates'):
    """['2027-02-07..2027-02-14', '2026-12-24'] -> [(date, date), ...], both ends included."""
    if blackout_dates is None:
        return []
    if not isinstance(blackout_dates, list):
        raise WindowError('%s: give a list of dates (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)' % field)
    out = []
    for item in blackout_dates:
        if isinstance(item, str) and '..' in item:
            first, last = item.split('..', 1)
            first, last = _date(first, field), _date(last, field)
            if last < first:
                raise WindowError('%s: %r ends before it starts; write the earlier date first' % (field, item))
        else:
            first = last = _date(item, field)
        out.append((first, last))
    return out


class Schedule(object):
    """A store's opening hours and blackout dates in its time zone."""

    def __init__(self, zone, hours, blackouts, zone_name):
        self.zone = zone
        self.zone_name = zone_name
        self.hours = hours
        self.blackouts = blackouts

    @property
    def empty(self):
        return not any(self.hours.values()) and not self.blackouts


def parse_schedule(timezone, opening_hours=None, blackout_dates=None, prefix=''):
    """Checks the three inputs and returns a Schedule. Field names in errors get prefix."""
    hours = parse_hours(opening_hours, prefix + 'opening_hours')
    blackouts = parse_blackouts(blackout_dates, prefix + 'blackout_dates')
    if not hours and not blackouts and not (timezone or '').strip():
        return Schedule(UTC, {}, [], 'UTC')
    if not (timezone or '').strip():
        raise WindowError("%stimezone: required when opening hours or blackout dates are set (the store's "
                          'IANA time zone, such as Europe/Berlin)' % prefix)
    return Schedule(load_zone(timezone, prefix + 'timezone'), hours, blackouts, timezone.strip())


def _instant(zone, day, minutes):
    """The instant of wall-clock time `minutes` after midnight of `day` in `zone`, as UTC. Minutes past
    1440 fall on the next days, by the wall clock."""
    wall = datetime.datetime(day.year, day.month, day.day) + datetime.timedelta(minutes=minutes)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _fmt(minutes):
    if minutes != 1440:
        minutes %= 1440
    return '%02d:%02d' % (minutes // 60, minutes % 60)


def busy(schedule, start, end):
    """The intervals (start, end, why) in UTC, not merged, in which the store may not be touched and
    that overlap [start, end): its opening hours and its blackout days."""
    out = []
    first = start.astimezone(schedule.zone).date() - datetime.timedelta(days=1)
    last = end.astimezone(schedule.zone).date() + datetime.timedelta(days=1)
    day = first
    while day <= last:
        for lo, hi in schedule.hours.get(day.weekday(), []):
            why = 'open %s-%s on %s' % (_fmt(lo), _fmt(hi), WEEKDAYS[day.weekday()])
            out.append((_instant(schedule.zone, day, lo), _instant(schedule.zone, day, hi), why))
        for first_day, last_day in schedule.blackouts:
            if first_day <= day <= last_day:
                why = 'blackout %s' % (first_day.isoformat() if first_day == last_day
                                       else '%s..%s' % (first_day.isoformat(), last_day.isoformat()))
                out.append((_instant(schedule.zone, day, 0), _instant(schedule.zone, day, 1440), why))
                break
        day += datetime.timedelta(days=1)
    return sorted((s, e, w) for s, e, w in out if e > start and s < end)


def merge(intervals):
    """Overlapping or touching intervals joined: [(start, end), ...]."""
    out = []
    for s, e, _why in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def next_window(schedule, now, minimum_minutes=0, horizon_days=HORIZON_DAYS):
    """(start, end) of the first window at or after now that stays closed at least minimum_minutes;
    end is None when nothing follows within the horizon. (None, None) when there is no such window
    within horizon_days."""
    need = datetime.timedelta(minutes=minimum_minutes)
    horizon = now + datetime.timedelta(days=horizon_days)
    spans = merge(busy(schedule, now, horizon))
    t = now
    for s, e in spans:
        if e <= t:
            continue
        if s <= t:
            t = e
            continue
        if s - t >= need:
            return t, s
        t = e
    if t >= horizon:
        return None, None
    return t, None


def _local(schedule, instant):
    return instant.astimezone(schedule.zone).strftime('%Y-%m-%d %H:%M %Z') if instant else None


def _utc(instant):
    return instant.strftime('%Y-%m-%dT%H:%M:%SZ') if instant else None


def parse_now(value, field='now'):
    """An ISO 8601 instant (a naive one is UTC), or the current time when value is empty."""
    if value in (None, ''):
        return datetime.datetime.now(UTC).replace(microsecond=0)
    if isinstance(value, datetime.datetime):
        instant = value
    else:
        text = str(value).strip()
        if text.endswith('Z'):
            text = text[:-1] + '+00:00'
        try:
            instant = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise WindowError('%s: %r is not an ISO 8601 time; write it as 2026-12-24T18:00:00Z' % (field, value))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def evaluate(schedule, now, minimum_minutes=0):
    """Whether the store may be interrupted at `now` (UTC) for an operation of minimum_minutes, and why.

    Returns a dict: in_window, reason, timezone, now_local, window_start / window_end (UTC, ISO) and
    their local times: the current window when in it, else the next one (None when none within the
    horizon; window_end None when the window has no end within it)."""
    if minimum_minutes is None or not 0 <= int(minimum_minutes) <= HORIZON_DAYS * 1440:
        raise WindowError('minimum_minutes: give a number of minutes from 0 to %d (windows are looked for %d days '
                          'ahead)' % (HORIZON_DAYS * 1440, HORIZON_DAYS))
    minimum_minutes = int(minimum_minutes)
    start, end = next_window(schedule, now, minimum_minutes)
    in_window = start == now
    result = {
        'in_window': in_window,
        'timezone': schedule.zone_name,
        'now': _utc(now),
        'now_local': _local(schedule, now),
        'window_start': _utc(start),
        'window_start_local': _local(schedule, start),
        'window_end': _utc(end),
        'window_end_local': _local(schedule, end),
        'minimum_minutes': minimum_minutes,
    }
    if schedule.empty:
        result['reason'] = 'no opening hours or blackout dates are set: always in its window'
        return result
    now_busy = [w for s, e, w in busy(schedule, now, now + datetime.timedelta(seconds=1)) if s <= now < e]
    if in_window:
        result['reason'] = ('closed until %s' % _local(schedule, end)) if end else 'closed, with nothing ahead'
    elif now_busy:
        result['reason'] = '%s (now %s)' % (', '.join(sorted(set(now_busy))), _local(schedule, now))
    else:
        gap_end = next_window(schedule, now, 0)[1]
        result['reason'] = ('closed now (%s), but it opens at %s, in less than the %d minutes the operation '
                            'needs' % (_local(schedule, now), _local(schedule, gap_end), minimum_minutes))
    return result


def decide(evaluation, override=False, operation='the operation', override_option='override'):
    """What to do with an evaluation: run (in the window, or overridden) or skip, and the line that
    says so. Returns dict(allowed, overridden, msg)."""
    if evaluation['in_window']:
        return {'allowed': True, 'overridden': False,
                'msg': 'in its maintenance window: %s; %s runs' % (evaluation['reason'], operation)}
    if evaluation['window_start']:
        nxt = 'next window %s (%s)' % (evaluation['window_start_local'], evaluation['window_start'])
    else:
        nxt = 'no window in the next %d days' % HORIZON_DAYS
    if override:
        return {'allowed': True, 'overridden': True,
                'msg': 'outside its maintenance window: %s; %s; %s runs anyway, as %s asks (recorded in '
                       'the evidence)' % (evaluation['reason'], nxt, operation, override_option)}
    return {'allowed': False, 'overridden': False,
            'msg': 'outside its maintenance window: %s; %s. %s skipped; %s=true runs it anyway (recorded in '
                   'the evidence)' % (evaluation['reason'], nxt, operation[:1].upper() + operation[1:],
                                      override_option)}


def answer(params):
    """The module's answer for its parameters (timezone, opening_hours, blackout_dates, minimum_minutes,
    operation, override, override_option, now): evaluate() merged with decide()."""
    schedule = parse_schedule(params.get('timezone') or '', params.get('opening_hours') or {},
                              params.get('blackout_dates') or [])
    evaluation = evaluate(schedule, parse_now(params.get('now')), params.get('minimum_minutes') or 0)
    result = dict(evaluation)
    result.update(decide(evaluation, bool(params.get('override')), params.get('operation') or 'the operation',
                         params.get('override_option') or 'override'))
    return result
