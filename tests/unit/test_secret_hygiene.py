"""Secrets leave no trace in the roles: no loop item holds one, the support users' password
hashes go in on standard input, the maintenance environment's initramfs holds no private key, and
deleting a store's data deletes its tunnels' keys."""
import glob
import os
import re

import pytest
import yaml

from ansible_collections.poscloud.fleet.tests.unit.yaml_tasks import all_tasks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Variables that hold a secret, or a list whose entries may carry one (a tunnel of
# ipsec_vpn_tunnels may have a psk of its own, a support user a password hash). The lab router's
# tunnels (store_lab_router_tunnels) hold none: their key is store_lab_psk.
SECRET_RE = re.compile(r'psk|password|passwd|secret|vault_|support_users|ipsec_vpn_tunnels|private_key|token')
LOOP_KEYS = ('loop', 'with_items', 'with_list', 'with_dict', 'with_subelements', 'with_nested')


def loop_expression(task):
    for key in LOOP_KEYS:
        if key in task:
            value = task[key]
            return value if isinstance(value, str) else yaml.safe_dump(value)
    return None


def leaks(task):
    """Why a task's loop items could carry a secret into its output, or None."""
    expression = loop_expression(task)
    if expression is None or task.get('no_log') is True:
        return None
    if not SECRET_RE.search(expression):
        return None
    # Items that are names only (the secret is looked up inside the task) carry nothing.
    if re.search(r"map\(attribute=['\"]name['\"]\)\s*(\|\s*list\s*)?\}\}\s*$", expression.strip()):
        return None
    return 'loop over %s' % expression.strip()


def role_task_files():
    return sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks', '*.yml'))
                  + glob.glob(os.path.join(ROOT, 'roles', '*', 'handlers', '*.yml')))


def load(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle) or []


def test_the_loop_check_finds_an_item_that_holds_a_secret():
    assert leaks({'name': 'x', 'loop': '{{ ipsec_vpn_tunnels }}', 'loop_control': {'label': '{{ item.name }}'}})
    assert leaks({'name': 'x', 'loop': "{{ pos_stage_support_users | selectattr('password_hash', 'defined') | list }}"})
    assert leaks({'name': 'x', 'loop': "{{ ipsec_vpn_tunnels | map(attribute='name') | list }}"}) is None
    assert leaks({'name': 'x', 'loop': '{{ ipsec_vpn_tunnels }}', 'no_log': True}) is None
    assert leaks({'name': 'x', 'loop': '{{ os_media_images }}'}) is None


@pytest.mark.parametrize('path', role_task_files(), ids=lambda p: os.path.relpath(p, os.path.join(ROOT, 'roles')))
def test_no_loop_item_carries_a_secret(path):
    found = ['%s: %s' % (task.get('name', '?'), leaks(task)) for task in all_tasks(load(path)) if leaks(task)]
    assert not found, found


def test_password_hashes_never_reach_a_command_line():
    for path in role_task_files():
        for task in all_tasks(load(path)):
            for module in ('community.docker.docker_container_exec', 'ansible.builtin.command'):
                args = task.get(module)
                if isinstance(args, dict):
                    line = yaml.safe_dump({k: v for k, v in args.items() if k not in ('stdin', 'env')})
                    assert 'password_hash' not in line, (path, task.get('name'))
    access = load(os.path.join(ROOT, 'roles', 'pos_stage', 'tasks', 'access.yml'))
    setting = [t for t in all_tasks(access) if 'password_hash' in yaml.safe_dump(t)]
    assert setting and all(t.get('no_log') is True for t in setting)
    assert any('chpasswd' in yaml.safe_dump(t) and 'stdin' in t['community.docker.docker_container_exec']
               for t in setting)


def test_the_maintenance_environment_image_holds_no_private_host_key():
    with open(os.path.join(ROOT, 'roles', 'netboot', 'files', 'build-netboot.sh'), encoding='utf-8') as handle:
        script = handle.read()
    build, init = script.split("cat >\"$root/init\" <<'INIT'", 1)
    init = init.split('\nINIT\n', 1)[0]
    # The build removes the root's host keys and makes none. At boot the environment takes the
    # machine's own key from its disk (read-only), or makes a new one in memory, before sshd starts.
    assert 'rm -f "$root"/etc/ssh/ssh_host_*' in build
    assert 'ssh-keygen' not in re.sub(r'(?m)^\s*#.*$', '', build)
    sshd = init.index('/usr/sbin/sshd')
    assert init.index('mount -o ro,noload') < init.index('cp "/run/disk/etc/ssh/$f"') < init.index('umount /run/disk') < sshd
    assert init.index('ssh-keygen -q -t ed25519') < sshd


def test_deleting_a_stores_data_deletes_its_tunnel_volume():
    tasks = list(all_tasks(load(os.path.join(ROOT, 'roles', 'pos_instance', 'tasks', 'delete_data.yml'))))
    volumes = [t for t in tasks if t.get('community.docker.docker_volume', {}).get('state') == 'absent']
    # The swanctl volume, named as the instance mounts it (pos_instance_vpn_volume) and the ipsec_vpn docs name it.
    loop = ' '.join(loop_expression(t) or '' for t in volumes)
    assert "'_swanctl'" in loop and 'pos_instance_vpn_volume' in loop, volumes
    with open(os.path.join(ROOT, 'roles', 'pos_instance', 'defaults', 'main.yml'), encoding='utf-8') as handle:
        defaults = yaml.safe_load(handle)
    assert "'pos_' ~ store_id ~ '_swanctl'" in defaults['pos_instance_vpn_volume']
    with open(os.path.join(ROOT, 'roles', 'pos_instance', 'tasks', 'main.yml'), encoding='utf-8') as handle:
        assert "'source': pos_instance_vpn_volume, 'target': '/etc/swanctl/conf.d'" in handle.read()
