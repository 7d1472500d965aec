import pytest

from ansible_collections.poscloud.fleet.plugins.inventory.lab_fleet import fleet


def test_fifty_stores_get_their_own_nets_and_ids():
    stores = fleet(50, 90000001, '10.200.0.0/16')
    assert len(stores) == 50
    names = [n for n, v in stores]
    assert names[0] == 'store_90000001' and names[-1] == 'store_90000050'
    nets = [v['store_cloud_net'] for n, v in stores]
    assert len(set(nets)) == 50 and nets[0] == '10.200.0.0/24' and nets[49] == '10.200.49.0/24'
    assert stores[3][1]['store_pos_ip'] == '10.200.3.222'
    assert all(v['pos_stage_primary_vpn'] is False for n, v in stores)


@pytest.mark.parametrize('args,field', [
    ((300, 90000001, '10.200.0.0/16'), 'count:'),
    ((5, 99999999, '10.200.0.0/16'), 'first_store_id:'),
    ((5, 90000001, '10.200.0.0/24'), 'supernet:'),
    ((5, 90000001, 'not-a-net'), 'supernet:'),
])
def test_bad_options_are_refused_with_the_field_named(args, field):
    with pytest.raises(ValueError, match='^' + field):
        fleet(*args)
