"""The fleet status report as an assessor opens it: the role's report tasks run over three stores
(one compliant, one on old media, one with no backup and weak tunnel crypto), and the HTML page,
opened in headless Chromium, shows the table with the flagged cells coloured and sorts it without a
network."""
import html.parser
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from browser import render  # noqa: E402 pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, '.venv', 'bin')
SCREENSHOTS = os.path.join(ROOT, 'tests', 'output', 'screenshots')

GOOD = {'instance': {'state': 'running', 'patch_level': '2026-11-28T09:00:00Z', 'snapshot': 'poscloud/store-1:x',
                     'held': []},
        'tunnels': [{'name': 'phonehome', 'state': 'ESTABLISHED', 'up': True,
                     'ike_proposal': 'AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384', 'esp_proposal': 'AES_GCM_16_256'}],
        'backup': {'set': '20261204T020000Z', 'made': '2026-12-04T02:00:00Z', 'manifest_digest': 'd'},
        'cutover': {'outcome': 'completed', 'finished': '2026-11-30T21:00:00Z'}}
OLD_MEDIA = dict(GOOD, instance=dict(GOOD['instance'], patch_level='2026-08-01T00:00:00Z'))
CLASSIC = {'name': 'phonehome', 'state': 'ESTABLISHED', 'up': True,
           'ike_proposal': 'AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024', 'esp_proposal': 'AES_CBC_128/HMAC_SHA1_96'}
NO_BACKUP = dict(GOOD, backup={}, tunnels=[CLASSIC])

PLAY = '''---
- name: Report over three stores
  hosts: all
  gather_facts: false
  tasks:
    - name: The row store_status would give
      ansible.builtin.set_fact:
        fleet_status_row: "{{ rows[inventory_hostname] }}"
        fleet_status_media_ref: ""

    - name: Write the report
      ansible.builtin.include_role:
        name: poscloud.fleet.fleet_status
        tasks_from: report
      run_once: true
'''


class Cells(html.parser.HTMLParser):
    """(store, data-flag, class, text) of every flag cell of the table body, in document order."""

    def __init__(self):
        super().__init__()
        self.cells, self.store, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'tr' and 'data-store' in a:
            self.store = a['data-store']
        elif tag == 'td' and self.store and 'data-flag' in a:
            self.cell = [self.store, a['data-flag'], a.get('class', ''), '']

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[3] += data

    def handle_endtag(self, tag):
        if tag == 'td' and self.cell is not None:
            self.cells.append(tuple(self.cell))
            self.cell = None
        elif tag == 'tr':
            self.store = None


def cells(page):
    parser = Cells()
    parser.feed(page)
    return parser.cells


def test_the_html_report_shows_the_flagged_cells_and_sorts_in_a_browser(tmp_path):
    rows = {'store_1': dict(GOOD, host='store_1', store='1', name='Good', error=''),
            'store_2': dict(OLD_MEDIA, host='store_2', store='2', name='Old media', error=''),
            'store_3': dict(NO_BACKUP, host='store_3', store='3', name='No backup', error='')}
    inventory = tmp_path / 'hosts.yml'
    hosts = dict((h, {'store_id': r['store'], 'store_name': r['name']}) for h, r in rows.items())
    inventory.write_text(json.dumps({'all': {'hosts': hosts}}))
    play = tmp_path / 'report.yml'
    play.write_text(PLAY)
    reports = tmp_path / 'reports'
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), '-c', 'local', str(play),
                           '-e', json.dumps({'rows': rows, 'poscloud_reports_dir': str(reports),
                                             'fleet_status_now': '2026-12-04T12:00:00Z',
                                             'ansible_python_interpreter': os.path.join(BIN, 'python')})],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'COMPLIANCE FLAGGED: 2 of 3 stores flagged (media patch level old 1, tunnel crypto outside the strong set 1, ' \
           'no recent verified backup 1)' in proc.stdout
    with open(str(reports / 'fleet' / 'fleet-status.json')) as f:
        report = json.load(f)
    assert report['totals']['flagged'] == 2 and report['totals']['by_flag']['backup_old'] == 1
    assert 'compliance flags' in (reports / 'fleet' / 'fleet-status.md').read_text()

    page = 'file://%s' % (reports / 'fleet' / 'fleet-status.html')
    shown = render(page, str(tmp_path / 'chromium'), os.path.join(SCREENSHOTS, 'fleet-status-unit.png'))
    flagged = set((s, f) for s, f, cls, text in cells(shown) if 'flag' in cls.split())
    assert flagged == {('2', 'media_old'), ('3', 'weak_tunnel'), ('3', 'backup_old')}, cells(shown)
    by = dict(((s, f), (cls, text)) for s, f, cls, text in cells(shown))
    assert by[('2', 'media_old')][1].startswith('patch level 2026-08-01T00:00:00Z is 125 days old')
    assert 'MODP_1024' in by[('3', 'weak_tunnel')][1] and by[('1', 'backup_old')] == ('ok', 'ok')
    assert 'COMPLIANCE FLAGGED' in shown
    # sorted by its last column (the number of flags), most first, by the page's own script
    shown = render(page + '#sort=12,desc', str(tmp_path / 'chromium'))
    order = [s for s, f, cls, text in cells(shown) if f == 'media_old']
    assert order == ['3', '2', '1'], order
