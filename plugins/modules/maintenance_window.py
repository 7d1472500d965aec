#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: maintenance_window
short_description: Tell whether a store may be interrupted now, by its opening hours and blackout dates
version_added: 0.3.0
description:
  - A store may be interrupted (cutover, fleet update, kernel upgrade, software update, purge) when it
    is closed, in its own time zone, on a day that is not a blackout date, for at least the minutes
    the operation needs. This module says whether that holds now, why, and when the next window opens.
  - It changes nothing and never fails for a store outside its window; the C(maintenance_window)
    role, which every interrupting playbook of the collection runs first, skips such a store with
    the line in RV(msg).
  - Opening hours are wall-clock times of the store's time zone, turned into instants with the zone's
    rules for each date, so the night of a daylight saving change is an hour shorter or longer.
  - The action plugin works it out on the controller, with the controller's time zone database and
    clock; nothing runs on the host.
extends_documentation_fragment:
  [poscloud.fleet.attributes.info_module, poscloud.fleet.attributes, poscloud.fleet.attributes.action_plugin,
   ansible.builtin.action_common_attributes.flow]
attributes:
  action:
    details: The whole decision is made by the action plugin on the controller.
  check_mode:
    support: full
    details: It only reads the clock; the answer is the same in check mode.
  platform:
    platforms: posix
    support: full
    details: Runs on the controller (Python 3.9 or later, for its time zones); the host is not contacted.
options:
  timezone:
    description:
      - The store's IANA time zone, such as C(Europe/Berlin). Required when O(opening_hours) or
        O(blackout_dates) are set.
    type: str
    default: ''
  opening_hours:
    description:
      - When the store is open, per weekday (V(mon) .. V(sun), or the full names), as a list of
        C(HH:MM-HH:MM) ranges, one range, or V(closed). A day not named is closed all day. A range
        whose end is at or before its start runs past midnight (C(18:00-02:00)); C(00:00-24:00) is
        the whole day.
      - Unset, and with no blackout dates, the store is always in its window.
    type: dict
    default: {}
  blackout_dates:
    description:
      - Days (in the store's time zone) on which the store may not be interrupted at all, closed or
        not, as C(YYYY-MM-DD), or C(YYYY-MM-DD..YYYY-MM-DD) for a run of days, both ends included.
    type: list
    elements: raw
    default: []
  minimum_minutes:
    description:
      - How long the window must still last from now for the operation to start; a store closed now
        that opens in fewer minutes is outside its window.
    type: int
    default: 0
  operation:
    description: What would interrupt the store, for the message.
    type: str
    default: the operation
  override:
    description:
      - Run outside the window anyway. The answer then says RV(allowed=true) and RV(overridden=true),
        for the evidence. In the window it changes nothing.
    type: bool
    default: false
  override_option:
    description: How the user sets O(override), named in the message of a store that is skipped.
    type: str
    default: override
  now:
    description:
      - The time to decide for, in ISO 8601 (C(2027-02-14T09:00:00Z); without an offset it is UTC).
        Unset, the controller's clock. For planning and tests.
    type: str
notes:
  - The collection's C(docs/windows.md) shows the inventory variables and C(playbooks/windows.yml),
    the report of which stores are open now and when each opens next.
seealso:
  - module: poscloud.fleet.store_lock
'''

EXAMPLES = r'''
- name: May the florist be updated now? (closed Sundays, no changes in Valentine's week)
  poscloud.fleet.maintenance_window:
    timezone: Europe/Paris
    opening_hours:
      mon: ["09:00-12:30", "14:00-19:00"]
      tue: "09:00-19:00"
      wed: "09:00-19:00"
      thu: "09:00-19:00"
      fri: "09:00-19:00"
      sat: "09:00-18:00"
      sun: closed
    blackout_dates:
      - "2027-02-07..2027-02-14"
      - "2026-12-24"
    minimum_minutes: 30
    operation: fleet update
  register: window

- name: Skip the store outside its window
  ansible.builtin.meta: end_host
  when: not window.allowed

- name: Plan ahead - would the store be in its window on Christmas Eve at 20:00 UTC?
  poscloud.fleet.maintenance_window:
    timezone: "{{ maintenance_window_timezone }}"
    opening_hours: "{{ maintenance_window_opening_hours }}"
    blackout_dates: "{{ maintenance_window_blackout_dates }}"
    now: "2026-12-24T20:00:00Z"
  register: window

- name: An emergency change outside the window, on purpose (recorded)
  poscloud.fleet.maintenance_window:
    timezone: America/New_York
    opening_hours: {mon: "07:00-22:00", tue: "07:00-22:00"}
    override: true
    operation: cutover
  register: window
'''

RETURN = r'''
allowed:
  description: Whether the operation may run, in the window or outside it with O(override=true).
  returned: success
  type: bool
  sample: false
overridden:
  description: Whether it runs only because of O(override=true) (the store is outside its window).
  returned: success
  type: bool
  sample: false
in_window:
  description: Whether the store is in its maintenance window now, for O(minimum_minutes).
  returned: success
  type: bool
  sample: false
reason:
  description: Why, in the store's words - its hours or blackout that apply now, or until when it is closed.
  returned: success
  type: str
  sample: open 08:00-20:00 on fri (now 2026-12-04 13:00 CET)
msg:
  description: The line to show - the reason, the next window, and what happens to the operation.
  returned: success
  type: str
  sample: >-
    outside its maintenance window: open 08:00-20:00 on fri (now 2026-12-04 13:00 CET); next window
    2026-12-04 20:00 CET (2026-12-04T19:00:00Z). Fleet update skipped; override=true runs it anyway
    (recorded in the evidence)
timezone:
  description: The store's time zone (C(UTC) when nothing is set).
  returned: success
  type: str
  sample: Europe/Berlin
now:
  description: The time decided for, UTC.
  returned: success
  type: str
  sample: "2026-12-04T12:00:00Z"
now_local:
  description: RV(now) as the store's wall-clock time, C(YYYY-MM-DD HH:MM) and the zone's abbreviation.
  returned: success
  type: str
  sample: 2026-12-04 13:00 CET
window_start:
  description: The start of the current window (when in one) or the next; V(null) when none comes within 400 days.
  returned: success
  type: str
  sample: "2026-12-04T19:00:00Z"
window_start_local:
  description: RV(window_start) as the store's wall-clock time, like RV(now_local); V(null) with it.
  returned: success
  type: str
  sample: 2026-12-04 20:00 CET
window_end:
  description: When that window ends (the store opens or a blackout starts); V(null) when nothing follows.
  returned: success
  type: str
  sample: "2026-12-05T07:00:00Z"
window_end_local:
  description: When that window ends on the store's clock, written as RV(now_local) is; V(null) when RV(window_end) is.
  returned: success
  type: str
  sample: 2026-12-05 08:00 CET
minimum_minutes:
  description: The minutes asked for.
  returned: success
  type: int
  sample: 30
'''

from ansible_collections.poscloud.fleet.plugins.module_utils.fleet_module import exit_with, fleet_module
from ansible_collections.poscloud.fleet.plugins.module_utils.window import ARGUMENT_SPEC, WindowError, answer


def main():
    # The action plugin answers on the controller; this runs only when the module is called on a
    # host directly (then with that host's clock and time zone database).
    module = fleet_module(ARGUMENT_SPEC)
    exit_with(module, lambda: answer(module.params), [(WindowError, '')], changed=False)


if __name__ == '__main__':
    main()
