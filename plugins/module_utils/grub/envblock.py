# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GRUB's environment block (``grub-core/lib/envblk.c``): parse, edit and render the 1024 bytes,
and plan changes to its variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import OrderedDict

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import (
    CONTRACT_VARIABLES, ENVBLK_MESSAGE, ENVBLK_SIGNATURE, ENVBLK_SIZE, GrubEnvCorrupt, GrubEnvError, GrubEnvFull,
    GrubTargetError)

_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')


def escape_value(value):
    """GRUB's escaping of a value: a backslash before each backslash and each newline."""
    return value.replace('\\', '\\\\').replace('\n', '\\\n')


def validate_name(name):
    """Raise GrubEnvError unless ``name`` is a variable name GRUB script can use."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise GrubEnvError(
            'invalid GRUB environment variable name %r: use letters, digits and underscores, '
            'not starting with a digit' % (name,))


def validate_value(name, value):
    if not isinstance(value, str):
        raise GrubEnvError('value of %s must be a string, not %s' % (name, type(value).__name__))
    if '\0' in value:
        raise GrubEnvError('value of %s contains a NUL character, which GRUB cannot store' % name)


def _decode(raw, what, offset):
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        raise GrubEnvCorrupt('corrupt GRUB environment block: %s at byte %d is not UTF-8' % (what, offset))


class EnvBlock(object):
    """A GRUB environment block as an ordered list of items.

    Each item is ``('comment', bytes)`` for a ``#`` line (kept byte for byte, newline included) or
    ``('var', name, value)``. Editing follows grub-editenv: setting an existing variable changes
    its value in place, a new one is appended after the last item, unsetting removes the line.
    Rendering pads with ``#`` to the block size, so the bytes equal grub-editenv's for the same
    sequence of edits.
    """

    def __init__(self, items=None, size=ENVBLK_SIZE):
        self.items = list(items or [])
        self.size = size

    @classmethod
    def new(cls, size=ENVBLK_SIZE):
        """An empty block as ``grub-editenv FILE create`` writes it."""
        return cls([('comment', ENVBLK_MESSAGE)], size)

    @classmethod
    def parse(cls, data, size=ENVBLK_SIZE):
        """Parse the bytes of a block; raise GrubEnvCorrupt naming the first problem."""
        if not isinstance(data, bytes):
            raise TypeError('an environment block is bytes, not %s' % type(data).__name__)
        if len(data) != size:
            raise GrubEnvCorrupt(
                'corrupt GRUB environment block: it is %d bytes, a GRUB environment block is exactly '
                '%d bytes (recreate it with grub-editenv FILE create)' % (len(data), size))
        if not data.startswith(ENVBLK_SIGNATURE):
            raise GrubEnvCorrupt(
                'corrupt GRUB environment block: it does not start with the header %r'
                % ENVBLK_SIGNATURE.decode('ascii'))
        if b'\0' in data:
            raise GrubEnvCorrupt('corrupt GRUB environment block: NUL byte at offset %d' % data.index(b'\0'))
        start = len(ENVBLK_SIGNATURE)
        body = data[start:]
        last_nl = body.rfind(b'\n')
        tail = body[last_nl + 1:]
        if tail.strip(b'#'):
            bad = last_nl + 1 + len(tail) - len(tail.lstrip(b'#'))
            raise GrubEnvCorrupt(
                'corrupt GRUB environment block: garbage after the variables at offset %d; after the '
                'last line only # padding may follow (GRUB cannot write such a block either)'
                % (start + bad))
        items = []
        region = body[:last_nl + 1]
        p = 0
        line_no = 1
        while p < len(region):
            line_no += 1
            offset = start + p
            if region[p:p + 1] == b'#':
                end = region.index(b'\n', p)
                items.append(('comment', region[p:end + 1]))
                p = end + 1
                continue
            if region[p:p + 1] == b'\n':
                raise GrubEnvCorrupt('corrupt GRUB environment block: empty line %d at offset %d' % (line_no, offset))
            eq = region.find(b'=', p)
            nl = region.find(b'\n', p)
            if eq < 0 or nl < eq:
                raise GrubEnvCorrupt(
                    'corrupt GRUB environment block: line %d at offset %d has no "=": %r'
                    % (line_no, offset, region[p:nl].decode('utf-8', 'replace')))
            if eq == p:
                raise GrubEnvCorrupt('corrupt GRUB environment block: line %d at offset %d has an empty name' % (line_no, offset))
            name = _decode(region[p:eq], 'variable name', offset)
            q = eq + 1
            value = bytearray()
            while True:
                if q >= len(region):
                    raise GrubEnvCorrupt('corrupt GRUB environment block: value of %s is not terminated' % name)
                ch = region[q:q + 1]
                if ch == b'\\':
                    if q + 1 >= len(region):
                        raise GrubEnvCorrupt('corrupt GRUB environment block: value of %s ends in a lone backslash' % name)
                    if region[q + 1:q + 2] == b'\n':
                        line_no += 1
                    value += region[q + 1:q + 2]
                    q += 2
                    continue
                if ch == b'\n':
                    break
                value += ch
                q += 1
            items.append(('var', name, _decode(bytes(value), 'value of %s' % name, offset)))
            p = q + 1
        return cls(items, size)

    def copy(self):
        return EnvBlock(self.items, self.size)

    def variables(self):
        """Variables as GRUB's load_env sees them (a later duplicate wins), in file order."""
        result = OrderedDict()
        for item in self.items:
            if item[0] == 'var':
                result[item[1]] = item[2]
        return result

    def duplicates(self):
        seen, dups = set(), []
        for item in self.items:
            if item[0] == 'var':
                if item[1] in seen and item[1] not in dups:
                    dups.append(item[1])
                seen.add(item[1])
        return dups

    def get(self, name, default=None):
        return self.variables().get(name, default)

    def set(self, name, value):
        validate_name(name)
        validate_value(name, value)
        found = False
        items = []
        for item in self.items:
            if item[0] == 'var' and item[1] == name:
                if found:
                    continue  # drop a duplicate so that the value set is the one GRUB loads
                items.append(('var', name, value))
                found = True
            else:
                items.append(item)
        if not found:
            items.append(('var', name, value))
        self.items = items

    def unset(self, name):
        self.items = [i for i in self.items if not (i[0] == 'var' and i[1] == name)]

    def apply(self, changes):
        """Apply ``[(name, value or None)]``: a value sets, None unsets."""
        for name, value in changes:
            if value is None:
                self.unset(name)
            else:
                self.set(name, value)
        return self

    def used(self):
        data = bytearray(ENVBLK_SIGNATURE)
        for item in self.items:
            if item[0] == 'comment':
                data += item[1]
            else:
                data += item[1].encode('utf-8') + b'=' + escape_value(item[2]).encode('utf-8') + b'\n'
        return bytes(data)

    def render(self):
        """The block's bytes, padded with ``#``; raise GrubEnvFull when it does not fit."""
        data = self.used()
        if len(data) > self.size:
            raise GrubEnvFull(
                'GRUB environment block is full: the variables need %d bytes but the block holds %d; '
                'unset unused variables or use shorter values (ids are shorter than titles)'
                % (len(data), self.size))
        return data + b'#' * (self.size - len(data))


