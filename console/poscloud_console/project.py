# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the playbooks are, which inventory is used, and the stores and machines it names."""
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field


class ConsoleError(Exception):
    """Something the operator must fix; the message says what and how."""


def project_root():
    """The checkout the console runs the playbooks of: POSCLOUD_HOME, else the one it ships in."""
    root = os.environ.get('POSCLOUD_HOME') or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not os.path.isfile(os.path.join(root, 'galaxy.yml')) or not os.path.isdir(os.path.join(root, 'playbooks')):
        raise ConsoleError('%s is not a poscloud.fleet checkout (no galaxy.yml or playbooks/); set POSCLOUD_HOME to one' % root)
    return root


def environment(root):
    """The environment the playbooks run in: the checkout's ansible.cfg and collections path, and this
    venv's commands first on PATH (the console may be started as .venv/bin/poscloud)."""
    env = dict(os.environ)
    env['ANSIBLE_CONFIG'] = os.path.join(root, 'ansible.cfg')
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(root, '.collections')
    env['PATH'] = os.path.join(sys.prefix, 'bin') + os.pathsep + env.get('PATH', '')
    env.setdefault('ANSIBLE_FORCE_COLOR', '0')
    env['ANSIBLE_NOCOLOR'] = '1'
    return env


@dataclass
class Host:
    """A store or a machine of the inventory."""
    name: str            # inventory host name: store_12345678, machine01
    kind: str            # 'store' or 'machine'
    ident: str           # the store id, or the machine's name
    title: str           # the store's name, or the machine's description
    pos_ip: str = ''
    groups: list = field(default_factory=list)

    def matches(self, text):
        text = text.strip().lower()
        return not text or text in self.ident.lower() or text in self.title.lower() or text in self.name.lower()


def resolve_inventory(root, inventory=None):
    path = inventory or os.environ.get('POSCLOUD_INVENTORY') or os.path.join(root, 'inventories', 'lab')
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    if not os.path.exists(path):
        raise ConsoleError('inventory %s does not exist; pass --inventory PATH (the lab is inventories/lab)' % path)
    return path


def _plain(value):
    """An inventory value as text, or '' when it is a template the inventory does not resolve alone."""
    if isinstance(value, (str, int)) and '{{' not in str(value):
        return str(value)
    return ''


def parse_inventory(data):
    """`ansible-inventory --list` output -> the stores (group stores) and machines (group machines)."""
    hostvars = data.get('_meta', {}).get('hostvars', {})

    def members(group, seen=None):
        seen = seen if seen is not None else set()
        if group in seen:
            return []
        seen.add(group)
        g = data.get(group, {})
        hosts = list(g.get('hosts', []))
        for child in g.get('children', []):
            hosts += members(child, seen)
        return hosts

    groups_of = {}
    for group in data:
        if group != '_meta':
            for h in data[group].get('hosts', []):
                groups_of.setdefault(h, []).append(group)
    hosts = []
    for name in sorted(set(members('stores'))):
        hv = hostvars.get(name, {})
        ident = _plain(hv.get('store_id')) or (name[len('store_'):] if name.startswith('store_') else name)
        hosts.append(Host(name=name, kind='store', ident=ident, title=_plain(hv.get('store_name')),
                          pos_ip=_plain(hv.get('store_pos_ip')), groups=sorted(groups_of.get(name, []))))
    for name in sorted(set(members('machines'))):
        hv = hostvars.get(name, {})
        hosts.append(Host(name=name, kind='machine', ident=name, title=_plain(hv.get('machine_description')),
                          pos_ip=_plain(hv.get('ansible_host')), groups=sorted(groups_of.get(name, []))))
    return hosts


def load_hosts(root, inventory):
    proc = subprocess.run(['ansible-inventory', '-i', inventory, '--list'], env=environment(root),
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ['(no message)'])[-1]
        raise ConsoleError('the inventory %s could not be read: %s' % (inventory, last))
    return parse_inventory(json.loads(proc.stdout))


def find_store(hosts, ident):
    """The store with this id (or inventory name); ConsoleError naming the known ones when none."""
    for h in hosts:
        if h.kind == 'store' and ident in (h.ident, h.name):
            return h
    known = ', '.join(h.ident for h in hosts if h.kind == 'store') or 'none'
    raise ConsoleError('no store %s in the inventory; its stores are: %s' % (ident, known))
