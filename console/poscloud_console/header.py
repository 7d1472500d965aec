# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store header, read by playbooks/pos_status.yml (the collection's own status modules): the
console does nothing a playbook does not do."""
from poscloud_console.actions import by_key, run_request
from poscloud_console.project import ConsoleError
from poscloud_console.runner import PlaybookRun

FIELDS = (('Status', 'status'), ('Type', 'type'), ('Image', 'image'), ('POS IP', 'pos_ip'),
          ('Free', 'free'), ('Patchd', 'patched'), ('Health', 'health'))


def header_lines(header):
    """The header as the old menu showed it, one line per field and one per tunnel."""
    lines = ['%s' % (header.get('name') or '-'), '%s' % header.get('store', '')]
    for label, key in FIELDS:
        lines.append('%-6s: %s' % (label, header.get(key) if header.get(key) not in (None, '') else '-'))
    note = header.get('tunnels_note') or ''
    lines.append('VPNs  :' + (' ' + note if note else ''))
    for tunnel in header.get('tunnels') or []:
        lines.append('    ' + tunnel.get('line', tunnel.get('name', '')))
    return lines


def read_header(root, inventory, host, on_line=None):
    """Run the POS status playbook for one store and return its pos_status_header fact."""
    run = PlaybookRun(root, inventory, run_request(by_key('1'), host), 'status', on_line=on_line,
                      watch_fact='pos_status_header').start()
    run.wait()
    if run.rc != 0 or not isinstance(run.fact, dict):
        failed = [line for line in run.lines if line.status in ('failed', 'unreachable')]
        why = failed[-1].message if failed else 'the status playbook ended with rc %s' % run.rc
        raise ConsoleError('store %s: status could not be read: %s (log: %s)' % (host.ident, why, run.private_dir))
    return run.fact
