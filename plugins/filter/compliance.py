# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance flags for the fleet status report (the logic is in module_utils/compliance.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.poscloud.fleet.plugins.module_utils.compliance import (
    ComplianceError, flags, parse_time, summary_line, totals)


def compliance_flags(row, policy=None, now=None, current_media=None):
    when = parse_time(now) if now else None
    if now and when is None:
        raise AnsibleFilterError('compliance_flags: now %r is not an ISO 8601 time' % (now,))
    try:
        return flags(row, policy, when, current_media or None)
    except ComplianceError as e:
        raise AnsibleFilterError(str(e))


def compliance_totals(rows):
    return totals(rows)


def compliance_summary(total):
    return summary_line(total)


class FilterModule(object):
    def filters(self):
        return {
            'compliance_flags': compliance_flags,
            'compliance_totals': compliance_totals,
            'compliance_summary': compliance_summary,
        }
