# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vici's wire format, enough to follow charon's log events without swanctl, and ``ViciLogTap``,
which follows them on the socket (the only part here that does I/O)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket

VICI_DEFAULT_URI = 'unix:///var/run/charon.vici'
VICI_CMD_REQUEST = 0
VICI_EVENT_REGISTER = 3
VICI_EVENT_UNREGISTER = 4
VICI_EVENT_CONFIRM = 5
VICI_EVENT_UNKNOWN = 6
VICI_EVENT = 7
_VICI_NAMED = (VICI_CMD_REQUEST, VICI_EVENT_REGISTER, VICI_EVENT_UNREGISTER, VICI_EVENT)


def vici_socket_path(uri):
    """The file of a ``unix://`` vici URI (swanctl's default when None); None for other schemes."""
    uri = uri or VICI_DEFAULT_URI
    if uri.startswith('unix://'):
        return uri[len('unix://'):]
    return None


def vici_packet(kind, name=None):
    """One vici packet (length-prefixed) of type ``kind``, named ``name``, with an empty message."""
    payload = bytearray([kind])
    if kind in _VICI_NAMED:
        raw = name.encode('ascii')
        payload.append(len(raw))
        payload += raw
    return bytes(bytearray(len(payload).to_bytes(4, 'big')) + payload)


def vici_split(buffer):
    """Split received bytes into complete packets: returns ``([(type, name, body bytes)], rest)``."""
    packets = []
    buffer = bytes(buffer)
    while len(buffer) >= 4:
        length = int.from_bytes(buffer[:4], 'big')
        if len(buffer) < 4 + length:
            break
        payload, buffer = buffer[4:4 + length], buffer[4 + length:]
        if not payload:
            continue
        kind = payload[0]
        name = None
        body = payload[1:]
        if kind in _VICI_NAMED and body:
            size = body[0]
            name = body[1:1 + size].decode('ascii', 'replace')
            body = body[1 + size:]
        packets.append((kind, name, body))
    return packets, buffer


def vici_message(body):
    """Decode a vici message body into a dict (sections are dicts, lists are lists of strings)."""
    root = {}
    stack = [root]
    current_list = None
    i = 0
    n = len(body)

    def text(raw):
        return raw.decode('utf-8', 'replace')
    while i < n:
        kind = body[i]
        i += 1
        if kind in (1, 3, 4):  # SECTION_START, KEY_VALUE, LIST_START carry a name
            size = body[i]
            name = text(body[i + 1:i + 1 + size])
            i += 1 + size
            if kind == 1:
                section = {}
                stack[-1][name] = section
                stack.append(section)
            elif kind == 3:
                size = int.from_bytes(body[i:i + 2], 'big')
                stack[-1][name] = text(body[i + 2:i + 2 + size])
                i += 2 + size
            else:
                current_list = []
                stack[-1][name] = current_list
        elif kind == 2:  # SECTION_END
            if len(stack) > 1:
                stack.pop()
        elif kind == 5:  # LIST_ITEM
            size = int.from_bytes(body[i:i + 2], 'big')
            if current_list is not None:
                current_list.append(text(body[i + 2:i + 2 + size]))
            i += 2 + size
        elif kind == 6:  # LIST_END
            current_list = None
        else:
            break
    return root


class ViciLogTap(object):
    """Follows charon's log events on the vici socket while the module waits for the peer.

    Only ``unix://`` URIs are followed; for others (and when the socket cannot be opened) nothing is
    recorded and the module falls back to I(log_path).
    """

    def __init__(self, uri):
        self.path = vici_socket_path(uri)
        self.sock = None
        self.buffer = b''
        self.events = []

    def start(self):
        if not self.path:
            return self
        sock = None
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(self.path)
            sock.sendall(vici_packet(VICI_EVENT_REGISTER, 'log'))
            confirmed = False
            while not confirmed:
                data = sock.recv(4096)
                if not data:
                    raise socket.error('vici closed the connection')
                self.buffer += data
                packets, self.buffer = vici_split(self.buffer)
                for kind, name, body in packets:
                    if kind == VICI_EVENT_CONFIRM:
                        confirmed = True
                    elif kind == VICI_EVENT_UNKNOWN:
                        raise socket.error('vici does not know the log event')
                    elif kind == VICI_EVENT and name == 'log':
                        self.events.append(('log', vici_message(body)))
            sock.setblocking(False)
            self.sock = sock
        except (socket.error, socket.timeout, OSError):
            if sock is not None:
                sock.close()
            self.sock = None
        return self

    def poll(self):
        if self.sock is None:
            return
        while True:
            try:
                data = self.sock.recv(65536)
            except (socket.error, OSError) as e:
                if getattr(e, 'errno', None) not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    self.close()
                break
            if not data:
                self.close()
                break
            self.buffer += data
        packets, self.buffer = vici_split(self.buffer)
        for kind, name, body in packets:
            if kind == VICI_EVENT and name == 'log':
                self.events.append(('log', vici_message(body)))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except (socket.error, OSError):
                pass
            self.sock = None

    def stop(self):
        """Read what is left, close the connection and return the log events seen."""
        self.poll()
        self.close()
        return self.events
