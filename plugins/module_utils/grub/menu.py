# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The menu of grub.cfg (``grub-core/normal/menu.c``): entries, submenus, targets and how
``default`` picks an entry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import NEXT_ENTRY, SAVED_ENTRY, GrubConfigError, GrubTargetError
from ansible_collections.poscloud.fleet.plugins.module_utils.grub.tokens import tokenize

_GRUB_SPACE = ' \t\n\r\f\v'


class MenuNode(object):
    """A ``menuentry`` or ``submenu`` of grub.cfg."""

    def __init__(self, kind, title, entry_id, index, line, conditional, parent=None, classes=None):
        self.kind = kind
        self.title = title
        self.id = entry_id
        self.index = index
        self.line = line
        self.conditional = conditional
        self.parent = parent
        self.classes = classes or []
        self.children = []
        self.kernel = None
        self.initrd = None

    def chain(self):
        nodes, node = [], self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return list(reversed(nodes))

    def __repr__(self):
        return 'MenuNode(%s %r id=%r)' % (self.kind, self.title, self.id)


# Commands in an entry's body that load the kernel or the initrd.
_KERNEL_COMMANDS = ('linux', 'linux16', 'linuxefi', 'multiboot', 'multiboot2', 'kernel', 'chainloader')
_INITRD_COMMANDS = ('initrd', 'initrd16', 'initrdefi', 'module2')

# Options of GRUB's menuentry/submenu commands that take a value.
_VALUE_OPTIONS = ('class', 'users', 'hotkey', 'source', 'id')


def _entry_args(words, kind, line):
    """(title, id, classes) from the words after ``menuentry``/``submenu``."""
    title, entry_id, classes = None, None, []
    i = 0
    options_done = False
    while i < len(words):
        w = words[i]
        value = w.value
        if w.var == 'menuentry_id_option':
            value = '--id'  # set by 00_header when GRUB supports ids, which every GRUB 2 since 2.00 does
        if not options_done and value == '--':
            options_done = True
            i += 1
            continue
        if not options_done and value.startswith('--'):
            opt, has_eq, inline = value[2:].partition('=')
            if opt in _VALUE_OPTIONS:
                if has_eq:
                    arg = inline
                else:
                    i += 1
                    if i >= len(words):
                        raise GrubConfigError('grub.cfg line %d: %s option --%s has no value' % (line, kind, opt))
                    arg = words[i].value
                if opt == 'id':
                    entry_id = arg
                elif opt == 'class':
                    classes.append(arg)
            i += 1
            continue
        if title is None:
            title = value
        i += 1
    if title is None:
        raise GrubConfigError('grub.cfg line %d: %s without a title' % (line, kind))
    return title, entry_id, classes


