# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The menu: one entry per operation, each a playbook of the collection run on one store or machine.
The keys are the old menu's numbers where it had the item."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    key: str                    # what the operator types: '1', '112', 'p'
    label: str
    playbook: str               # file under playbooks/ ('' for connect, which opens a shell)
    kind: str = 'store'         # 'store' or 'machine'
    extravars: dict = field(default_factory=dict)
    guarded: bool = False       # deletes or interrupts service: the store id must be typed first
    check_mode: bool = True     # the playbook supports --check ("what would this do")
    confirm_vars: tuple = ()    # extra vars that must name the store (the playbook's own confirmation)
    limit: bool = True          # run with -l <host> (build media runs on the build hosts)
    note: str = ''              # one line shown before running


ACTIONS = (
    Action('1', 'POS Status', 'pos_status.yml', check_mode=False),
    Action('2', 'Start POS', 'pos_start.yml'),
    Action('3', 'Stop POS', 'pos_stop.yml', guarded=True, note='The store cannot sell in the cloud until it is started again.'),
    Action('4', 'Connect to POS', '', check_mode=False, note='A shell in the POS instance; leave it with exit.'),
    Action('5', 'Restore POS Data', 'restore_data.yml', guarded=True,
           note='The live data is kept as a pre-restore set until the restored instance is healthy.'),
    Action('6', 'Back up POS Data', 'backup_data.yml'),
    Action('7', 'Delete POS Data', 'pos_delete_data.yml', guarded=True,
           confirm_vars=('pos_instance_delete_data_confirm',), note='Removes the instance and its data volumes.'),
    Action('11', 'List Images', 'images.yml', check_mode=False, limit=False),
    Action('12', 'Build OS Media', 'build_media.yml', limit=False),
    Action('13', 'Stage POS', 'stage_pos.yml'),
    Action('14', 'Delete Image(s) of the store', 'delete_images.yml', guarded=True, limit=False),
    Action('15', 'Test Print', 'test_print.yml', check_mode=False),
    Action('16', 'Deploy POS (cutover)', 'deploy_pos.yml', guarded=True,
           note='Moves the store from its physical server to the cloud; a window of seconds without sales.'),
    Action('111', 'VPN Status', 'vpn.yml', extravars={'vpn_action': 'status'}, check_mode=False),
    Action('112', 'Create VPN', 'vpn.yml', extravars={'vpn_action': 'create'}),
    Action('113', 'Start VPN(s)', 'vpn.yml', extravars={'vpn_action': 'start'}),
    Action('114', 'Stop VPN(s)', 'vpn.yml', extravars={'vpn_action': 'stop'}, guarded=True,
           note='The store loses its link to the cloud until the tunnels are started again.'),
    Action('115', 'Delete VPN(s)', 'vpn.yml', extravars={'vpn_action': 'delete'}, guarded=True),
    Action('p', 'Purge All', 'purge.yml', guarded=True, confirm_vars=('pos_instance_purge_confirm',),
           note='Removes the instance, its snapshots and its cloud network; the data volumes stay.'),
    Action('k', 'Kernel upgrade', 'kernel_upgrade.yml', kind='machine', guarded=True,
           note='Reboots the machine: a one-time network boot, a trial boot of the new kernel, automatic fallback.'),
    Action('s', 'Software update', 'software_update.yml', kind='machine', guarded=True,
           note='Services held while the release installs; rolled back by hash on any failure.'),
)


def menu(kind):
    """The actions offered on a store's or a machine's screen, in menu order."""
    return [a for a in ACTIONS if a.kind == kind]


def by_key(key, kind='store'):
    for action in menu(kind):
        if action.key == key:
            return action
    return None


def run_request(action, host, check=False, extra=None):
    """What to run for an action: the playbook, the limit, the extra vars and the options.
    A guarded action's playbook confirmation variables are set to the store id the operator typed
    (the caller only gets here once the id was typed and matched)."""
    extravars = dict(action.extravars)
    for name in action.confirm_vars:
        extravars[name] = host.ident
    if action.playbook == 'delete_images.yml':
        extravars['os_media_delete_store'] = host.ident
    extravars.update(extra or {})
    cmdline = []
    if check:
        cmdline += ['--check', '--diff']
    return {'playbook': action.playbook, 'limit': host.name if action.limit else None,
            'extravars': extravars, 'cmdline': cmdline}


def confirmed(host, typed):
    """A guarded action goes ahead only when the operator typed the store id (or machine name) exactly."""
    return typed.strip() == host.ident
