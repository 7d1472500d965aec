# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""demo-pos: a small, real point-of-sale stand-in for the poscloud.fleet lab.

It records sales transactions in SQLite and as receipt files under its data path, serves a
health/summary endpoint with the transaction count and a digest of the data, and prints receipts
to a network printer over raw TCP (port 9100).

HTTP API (JSON):
  GET  /health       {"status": "ok", "store": ..., "version": ..., "transactions": N, "digest": ...}
  POST /sale         {"amount_cents": 1299, "items": ["rose bouquet"]} -> {"id": N, "printed": bool}
  POST /print-test   prints a test page -> {"printed": true, "bytes": N, "printer": "host:port"}

Configuration: /etc/demo-pos/posd.json (or --config), keys: store_id, data_dir, listen_host,
listen_port, printer_host, printer_port.
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = '1.0.1'
DEFAULTS = {
    'store_id': '00000000',
    'data_dir': '/usr2/pos',
    'listen_host': '0.0.0.0',
    'listen_port': 8080,
    'printer_host': '',
    'printer_port': 9100,
}
SCHEMA = '''
CREATE TABLE IF NOT EXISTS sales (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    items TEXT NOT NULL,
    receipt TEXT NOT NULL
);
'''


class Store(object):
    def __init__(self, config):
        self.config = config
        self.data_dir = config['data_dir']
        self.db_path = os.path.join(self.data_dir, 'db', 'pos.db')
        self.lock = threading.Lock()
        os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
        os.makedirs(os.path.join(self.data_dir, 'receipts'), exist_ok=True)
        self.db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.db.execute('PRAGMA journal_mode=WAL')
        self.db.execute('PRAGMA synchronous=FULL')
        self.db.executescript(SCHEMA)

    def summary(self):
        with self.lock:
            rows = self.db.execute('SELECT id, ts, amount_cents, items, receipt FROM sales ORDER BY id').fetchall()
        digest = hashlib.sha256()
        for row in rows:
            digest.update(('%s|%s|%s|%s|%s\n' % row).encode('utf-8'))
        return {'status': 'ok', 'store': self.config['store_id'], 'version': VERSION,
                'transactions': len(rows), 'digest': digest.hexdigest()}

    def record(self, amount_cents, items):
        if not isinstance(amount_cents, int) or amount_cents < 0:
            raise ValueError('amount_cents must be a non-negative integer')
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError('items must be a list of strings')
        ts = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        with self.lock:
            cur = self.db.execute('SELECT COALESCE(MAX(id), 0) + 1 FROM sales')
            sale_id = cur.fetchone()[0]
            day = ts[:10].replace('-', '/')
            receipt = os.path.join('receipts', day, '%08d.txt' % sale_id)
            text = render_receipt(self.config['store_id'], sale_id, ts, amount_cents, items)
            path = os.path.join(self.data_dir, receipt)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path)
            # The row is committed only after its receipt file is durable.
            self.db.execute('INSERT INTO sales (id, ts, amount_cents, items, receipt) VALUES (?, ?, ?, ?, ?)',
                            (sale_id, ts, amount_cents, json.dumps(items), receipt))
        return sale_id, text


def render_receipt(store, sale_id, ts, amount_cents, items):
    lines = ['STORE %s' % store, 'SALE %08d  %s' % (sale_id, ts), '-' * 32]
    lines += ['  %s' % i for i in items]
    lines += ['-' * 32, 'TOTAL %d.%02d' % (amount_cents // 100, amount_cents % 100), '']
    return '\n'.join(lines)


def send_to_printer(config, text, timeout=5.0):
    host, port = config.get('printer_host'), int(config.get('printer_port') or 9100)
    if not host:
        return False, 0
    data = text.encode('utf-8') + b'\f'
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
    return True, len(data)


def make_handler(store, config):
    class Handler(BaseHTTPRequestHandler):
        server_version = 'demo-pos/' + VERSION

        def log_message(self, fmt, *args):  # quieter log: one line per request
            sys.stderr.write('posd: %s %s\n' % (self.address_string(), fmt % args))

        def reply(self, code, body):
            data = json.dumps(body, sort_keys=True).encode('utf-8')
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path in ('/health', '/summary'):
                self.reply(200, store.summary())
            else:
                self.reply(404, {'error': 'not found'})

        def do_POST(self):
            length = int(self.headers.get('Content-Length') or 0)
            try:
                body = json.loads(self.rfile.read(length) or b'{}')
            except ValueError:
                return self.reply(400, {'error': 'body is not JSON'})
            if self.path == '/sale':
                try:
                    sale_id, text = store.record(body.get('amount_cents'), body.get('items', []))
                except ValueError as e:
                    return self.reply(400, {'error': str(e)})
                printed = False
                try:
                    printed, dummy = send_to_printer(config, text, timeout=1.0)
                except OSError:
                    printed = False
                return self.reply(200, {'id': sale_id, 'printed': printed})
            if self.path == '/print-test':
                now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
                text = 'TEST PAGE\nSTORE %s\n%s\n%s\n' % (config['store_id'], now, body.get('note', ''))
                try:
                    printed, size = send_to_printer(config, text)
                except OSError as e:
                    return self.reply(502, {'printed': False, 'error': str(e)})
                if not printed:
                    return self.reply(409, {'printed': False, 'error': 'no printer configured'})
                return self.reply(200, {'printed': True, 'bytes': size,
                                        'printer': '%s:%s' % (config['printer_host'], config['printer_port'])})
            return self.reply(404, {'error': 'not found'})
    return Handler


class Server(ThreadingHTTPServer):
    """HTTP server that starts at once: the standard one looks its own name up in DNS on bind,
    which stalls for the resolver's timeout on a network without DNS (a store's cloud net)."""

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


def load_config(path):
    config = dict(DEFAULTS)
    if path and os.path.exists(path):
        with open(path) as f:
            config.update(json.load(f))
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='/etc/demo-pos/posd.json')
    parser.add_argument('--summary', action='store_true', help='print the summary of the data and exit')
    args = parser.parse_args(argv)
    config = load_config(args.config)
    store = Store(config)
    if args.summary:
        print(json.dumps(store.summary(), sort_keys=True))
        return 0
    server = Server((config['listen_host'], int(config['listen_port'])), make_handler(store, config))

    def stop(signum, frame):
        threading.Thread(target=server.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write('posd: store %s serving on %s:%s, data in %s\n' % (
        config['store_id'], config['listen_host'], config['listen_port'], config['data_dir']))
    server.serve_forever()
    server.server_close()
    store.db.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