class _Parser(object):
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.pos = 0
        self.cond = 0
        self.commands = []  # (name, [arg values], line, conditional) of top-level commands

    def _skip_block(self, open_line):
        self._scan_entry(None, open_line)

    def _scan_entry(self, node, open_line):
        """Skip a block's body; in a menu entry's (``node``), note the kernel and initrd it loads."""
        depth = 1
        at_start = True
        while self.pos < len(self.tokens):
            kind, value, line = self.tokens[self.pos]
            self.pos += 1
            if kind == 'lbrace':
                depth += 1
            elif kind == 'rbrace':
                depth -= 1
                if depth == 0:
                    return
            elif kind == 'sep':
                at_start = True
                continue
            elif kind == 'word' and at_start and node is not None:
                words = [value] + self._command_words()
                name = words[0].value if words[0].plain else None
                args = [w.value for w in words[1:] if not w.value.startswith('--')]
                if name in _KERNEL_COMMANDS and node.kernel is None and args:
                    node.kernel = args[0]
                elif name in _INITRD_COMMANDS and node.initrd is None and args:
                    node.initrd = args
            at_start = False
        raise GrubConfigError("grub.cfg: the block opened with '{' at line %d is not closed" % open_line)

    def _command_words(self):
        words = []
        while self.pos < len(self.tokens) and self.tokens[self.pos][0] == 'word':
            words.append(self.tokens[self.pos][1])
            self.pos += 1
        return words

    def parse(self, into, parent, in_block, open_line=0):
        at_start = True
        while self.pos < len(self.tokens):
            kind, value, line = self.tokens[self.pos]
            if kind == 'sep':
                self.pos += 1
                at_start = True
                continue
            if kind == 'rbrace':
                if in_block:
                    self.pos += 1
                    return
                raise GrubConfigError("grub.cfg line %d: '}' without a matching '{'" % line)
            if kind == 'lbrace':
                self.pos += 1
                self._skip_block(line)
                at_start = False
                continue
            if not at_start or kind == 'op':
                self.pos += 1
                continue
            word = value
            keyword = word.value if word.plain else None
            if keyword in ('menuentry', 'submenu'):
                self.pos += 1
                args = self._command_words()
                if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != 'lbrace':
                    raise GrubConfigError("grub.cfg line %d: %s must be followed by its arguments and '{' on the same line" % (line, keyword))
                self.pos += 1
                title, entry_id, classes = _entry_args(args, keyword, line)
                conditional = self.cond > 0 or (parent is not None and parent.conditional)
                node = MenuNode(keyword, title, entry_id, len(into), line, conditional, parent, classes)
                into.append(node)
                if keyword == 'submenu':
                    saved_cond, self.cond = self.cond, 0
                    self.parse(node.children, node, True, line)
                    self.cond = saved_cond
                else:
                    self._scan_entry(node, line)
                at_start = False
                continue
            if keyword == 'function':
                self.pos += 1
                self._command_words()
                if self.pos < len(self.tokens) and self.tokens[self.pos][0] == 'lbrace':
                    self.pos += 1
                    self._skip_block(line)
                at_start = False
                continue
            if keyword in ('if', 'while', 'until'):
                self.cond += 1
                self.pos += 1
                continue
            if keyword == 'for':
                self.cond += 1
                self.pos += 1
                at_start = False
                continue
            if keyword in ('then', 'else', 'elif', 'do'):
                self.pos += 1
                continue
            if keyword in ('fi', 'done'):
                self.cond = max(0, self.cond - 1)
                self.pos += 1
                at_start = False
                continue
            words = self._command_words()
            if parent is None:
                self.commands.append((words[0].value, [w.value for w in words[1:]], line, self.cond > 0))
            at_start = False
        if in_block:
            raise GrubConfigError("grub.cfg: the submenu opened at line %d is not closed with '}'" % open_line)


def _unquote_default(value):
    return value.strip()


