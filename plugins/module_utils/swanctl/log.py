# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's log lines (vici log events or a log file) that concern one connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_FILELOG_PREFIX_RE = re.compile(r'<([^|>]*)\|(\d+)>')


def filter_log_events(events, name, remote_addrs=()):
    """Messages of vici ``log`` events that concern ``name``.

    ``events`` are ``(name, dict)`` pairs as parse_vici_pretty makes them from ``swanctl --log
    --pretty`` or as decoded from the vici socket with vici_message.

    Kept are messages logged by an IKE SA of that name, by the same IKE SA (unique id) before it was
    named, and unnamed messages that mention one of ``remote_addrs``.
    """
    logs = [body for msg, body in events if msg == 'log']
    ids = set(b.get('ikesa-uniqueid') for b in logs if b.get('ikesa-name') == name and b.get('ikesa-uniqueid'))
    out = []
    for b in logs:
        text = b.get('msg', '')
        if b.get('ikesa-name') == name or (b.get('ikesa-uniqueid') and b.get('ikesa-uniqueid') in ids) or \
                (b.get('ikesa-name') in (None, '', '(unnamed)') and _mentions(text, remote_addrs)):
            out.append('%s[%s] %s' % (b.get('thread', '00'), b.get('group', '???'), text))
    return out


def filter_log_lines(lines, name, remote_addrs=()):
    """Lines of a charon file log that concern connection ``name``.

    With ``ike_name = yes`` in the filelog settings lines carry ``<name|id>``; lines of an IKE SA
    not yet named (``<(unnamed)|id>`` or ``<id>``) are kept when the same unique id later gets the
    name. Without ike_name, lines naming ``name[`` / ``name{`` or mentioning one of
    ``remote_addrs`` are kept.
    """
    ids = set()
    for line in lines:
        m = _FILELOG_PREFIX_RE.search(line)
        if m and m.group(1) == name:
            ids.add(m.group(2))
    token_re = re.compile(r"(?:^|[\s'<])%s(?:[\[{|']|$)" % re.escape(name))
    out = []
    for line in lines:
        m = _FILELOG_PREFIX_RE.search(line)
        if m and (m.group(1) == name or m.group(2) in ids):
            out.append(line)
        elif token_re.search(line) or (not m and _mentions(line, remote_addrs)):
            out.append(line)
    return out


def _mentions(text, addrs):
    for addr in addrs or ():
        if addr and not addr.startswith('%') and re.search(r'(?<![\w.:])%s(?![\w:]|\.\d)' % re.escape(addr), text):
            return True
    return False
