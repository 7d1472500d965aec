"""stage_plan keeps the support users' password hashes out of its output; only their digest leaves it."""
import json
import os

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.poscloud.fleet.plugins.module_utils import stage
from ansible_collections.poscloud.fleet.plugins.module_utils.common import sha256_json
from ansible_collections.poscloud.fleet.plugins.modules import stage_plan

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
HASH = '$6$rounds=5000$poscloudsalt$Xq0nQn3cK4cTtbmOqk1fN2bH3bq7yHq6xV1o2b3c4d5e6f7g8h9i0jKLMNOPQRSTUVWxyz0123456789ab'


class FakeDocker(object):
    """The Engine API reader, answering that nothing exists yet."""

    def inspect_image(self, ref):
        return None

    def inspect_images(self, ids):
        return []

    def image_ids(self, filters=None):
        return []

    def inspect_containers(self, names):
        return []


def run_module(monkeypatch, capsys, args):
    monkeypatch.setattr(stage_plan, 'reader', lambda module, run_command: FakeDocker())
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            stage_plan.main()
    out = capsys.readouterr().out
    return out, json.loads(out)


def demo_profile():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return yaml.safe_load(f)


def users(password_hash=HASH):
    entry = {'name': 'tfsupport', 'ssh_keys': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@example.com'],
             'sudo': True}
    if password_hash is not None:
        entry['password_hash'] = password_hash
    return [entry]


def module_args(support_users):
    return {'store': '12345678', 'profile': demo_profile(), 'media_image': 'poscloud/media:latest',
            'repository': 'poscloud/store-12345678', 'container': 'pos_12345678', 'support_users': support_users,
            'input_files': {'init': ['roles/pos_stage/files/poscloud_init.py']}}


def test_the_password_hash_is_in_no_output(monkeypatch, capsys):
    out, result = run_module(monkeypatch, capsys, module_args(users()))
    assert result.get('failed') is not True, result
    assert HASH not in out and 'poscloudsalt' not in out
    logged = result['invocation']['module_args']['support_users'][0]
    assert logged['password_hash'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    # Only the password is hidden: the user name stays readable.
    assert logged['name'] == 'tfsupport'
    assert result['inputs']['support_users'] == stage.support_users_digest(users())


def test_the_check_would_see_a_hash_that_got_out(monkeypatch, capsys):
    """The same run without the hash in the option: the value put elsewhere is found."""
    args = module_args(users(password_hash=None))
    args['store'] = HASH
    out, dummy = run_module(monkeypatch, capsys, args)
    assert HASH in out


def test_a_new_password_hash_restages_but_the_digest_ignores_keys_left_out():
    assert stage.support_users_digest(users()) != stage.support_users_digest(users(password_hash=HASH[:-1] + 'c'))
    # What the module's argument spec fills in (None for keys not given) does not change the digest.
    filled = [dict(users(password_hash=None)[0], password_hash=None)]
    assert stage.support_users_digest(filled) == stage.support_users_digest(users(password_hash=None))
    assert stage.support_users_digest(users(password_hash=None)) == sha256_json(users(password_hash=None))
