# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab network printer: a raw TCP 9100 sink that keeps every job as a file in /var/spool/labprinter."""
import os
import socketserver
import time

SPOOL = '/var/spool/labprinter'


class Job(socketserver.StreamRequestHandler):
    def handle(self):
        data = b''
        while True:
            chunk = self.rfile.read(65536)
            if not chunk:
                break
            data += chunk
        if not data:
            return
        name = '%s-%s-%d.job' % (time.strftime('%Y%m%dT%H%M%S'), self.client_address[0], time.monotonic_ns())
        tmp = os.path.join(SPOOL, '.' + name)
        with open(tmp, 'wb') as f:
            f.write(data)
        os.rename(tmp, os.path.join(SPOOL, name))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == '__main__':
    os.makedirs(SPOOL, exist_ok=True)
    Server(('0.0.0.0', 9100), Job).serve_forever()
