# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""grub.cfg split into words the way GRUB's script lexer does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.poscloud.fleet.plugins.module_utils.grub.constants import GrubConfigError


class _Word(object):
    """One shell word of grub.cfg: its value with quotes removed and escapes resolved.

    Variable references are kept as written (``$x``, ``${x}``); ``var`` is the variable's name when
    the whole word is a single reference, ``plain`` is true when the word had no quotes, escapes or
    references (only plain words are keywords).
    """

    __slots__ = ('value', 'var', 'plain', 'line')

    def __init__(self, value, var, plain, line):
        self.value = value
        self.var = var
        self.plain = plain
        self.line = line

    def __repr__(self):
        return '_Word(%r)' % self.value


def _read_var(text, i):
    """At ``text[i] == '$'``: return (reference text, variable name or None, next index)."""
    n = len(text)
    if i + 1 < n and text[i + 1] == '{':
        j = text.find('}', i + 2)
        if j < 0:
            raise GrubConfigError('grub.cfg: unterminated ${ at line %d' % (text.count('\n', 0, i) + 1))
        return text[i:j + 1], text[i + 2:j], j + 1
    m = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#@*]').match(text, i + 1)
    if m:
        return text[i:m.end()], m.group(0), m.end()
    return '$', None, i + 1


def _take_var(text, i, parts, refs, only_ref):
    """Read the reference at ``text[i] == '$'`` into a word: its text onto ``parts``, the variable it
    names onto ``refs``. Return the next index and whether the word can still be a lone reference
    (``only_ref``, and the ``$`` named a variable)."""
    ref, name, i = _read_var(text, i)
    parts.append(ref)
    if name is None:
        return i, False
    refs.append(name)
    return i, only_ref


def tokenize(text):
    """Tokens of GRUB script: ('word', _Word), ('sep',), ('lbrace',), ('rbrace',), ('op', c).

    Each token is ``(kind, value, line)``. Handles single quotes (literal), double quotes (with
    backslash escapes of $ " \\ and newline), backslash escapes and line continuations outside
    quotes, ``#`` comments at the start of a word and ``${...}`` references (whose braces are not
    blocks).
    """
    tokens = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c in ' \t\r':
            i += 1
            continue
        if c == '\\' and i + 1 < n and text[i + 1] == '\n':
            i += 2
            line += 1
            continue
        if c == '\n' or c == ';':
            tokens.append(('sep', c, line))
            if c == '\n':
                line += 1
            i += 1
            continue
        if c == '#':
            j = text.find('\n', i)
            i = n if j < 0 else j
            continue
        if c == '{':
            tokens.append(('lbrace', c, line))
            i += 1
            continue
        if c == '}':
            tokens.append(('rbrace', c, line))
            i += 1
            continue
        if c in '|&<>':
            tokens.append(('op', c, line))
            i += 1
            continue
        start_line = line
        parts = []
        refs = []
        plain = True
        only_ref = True
        while i < n:
            c = text[i]
            if c in ' \t\r\n;{}|&<>':
                break
            if c == '\\':
                plain = False
                only_ref = False
                if i + 1 < n:
                    if text[i + 1] == '\n':
                        line += 1
                    else:
                        parts.append(text[i + 1])
                    i += 2
                else:
                    parts.append('\\')
                    i += 1
                continue
            if c == "'":
                plain = False
                j = text.find("'", i + 1)
                if j < 0:
                    raise GrubConfigError('grub.cfg: unterminated single quote starting at line %d' % line)
                segment = text[i + 1:j]
                if segment:
                    only_ref = False
                line += segment.count('\n')
                parts.append(segment)
                i = j + 1
                continue
            if c == '"':
                plain = False
                quote_line = line
                i += 1
                while True:
                    if i >= n:
                        raise GrubConfigError('grub.cfg: unterminated double quote starting at line %d' % quote_line)
                    c = text[i]
                    if c == '"':
                        i += 1
                        break
                    if c == '\\' and i + 1 < n and text[i + 1] in '$"\\\n':
                        only_ref = False
                        if text[i + 1] == '\n':
                            line += 1
                        else:
                            parts.append(text[i + 1])
                        i += 2
                        continue
                    if c == '$':
                        i, only_ref = _take_var(text, i, parts, refs, only_ref)
                        continue
                    if c == '\n':
                        line += 1
                    only_ref = False
                    parts.append(c)
                    i += 1
                continue
            if c == '$':
                plain = False
                i, only_ref = _take_var(text, i, parts, refs, only_ref)
                continue
            only_ref = False
            parts.append(c)
            i += 1
        var = refs[0] if only_ref and len(refs) == 1 else None
        tokens.append(('word', _Word(''.join(parts), var, plain, start_line), start_line))
    return tokens
