"""What the end-to-end and boot tiers share: where the checkout, its tools and the lab inventory
are, the environment a playbook runs with (the JSON callback), and reading that JSON output.

Each tier's conftest.py puts this folder on sys.path and imports from here; its test modules keep
importing from their conftest."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, '.venv', 'bin')
LAB = os.path.join(ROOT, 'inventories', 'lab')


def ansible_env(**extra):
    """The environment of a lab playbook run: the checkout's tools and ansible.cfg, the JSON callback."""
    env = dict(os.environ)
    env.update({
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
        'ANSIBLE_NOCOLOR': '1',
    })
    env.update(extra)
    return env


def json_output(out):
    """The JSON callback's document in ``out`` (whatever is printed before it is skipped)."""
    return json.JSONDecoder().raw_decode(out[out.index('{'):])[0]