class GrubMenu(object):
    """The menu of a grub.cfg and how it picks the default entry."""

    def __init__(self, nodes, commands):
        self.nodes = nodes
        self.commands = commands
        defaults = [(args[0][len('default='):], line) for name, args, line, cond in commands
                    if name == 'set' and args and args[0].startswith('default=')]
        self.default_assignments = defaults
        consumes = [v for v, line in defaults if v in ('${next_entry}', '$next_entry')]
        self.consumes_next_entry = bool(consumes) and any(
            name == 'save_env' and NEXT_ENTRY in args for name, args, line, cond in commands)
        fixed = [v for v, line in defaults if v not in ('${next_entry}', '$next_entry')]
        # The last assignment that does not use next_entry is the one of GRUB_DEFAULT (00_header's else branch).
        self.default_spec = fixed[-1] if fixed else None
        self.uses_saved_entry = self.default_spec in ('${saved_entry}', '$saved_entry')

    @classmethod
    def parse(cls, text):
        parser = _Parser(text)
        nodes = []
        parser.parse(nodes, None, False)
        return cls(nodes, parser.commands)

    def walk(self, nodes=None):
        for node in self.nodes if nodes is None else nodes:
            yield node
            yield from self.walk(node.children)

    def bootable(self):
        return [n for n in self.walk() if n.kind == 'menuentry']

    # -- GRUB's own matching (menu.c) -------------------------------------------------------
    def _grub_walk(self, spec):
        """Mirror of how GRUB picks the entry for ``default=spec``: (node, exact).

        Like get_entry_number() a value GRUB reads as a number is an index, otherwise the first
        entry whose title or id matches up to the first ``>`` (``>>`` is a literal ``>``) is taken;
        the text after ``>`` selects inside a submenu. Where nothing matches GRUB takes the first
        entry of that level (``exact`` is then False); a submenu without a rest boots its first
        entry; a rest after a menu entry is ignored, as GRUB ignores it.
        """
        level = self.nodes
        rest = spec or ''
        exact = bool(rest)
        while level:
            number = grub_strtoul(rest) if rest else None
            node = None
            if number is not None:
                if number < len(level):
                    node = level[number]
            elif rest:
                for candidate in level:
                    if menuentry_eq(candidate.title, rest) or menuentry_eq(candidate.id, rest):
                        node = candidate
                        break
            if node is None:
                exact = False
                node = level[0]
            rest = _after_separator(rest) if rest else ''
            if node.kind != 'submenu':
                return node, exact
            level = node.children
        return None, False

    def grub_lookup(self, spec):
        """The entry ``default=spec`` selects in GRUB, or None when GRUB would fall back to a
        first entry because (part of) the value matches nothing."""
        node, exact = self._grub_walk(spec)
        return node if exact else None

    def boots(self, spec):
        """The entry GRUB boots when ``default`` is ``spec``, fallbacks included (None: no entries)."""
        return self._grub_walk(spec)[0]

    # -- resolution of targets ---------------------------------------------------------------
    def resolve(self, target):
        """The menu entry a target names; raise GrubTargetError listing the entries when none.

        A target is an index, an id or a title, or a path of them joined with ``>`` through
        submenus (``1>2``, ``gnulinux-advanced-UUID>gnulinux-6.1.0-26-amd64-advanced-UUID``,
        ``Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-26-amd64``);
        forms may be mixed. ``>>`` is a literal ``>`` in a title, as in GRUB. A component of
        decimal digits is an index; otherwise the first entry at that level whose id or title
        equals it is taken, in menu order, as GRUB does.
        """
        if isinstance(target, int) and not isinstance(target, bool):
            target = str(target)
        if not isinstance(target, str) or not target.strip():
            raise GrubTargetError('target must be a non-empty string', self.available())
        components = split_target(target)
        level = self.nodes
        node = None
        where = 'the top level of the menu'
        for pos, comp in enumerate(components):
            if comp == '':
                raise GrubTargetError(
                    'target %r has an empty component; separate submenu and entry with a single ">" '
                    '(a literal ">" in a title is written ">>")' % target, self.available())
            node = None
            if comp.isdigit() and comp == comp.strip():
                idx = int(comp)
                if idx < len(level):
                    node = level[idx]
            else:
                for candidate in level:
                    if candidate.id == comp or candidate.title == comp:
                        node = candidate
                        break
            if node is None:
                raise GrubTargetError(
                    'target %r does not name a GRUB menu entry: nothing matches %r at %s. %s'
                    % (target, comp, where, self._available_text()), self.available())
            last = pos == len(components) - 1
            if node.kind == 'submenu':
                if last:
                    raise GrubTargetError(
                        'target %r names the submenu %r, not a bootable entry; add ">" and an entry of '
                        'it. %s' % (target, node.title, self._available_text()), self.available())
                level = node.children
                where = 'submenu %r' % node.title
            elif not last:
                raise GrubTargetError(
                    'target %r continues after the menu entry %r, which is not a submenu. %s'
                    % (target, node.title, self._available_text()), self.available())
        return node

    def canonical(self, node):
        """The string to store in next_entry/saved_entry for ``node``.

        Per level the entry's id is used, else its title, else its index; a candidate is skipped
        when GRUB would read it as a number or when an earlier entry at that level would match it
        first. The result is what GRUB's own ``savedefault`` stores (the ``chosen`` id path), it
        survives regenerating grub.cfg as long as the kernel stays, and it is checked to lead GRUB
        back to ``node``.
        """
        parts = []
        for n in node.chain():
            level = n.parent.children if n.parent is not None else self.nodes
            choice = None
            for candidate in (n.id, n.title):
                if not candidate or grub_strtoul(candidate) is not None:
                    continue
                first = None
                for other in level:
                    if other.title == candidate or other.id == candidate:
                        first = other
                        break
                if first is n:
                    choice = escape_component(candidate)
                    break
            parts.append(choice if choice is not None else str(n.index))
        value = '>'.join(parts)
        if self.grub_lookup(value) is not node:
            value = index_path(node)
        return value

    def describe(self, node):
        """A dictionary describing ``node`` for module results."""
        chain = node.chain()
        ids = [n.id for n in chain]
        return {
            'kind': node.kind,
            'title': node.title,
            'id': node.id,
            'index_path': index_path(node),
            'title_path': '>'.join(escape_component(n.title) for n in chain),
            'id_path': '>'.join(escape_component(i) for i in ids) if all(ids) else None,
            'target': self.canonical(node) if node.kind == 'menuentry' else None,
            'kernel': node.kernel,
            'initrd': node.initrd,
            'depth': len(chain) - 1,
            'line': node.line,
            'conditional': node.conditional,
        }

    def entries(self):
        return [self.describe(n) for n in self.walk()]

    def available(self):
        return [self.describe(n) for n in self.bootable()]

    def _available_text(self):
        items = []
        for n in self.bootable():
            d = self.describe(n)
            text = '%s %r' % (d['index_path'], d['title_path'])
            if d['id_path']:
                text += ' (id %s)' % d['id_path']
            items.append(text)
        if not items:
            return 'grub.cfg has no menu entries.'
        return 'Available entries: ' + '; '.join(items)


