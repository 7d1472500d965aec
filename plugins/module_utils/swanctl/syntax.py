# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The syntax check of the whole swanctl configuration, and what a load printed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class _Token(object):
    __slots__ = ('kind', 'text', 'where')

    def __init__(self, kind, text, where):
        self.kind = kind
        self.text = text
        self.where = where


def _tokens(path, read, glob, depth=0):
    """Tokens of strongSwan's settings syntax (as its flex lexer makes them), includes spliced in.

    Yields NAME, VALUE, LBRACE, RBRACE, EQ, NEWLINE and ERROR tokens; ``where`` is 'file:line'.
    """
    if depth > 10:
        yield _Token('ERROR', 'includes nested too deeply', path)
        return
    text = read(path)
    if text is None:
        return
    base = path.rsplit('/', 1)[0] if '/' in path else '.'
    i = 0
    line = 1
    n = len(text)
    while i < n:
        c = text[i]
        where = '%s:%d' % (path, line)
        if c in ' \t\r':
            i += 1
        elif c == '#':
            while i < n and text[i] != '\n':
                i += 1
        elif c == '\n':
            yield _Token('NEWLINE', c, where)
            line += 1
            i += 1
        elif c in '{}':
            yield _Token('LBRACE' if c == '{' else 'RBRACE', c, where)
            i += 1
        elif c == '"':
            yield _Token('ERROR', 'unexpected string', where)
            return
        elif c == '=':
            yield _Token('EQ', c, where)
            i += 1
            # the value runs to the end of the line, a comment or a closing brace
            while i < n and text[i] not in '\n#}':
                if text[i] == '"':
                    i += 1
                    while True:
                        if i >= n:
                            yield _Token('ERROR', 'unterminated string', where)
                            return
                        if text[i] == '\\':
                            if i + 1 < n and text[i + 1] == '\n':
                                line += 1
                            i += 2
                            continue
                        if text[i] == '\n':
                            line += 1
                        if text[i] == '"':
                            i += 1
                            break
                        i += 1
                else:
                    i += 1
            yield _Token('VALUE', '', where)
        else:
            m = re.compile(r'[^#{}="\r\n\t ]+').match(text, i)
            word = m.group(0)
            i = m.end()
            if word == 'include' and i < n and text[i] in ' \t' and not re.match(r'[ \t]*=', text[i:]):
                m = re.compile(r'[ \t]+((?:\\.|[^#}\r\n])*)').match(text, i)
                pattern = m.group(1).strip()
                i = m.end()
                if pattern.startswith('"') and pattern.endswith('"') and len(pattern) > 1:
                    pattern = pattern[1:-1]
                if not pattern.startswith('/'):
                    pattern = base + '/' + pattern
                for included in sorted(glob(pattern)):
                    yield from _tokens(included, read, glob, depth + 1)
                continue
            yield _Token('NAME', word, where)


def settings_syntax_errors(path, read, glob):
    """Syntax errors of a strongSwan settings file and everything it includes.

    ``read(path)`` returns a file's text (None when missing) and ``glob(pattern)`` the matching paths,
    so the check needs no file system of its own. Returns a list of 'file:line: problem' strings.

    swanctl itself does not stop at a syntax error: ``--load-conns`` then sees no connection at all and
    unloads every loaded one. This check runs first so that a broken file fails the task instead.
    """
    errors = []
    opened = []  # (name, where) of the sections not closed yet
    pending = None  # a NAME waiting for '=' or '{'
    pending_where = None
    last = path
    for tok in _tokens(path, read, glob):
        last = tok.where
        if tok.kind == 'ERROR':
            errors.append('%s: %s' % (tok.where, tok.text))
            return errors
        if pending is not None:
            if tok.kind == 'EQ':
                pending = 'value'
                continue
            if tok.kind == 'VALUE' and pending == 'value':
                pending = None
                continue
            if tok.kind == 'LBRACE' and pending != 'value':
                opened.append((pending, pending_where))
                pending = None
                continue
            if pending == 'value':
                pending = None
            else:
                errors.append("%s: %r is followed by neither '=' nor '{'" % (tok.where, pending))
                return errors
        if tok.kind == 'NAME':
            pending = tok.text
            pending_where = tok.where
        elif tok.kind == 'RBRACE':
            if not opened:
                errors.append("%s: '}' without a section to close" % tok.where)
                return errors
            opened.pop()
        elif tok.kind in ('LBRACE', 'EQ', 'VALUE'):
            errors.append("%s: unexpected %r" % (tok.where, tok.text or tok.kind))
            return errors
    if pending not in (None, 'value'):
        errors.append("%s: %r is followed by neither '=' nor '{'" % (last, pending))
    for name, where in opened:
        errors.append("%s: section %r is not closed with '}' before the end of the configuration" % (where, name))
    return errors


def load_problems(name, what, rc, text, secret_expected=True):
    """Judge the output of ``swanctl --load-conns`` / ``--load-creds`` for tunnel ``name``.

    Returns ``(fatal, warnings)``: fatal problems concern the whole configuration or this tunnel;
    failures of other connections or credentials are only warnings.
    """
    fatal = []
    warnings = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if 'invalid config file' in line or 'syntax error' in line or line.startswith('parsing '):
            fatal.append(line)
    if what == 'conns':
        for line in lines:
            m = re.match(r"^loading connection '([^']*)' failed: (.*)$", line)
            if m and m.group(1) == name:
                fatal.append(line)
            elif m:
                warnings.append('another connection failed to load: %s' % line)
    else:
        loaded = any(re.match(r"^loaded (?:ike|eap|xauth|ntlm|ppk|private key|shared key)?\s*secret '%s'" % re.escape('ike-' + name),
                              line) for line in lines)
        for line in lines:
            if 'failed' in line:
                if ('ike-' + name) in line:
                    fatal.append(line)
                else:
                    warnings.append('loading credentials: %s' % line)
        if secret_expected and not loaded and not fatal and rc != 0:
            fatal.append('swanctl --load-creds failed (rc=%d) and did not report the secret ike-%s as loaded'
                         % (rc, name))
    if rc != 0 and not fatal and not warnings:
        fatal.append('swanctl --load-%s failed (rc=%d): %s' % (what, rc, ' | '.join(lines[-5:])))
    return fatal, warnings