def parse_envblock(data, size=ENVBLK_SIZE):
    """Variables of a block's bytes, as an OrderedDict."""
    return EnvBlock.parse(data, size).variables()


def render_envblock(variables, size=ENVBLK_SIZE):
    """Bytes of a new block (as grub-editenv creates it) holding ``variables`` in their order."""
    block = EnvBlock.new(size)
    for name, value in variables.items():
        block.set(name, value)
    return block.render()


def env_diff_text(variables):
    """``name=value`` lines for a diff, one per variable in file order."""
    return ''.join('%s=%s\n' % (k, escape_value(v)) for k, v in variables.items())


def plan_changes(variables, changes):
    """Drop changes that would not change ``variables``; return (effective changes, previous values).

    ``changes`` is ``[(name, value or None)]``; the previous values map each changed name to its
    value before the change, None when it was not set. Feeding ``previous`` back through
    restore_changes() undoes the changes.
    """
    effective, previous = [], OrderedDict()
    current = OrderedDict(variables)
    for name, value in changes:
        validate_name(name)
        if value is not None:
            validate_value(name, value)
        if current.get(name) == value:
            continue
        if name not in previous:
            previous[name] = variables.get(name)
        effective.append((name, value))
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    return effective, previous


def restore_changes(restore, menu=None):
    """Changes that restore ``restore`` (``{name: value or None}``, as returned in ``previous``).

    Only the variables this collection sets (``CONTRACT_VARIABLES``) can be restored. Each value
    is null (unset), empty (GRUB's own way to clear next_entry) or a string that names an entry of
    ``menu`` exactly as GRUB would look it up; anything else is refused, so a restore never writes
    a value that would make GRUB fall back to another entry."""
    if not isinstance(restore, dict):
        raise GrubEnvError('restore must be a dictionary of variable names to values (null to unset)')
    changes = []
    for name in sorted(restore, key=str):
        value = restore[name]
        validate_name(name)
        if name not in CONTRACT_VARIABLES:
            raise GrubEnvError('restore: %s is not a variable this module sets (%s); give the previous '
                               'result of an earlier run' % (name, ', '.join(CONTRACT_VARIABLES)))
        if value is not None and not isinstance(value, str):
            raise GrubEnvError('restore.%s: %r must be a menu entry (a string) or null to unset, not %s'
                               % (name, value, type(value).__name__))
        if value:
            validate_value(name, value)
            if menu is None:
                raise GrubEnvError('restore.%s: %r cannot be checked without grub.cfg' % (name, value))
            if menu.grub_lookup(value) is None:
                raise GrubTargetError('restore.%s: %r matches no entry of grub.cfg (GRUB would boot another '
                                      'entry); give the previous result of an earlier run on this menu'
                                      % (name, value), menu.available())
        changes.append((name, value))
    return changes
