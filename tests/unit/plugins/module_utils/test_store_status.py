import json

from ansible_collections.poscloud.fleet.plugins.module_utils import store_status as ss


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_instance_row_reads_labels_tags_and_held_services(tmp_path):
    (tmp_path / 'hold').mkdir()
    (tmp_path / 'hold' / 'posd').write_text('')
    container = {'Image': 'sha256:a', 'State': {'Status': 'running'},
                 'Mounts': [{'Destination': '/usr2/pos', 'Source': '/x'},
                            {'Destination': '/var/lib/poscloud', 'Source': str(tmp_path)}]}
    image = {'RepoTags': ['poscloud/store-1:latest', 'poscloud/store-1:20260101T000000Z'],
             'Config': {'Labels': {'poscloud.fleet.patch-level': '2026-01-01', 'poscloud.fleet.app-version': '1.0.1',
                                   'poscloud.fleet.media-image': 'sha256:m'}}}
    row = ss.instance_row(container, image)
    assert row == {'state': 'running', 'image': 'sha256:a', 'snapshot': 'poscloud/store-1:20260101T000000Z',
                   'patch_level': '2026-01-01', 'app_version': '1.0.1', 'media_image': 'sha256:m', 'held': ['posd']}
    assert ss.instance_row(None, None)['state'] == 'absent'


def test_last_backup_is_the_newest_complete_set(tmp_path):
    write(tmp_path / '20260101T000000Z' / 'set.json', {'made': 'a', 'manifest_digest': 'd1', 'files': 2, 'bytes': 3,
                                                       'summary': {'transactions': 5}})
    (tmp_path / '20260102T000000Z').mkdir()  # an unfinished set: no set.json
    # The data a restore replaced is kept as a set, but it is no backup of the store's data now.
    write(tmp_path / '20260103T000000Z-pre-restore' / 'set.json', {'made': 'b', 'manifest_digest': 'd2'})
    write(tmp_path / '.20260104T000000Z.partial' / 'set.json', {'made': 'c', 'manifest_digest': 'd3'})
    assert ss.last_backup(str(tmp_path)) == {'set': '20260101T000000Z', 'made': 'a', 'manifest_digest': 'd1',
                                             'files': 2, 'bytes': 3, 'transactions': 5}
    assert ss.last_backup(str(tmp_path / 'none')) == {}


def test_last_cutover_prefers_the_record_and_reports_one_under_way(tmp_path):
    assert ss.last_cutover(str(tmp_path)) == {}
    write(tmp_path / 'cutover.json', {'phase': 'window'})
    assert ss.last_cutover(str(tmp_path))['outcome'] == 'in progress (window)'
    write(tmp_path / 'cutover.json', {'phase': 'completed', 'outcome': 'completed', 'finished': 'f'})
    write(tmp_path / 'cutover-record.json', {'outcome': 'completed', 'finished': 'f', 'downtime_seconds': 7.8})
    assert ss.last_cutover(str(tmp_path)) == {'outcome': 'completed', 'finished': 'f', 'downtime_seconds': 7.8, 'reason': ''}


def test_tunnels_row_lists_loaded_connections_even_without_sas():
    conns = {'phonehome': {'name': 'phonehome', 'children': {}}, 'backoffice': {'name': 'backoffice', 'children': {}}}
    sas = [{'name': 'phonehome', 'state': 'ESTABLISHED', 'proposal': 'AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024',
            'child_sas': [{'name': 'phonehome', 'state': 'INSTALLED', 'proposal': 'AES_GCM_16_256'}]}]
    rows = ss.tunnels_row(sas, conns)
    assert [r['name'] for r in rows] == ['backoffice', 'phonehome']
    assert (rows[0]['ike_proposal'], rows[0]['esp_proposal']) == (None, None)
    assert rows[1]['ike_proposal'] == 'AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024'
    assert rows[1]['esp_proposal'] == 'AES_GCM_16_256'
    assert (rows[0]['state'], rows[0]['up']) == ('DOWN', False) and (rows[1]['state'], rows[1]['up']) == ('ESTABLISHED', True)