def parse_grub_cfg(text):
    """Parse grub.cfg text into a GrubMenu."""
    return GrubMenu.parse(text)


def index_path(node):
    return '>'.join(str(n.index) for n in node.chain())


def escape_component(text):
    """A title or id as one component of a ``>`` path (``>`` doubled)."""
    return text.replace('>', '>>')


def split_target(spec):
    """Split a ``>`` path into components; ``>>`` is a literal ``>``."""
    comps, cur = [], []
    i = 0
    while i < len(spec):
        c = spec[i]
        if c == '>':
            if i + 1 < len(spec) and spec[i + 1] == '>':
                cur.append('>')
                i += 2
                continue
            comps.append(''.join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    comps.append(''.join(cur))
    return comps


def _after_separator(spec):
    """What GRUB passes into a submenu: the text after the first unescaped ``>``."""
    i = 0
    while i < len(spec):
        if spec[i] == '>':
            if i + 1 < len(spec) and spec[i + 1] == '>':
                i += 2
                continue
            return spec[i + 1:]
        i += 1
    return ''


def grub_strtoul(text):
    """GRUB's grub_strtoul(text, 0, 0): the number at the start of ``text`` or None when GRUB
    reports "unrecognized number". Trailing text is ignored, as GRUB ignores it (so GRUB reads a
    title such as ``2nd kernel`` as index 2)."""
    if text is None:
        return None
    i = 0
    while i < len(text) and text[i] in _GRUB_SPACE:
        i += 1
    base = 10
    if text[i:i + 1] == '0':
        if text[i + 1:i + 2] == 'x':
            base = 16
            i += 2
        elif text[i + 1:i + 2] and text[i + 1] in '01234567':
            base = 8
    digits = '0123456789abcdef'[:base]
    num, found = 0, False
    while i < len(text) and text[i].lower() in digits:
        num = num * base + digits.index(text[i].lower())
        found = True
        i += 1
    return num if found else None


def menuentry_eq(ident, spec):
    """GRUB's menuentry_eq(): does ``ident`` equal ``spec`` up to its first unescaped ``>``?"""
    if ident is None:
        return False
    i = j = 0
    while True:
        c1 = ident[i] if i < len(ident) else ''
        c2 = spec[j] if j < len(spec) else ''
        nxt = spec[j + 1] if j + 1 < len(spec) else ''
        if c2 == '>' and nxt != '>' and c1 == '':
            return True
        if c2 == '>' and nxt != '>':
            return False
        if c2 == '>':
            j += 1
        if c1 != c2:
            return False
        if c1 == '':
            return True
        i += 1
        j += 1


def default_info(menu, variables):
    """What GRUB boots by default and on the next boot, given grub.cfg and the env variables."""
    if menu is None:
        return {'source': None, 'value': None, 'entry': None}, {'value': variables.get(NEXT_ENTRY), 'entry': None}
    spec = menu.default_spec
    if menu.uses_saved_entry:
        source, value = SAVED_ENTRY, variables.get(SAVED_ENTRY)
    else:
        source, value = 'grub.cfg', spec
    node = menu.boots(value)
    default = {
        'source': source,
        'value': value,
        'matched': bool(value) and menu.grub_lookup(value) is not None,
        'entry': menu.describe(node) if node is not None else None,
    }
    nxt = variables.get(NEXT_ENTRY)
    if nxt and menu.consumes_next_entry:
        node = menu.boots(nxt)
        upcoming = {'value': nxt, 'matched': menu.grub_lookup(nxt) is not None,
                    'entry': menu.describe(node) if node is not None else None}
    else:
        upcoming = {'value': default['value'], 'matched': default['matched'], 'entry': default['entry']}
    return default, upcoming
