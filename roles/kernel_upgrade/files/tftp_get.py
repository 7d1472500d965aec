#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fetch one file from a TFTP server (RFC 1350, octet mode) and print it: the health check's test
of the machine's connection to the build server's boot service.

    tftp_get.py SERVER FILENAME [TIMEOUT]
"""
import socket
import struct
import sys


def main():
    server, name = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(b'\x00\x01' + name.encode() + b'\x00octet\x00', (server, 69))
    data, expected = b'', 1
    while True:
        packet, peer = s.recvfrom(4 + 512)
        opcode, number = struct.unpack('!HH', packet[:4])
        if opcode == 5:
            sys.stderr.write('TFTP error %d: %s\n' % (number, packet[4:].rstrip(b'\x00').decode('utf-8', 'replace')))
            return 1
        if opcode != 3:
            continue
        if number == expected:
            data += packet[4:]
            expected = (expected + 1) % 65536
        s.sendto(struct.pack('!HH', 4, number), peer)
        if len(packet) - 4 < 512:
            break
    sys.stdout.write(data.decode('utf-8', 'replace'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
