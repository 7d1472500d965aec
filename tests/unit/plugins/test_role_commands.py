"""Values reach commands as arguments: no command line built from a template in these roles' tasks.

A task may run a command as argv (a list, each value one argument), or as a string whose every
templated value is piped through ``quote``. Scripts run with ``sh -c`` take their values as
positional arguments ($1, "$@") or quoted, never as bare script text.
"""
import glob
import os
import re

import pytest
import yaml

from ansible_collections.poscloud.fleet.tests.unit.yaml_tasks import all_tasks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TASK_FILES = sorted(
    path for role in ('kernel_upgrade', 'disk_image', 'netboot', 'compile')
    for path in glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml'))) + [
    os.path.join(ROOT, 'roles', 'ipsec_vpn', 'tasks', 'stage.yml'),
    os.path.join(ROOT, 'roles', 'pos_stage', 'tasks', 'install.yml'),
]
# Roles whose build scripts run as argv: the script's path (under role_path) is one argument.
SCRIPT_ROLES = ('disk_image', 'netboot', 'compile')
STRING_COMMANDS = ('ansible.builtin.command', 'ansible.builtin.shell', 'ansible.builtin.script',
                   'ansible.builtin.raw', 'command', 'shell', 'script', 'raw')
SHELLS = ('sh', '/bin/sh', 'bash', '/bin/bash')


def unquoted(text):
    """The templated expressions in ``text`` that are not piped through quote."""
    return [e.strip() for e in re.findall(r'{{(.*?)}}', text, re.S) if not re.search(r'\|\s*quote\s*$', e.strip())
            and not re.search(r"map\('quote'\)\s*\|\s*join\(' '\)\s*$", e.strip())]


def problems(path):
    with open(path) as f:
        data = yaml.safe_load(f) or []
    found = []
    for task in all_tasks(data):
        name = task.get('name', '?')
        for key in STRING_COMMANDS:
            value = task.get(key)
            if isinstance(value, dict):
                value = value.get('cmd')
            if isinstance(value, str) and unquoted(value):
                found.append('%s: %s runs a command line with %s' % (name, key, unquoted(value)))
        exec_args = task.get('community.docker.docker_container_exec') or {}
        argv = exec_args.get('argv')
        if isinstance(argv, list) and len(argv) > 2 and argv[0] in SHELLS and str(argv[1]).startswith('-') \
                and unquoted(str(argv[2])):
            found.append('%s: the sh script carries %s' % (name, unquoted(str(argv[2]))))
        if isinstance(argv, str) and re.search(r"\[\s*'sh'\s*,\s*'-\w*c'\s*,\s*'[^']*{{", argv):
            found.append('%s: the sh script carries a templated value' % name)
    return found


@pytest.mark.parametrize('path', TASK_FILES, ids=[os.path.relpath(p, ROOT) for p in TASK_FILES])
def test_no_templated_command_line(path):
    assert problems(path) == []


def test_every_role_task_file_is_checked():
    for role in ('kernel_upgrade',) + SCRIPT_ROLES:
        found = glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml'))
        assert found and set(found) <= set(TASK_FILES), role


@pytest.mark.parametrize('role', SCRIPT_ROLES)
def test_build_scripts_run_as_argv(role):
    """Each of the role's own scripts runs as an argv list whose first argument is its path."""
    as_argv, as_line = [], []
    for path in glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml')):
        with open(path) as f:
            for task in all_tasks(yaml.safe_load(f) or []):
                args = task.get('ansible.builtin.command')
                if isinstance(args, dict) and isinstance(args.get('argv'), list):
                    as_argv.extend(a for a in args['argv'][:1] if '/files/' in str(a))
                elif args is not None and '/files/' in str(args):
                    as_line.append(task.get('name'))
    assert as_line == []
    assert as_argv, 'no build script of %s found' % role


def test_the_check_finds_a_templated_command_line(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text(yaml.safe_dump([
        {'name': 'a', 'ansible.builtin.command': 'apt-get download {{ kernel_upgrade_package }}'},
        {'name': 'b', 'ansible.builtin.command': {'cmd': 'apt-cache show {{ p }}'}},
        {'name': 'c', 'block': [{'name': 'd', 'ansible.builtin.shell': 'rm {{ x }}'}]},
        {'name': 'e', 'community.docker.docker_container_exec': {'argv': ['sh', '-ec', 'install {{ pkgs }}']}},
        {'name': 'ok', 'ansible.builtin.shell': 'echo {{ x | quote }}'},
        {'name': 'ok2', 'ansible.builtin.command': {'argv': ['apt-get', 'download', '{{ p }}']}},
    ]))
    assert [p.split(':')[0] for p in problems(str(bad))] == ['a', 'b', 'd', 'e']
