import datetime

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import window

DAILY = {d: ['08:00-20:00'] for d in window.WEEKDAYS}


def at(text):
    return window.parse_now(text)


def check(tz, hours=None, blackouts=None, now='2026-12-04T12:00:00Z', minutes=0):
    return window.evaluate(window.parse_schedule(tz, hours, blackouts), at(now), minutes)


def test_one_instant_is_inside_the_window_of_one_zone_and_outside_another():
    # 12:00 UTC on a Friday in December: 13:00 in Berlin (open), 07:00 in New York (closed until
    # 08:00), 01:00 on Saturday in Auckland (closed until 08:00 there, 19:00 UTC).
    berlin = check('Europe/Berlin', DAILY)
    assert not berlin['in_window']
    assert berlin['reason'] == 'open 08:00-20:00 on fri (now 2026-12-04 13:00 CET)'
    assert berlin['window_start'] == '2026-12-04T19:00:00Z'
    assert berlin['window_start_local'] == '2026-12-04 20:00 CET'

    new_york = check('America/New_York', DAILY, minutes=30)
    assert new_york['in_window'] and new_york['window_end'] == '2026-12-04T13:00:00Z'
    assert new_york['reason'] == 'closed until 2026-12-04 08:00 EST'

    auckland = check('Pacific/Auckland', DAILY)
    assert auckland['in_window']
    assert auckland['now_local'] == '2026-12-05 01:00 NZDT'
    assert auckland['window_end'] == '2026-12-04T19:00:00Z'


def test_a_window_too_short_for_the_operation_is_not_a_window():
    # New York opens in 60 minutes: enough for 60, not for 61
    assert check('America/New_York', DAILY, minutes=60)['in_window']
    short = check('America/New_York', DAILY, minutes=61)
    assert not short['in_window']
    assert 'opens at 2026-12-04 08:00 EST, in less than the 61 minutes' in short['reason']
    # the next window long enough is the evening's
    assert short['window_start'] == '2026-12-05T01:00:00Z'


def test_the_nights_of_a_daylight_saving_change_are_an_hour_shorter_and_longer():
    hours = {d: ['07:00-22:00'] for d in window.WEEKDAYS}
    sched = window.parse_schedule('Europe/Berlin', hours)

    def night(evening_utc):
        start, end = window.next_window(sched, at(evening_utc))
        return start, (end - start).total_seconds() / 3600

    # an ordinary winter night: 22:00 CET (21:00Z) to 07:00 CET (06:00Z)
    assert night('2027-03-20T21:00:00Z') == (at('2027-03-20T21:00:00Z'), 9.0)
    # spring forward (2027-03-28, 02:00 CET -> 03:00 CEST): it opens at 07:00 CEST = 05:00Z
    assert night('2027-03-27T21:00:00Z') == (at('2027-03-27T21:00:00Z'), 8.0)
    # fall back (2027-10-31, 03:00 CEST -> 02:00 CET): from 22:00 CEST (20:00Z) to 07:00 CET (06:00Z)
    assert night('2027-10-30T20:00:00Z') == (at('2027-10-30T20:00:00Z'), 10.0)
    # an 8.5 hour job fits an ordinary night and not the short one
    assert window.evaluate(sched, at('2027-03-20T21:00:00Z'), 510)['in_window']
    short = window.evaluate(sched, at('2027-03-27T21:00:00Z'), 510)
    assert not short['in_window'] and short['window_start'] == '2027-03-28T20:00:00Z'
    # the same wall-clock opening is a different instant on each side of the change
    assert check('Europe/Berlin', hours, now='2027-03-27T06:30:00Z')['reason'].startswith('open 07:00-22:00 on sat')
    assert check('Europe/Berlin', hours, now='2027-03-28T05:30:00Z')['reason'].startswith('open 07:00-22:00 on sun')
    assert check('Europe/Berlin', hours, now='2027-03-27T05:30:00Z')['in_window']


