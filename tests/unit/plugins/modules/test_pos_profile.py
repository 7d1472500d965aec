"""The pos_profile module names the store's data volumes (the names the instance, the data copy and
the backups use), so no role derives them in Jinja."""
import os

import yaml

from ansible_collections.poscloud.fleet.plugins.modules import pos_profile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def demo():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        return yaml.safe_load(f)


def test_the_volumes_are_named_from_the_prefix_and_each_data_path(run_module):
    profile = demo()
    profile['data_paths'] = ['/usr2/pos', '/opt/pos/data/', '/srv/POS-2.0/sales']
    result = run_module(pos_profile.main, {'profile': profile, 'store_id': '12345678',
                                           'volume_prefix': 'pos_12345678'}).result
    assert not result.get('failed'), result
    # The names the lab's instances have always had (a rename would leave a store on new, empty volumes),
    # keyed by the normalised data paths, as profile.data_paths has them.
    assert result['volumes'] == {'/usr2/pos': 'pos_12345678_usr2_pos',
                                 '/opt/pos/data': 'pos_12345678_opt_pos_data',
                                 '/srv/POS-2.0/sales': 'pos_12345678_srv_POS_2_0_sales'}
    assert result['changed'] is False


def test_without_a_prefix_no_volumes_are_returned(run_module):
    result = run_module(pos_profile.main, {'profile': demo()}).result
    assert 'volumes' not in result and not result.get('failed')


def test_a_prefix_that_cannot_start_a_volume_name_is_refused_naming_the_field(run_module):
    for bad in ('', '_pos', 'pos 1', 'pos/1'):
        result = run_module(pos_profile.main, {'profile': demo(), 'volume_prefix': bad}).result
        assert result['failed'] and result['msg'].startswith('volume_prefix: '), result
        assert 'pos_instance_volume_prefix' in result['msg']