def test_a_blackout_run_of_days_closes_the_window_even_when_the_store_is_closed():
    # a florist: Monday to Saturday 09:00-18:00, Sundays closed, no changes in Valentine's week
    hours = {d: ['09:00-18:00'] for d in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat')}
    hours['sun'] = 'closed'
    blackouts = ['2027-02-07..2027-02-14', datetime.date(2026, 12, 24)]
    # Sunday 2027-02-14, 10:00 in Paris: closed, but inside the blackout
    r = check('Europe/Paris', hours, blackouts, now='2027-02-14T09:00:00Z')
    assert not r['in_window']
    assert r['reason'] == 'blackout 2027-02-07..2027-02-14 (now 2027-02-14 10:00 CET)'
    # the next window starts when the blackout ends, at midnight before Monday's opening
    assert r['window_start_local'] == '2027-02-15 00:00 CET'
    assert r['window_end_local'] == '2027-02-15 09:00 CET'
    # the Sunday before the blackout is open for work all day
    assert check('Europe/Paris', hours, blackouts, now='2027-01-31T09:00:00Z')['in_window']
    # a single date, as YAML gives it (a date object): Christmas Eve night is not a window
    eve = check('Europe/Paris', hours, blackouts, now='2026-12-24T20:00:00Z')
    assert not eve['in_window'] and eve['reason'].startswith('blackout 2026-12-24 ')
    assert eve['window_start_local'] == '2026-12-25 00:00 CET'


def test_opening_hours_past_midnight_belong_to_the_day_they_start():
    late_hours = {'thu': '18:00-02:00', 'fri': ['11:00-14:00', '18:00-02:00']}
    # Friday 01:00 in London: Thursday's evening still runs
    r = check('Europe/London', late_hours, now='2026-12-04T01:00:00Z')
    assert not r['in_window'] and r['reason'].startswith('open 18:00-02:00 on thu')
    assert r['window_start'] == '2026-12-04T02:00:00Z' and r['window_end'] == '2026-12-04T11:00:00Z'
    # Saturday, Sunday and the rest of the week are closed days
    assert check('Europe/London', late_hours, now='2026-12-06T12:00:00Z')['in_window']


def test_a_store_open_around_the_clock_has_no_window():
    r = check('UTC', {d: '00:00-24:00' for d in window.WEEKDAYS})
    assert not r['in_window'] and r['window_start'] is None
    d = window.decide(r, operation='fleet update')
    assert not d['allowed'] and 'no window in the next 400 days' in d['msg']


def test_no_schedule_is_always_a_window():
    r = check('', None, None)
    assert r['in_window'] and r['reason'].startswith('no opening hours')
    assert window.decide(r)['allowed']


def test_the_override_runs_outside_the_window_and_says_so():
    r = check('Europe/Berlin', DAILY)
    skip = window.decide(r, False, 'cutover', '-e maintenance_window_override')
    assert skip == {
        'allowed': False, 'overridden': False,
        'msg': 'outside its maintenance window: open 08:00-20:00 on fri (now 2026-12-04 13:00 CET); next window '
               '2026-12-04 20:00 CET (2026-12-04T19:00:00Z). Cutover skipped; -e maintenance_window_override=true '
               'runs it anyway (recorded in the evidence)'}
    run = window.decide(r, True, 'cutover', '-e maintenance_window_override')
    assert run['allowed'] and run['overridden'] and 'cutover runs anyway' in run['msg']
    # in the window, the override changes nothing and is not recorded as used
    inside = window.decide(check('America/New_York', DAILY), True)
    assert inside['allowed'] and not inside['overridden']


@pytest.mark.parametrize('kwargs,message', [
    ({'timezone': 'Europe/Berlinn', 'opening_hours': DAILY},
     "timezone: unknown time zone 'Europe/Berlinn'; give an IANA name"),
    ({'timezone': '', 'opening_hours': DAILY}, 'timezone: required when opening hours'),
    ({'timezone': 'UTC', 'opening_hours': {'mo': '08:00-20:00'}}, "opening_hours: 'mo' is not a weekday"),
    ({'timezone': 'UTC', 'opening_hours': {'mon': '8-20'}}, "opening_hours.mon: '8-20' is not a range"),
    ({'timezone': 'UTC', 'opening_hours': {'mon': '08:00-25:00'}}, "opening_hours.mon: '08:00-25:00' is not a time"),
    ({'timezone': 'UTC', 'opening_hours': ['08:00-20:00']}, 'opening_hours: give a mapping of weekday'),
    ({'timezone': 'UTC', 'blackout_dates': ['2027-02-30']}, "blackout_dates: '2027-02-30' is not a date"),
    ({'timezone': 'UTC', 'blackout_dates': ['2027-02-14..2027-02-07']}, 'ends before it starts'),
    ({'timezone': 'UTC', 'blackout_dates': '2027-02-14'}, 'blackout_dates: give a list of dates'),
])
def test_bad_input_names_the_field_and_the_fix(kwargs, message):
    with pytest.raises(window.WindowError) as err:
        window.parse_schedule(prefix='', **kwargs)
    assert message in str(err.value)


def test_field_names_carry_the_inventory_prefix_and_now_is_checked():
    with pytest.raises(window.WindowError, match='^maintenance_window_timezone: unknown'):
        window.parse_schedule('Mars/Olympus', DAILY, prefix='maintenance_window_')
    with pytest.raises(window.WindowError, match="now: 'tomorrow' is not an ISO 8601 time"):
        window.parse_now('tomorrow')
    assert window.parse_now('2026-12-04T13:00:00+01:00') == at('2026-12-04T12:00:00Z')
    assert window.parse_now('2026-12-04T12:00:00') == at('2026-12-04T12:00:00Z')


def test_minutes_out_of_range_are_refused():
    sched = window.parse_schedule('UTC', DAILY)
    for bad in (-1, 400 * 1440 + 1):
        with pytest.raises(window.WindowError, match='minimum_minutes: give a number of minutes from 0 to 576000'):
            window.evaluate(sched, at('2026-12-04T12:00:00Z'), bad)
