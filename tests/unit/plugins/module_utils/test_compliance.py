import datetime

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import compliance as c

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)
MEDIA = 'sha256:' + 'a' * 64
STRONG_IKE = 'AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384'


def row(**kw):
    r = {'host': 'store_1', 'store': '1', 'error': '',
         'instance': {'state': 'running', 'patch_level': '2026-11-21T09:12:44Z', 'media_image': MEDIA},
         'tunnels': [{'name': 'phonehome', 'state': 'ESTABLISHED', 'up': True, 'ike_proposal': STRONG_IKE,
                      'esp_proposal': 'AES_GCM_16_256'}],
         'backup': {'set': '20261204T020000Z', 'made': '2026-12-04T02:00:05Z', 'manifest_digest': 'd'},
         'cutover': {'outcome': 'completed', 'finished': '2026-11-30T21:00:00Z'}}
    r.update(kw)
    return r


def names(flags):
    return [f['flag'] for f in flags]


def test_a_compliant_store_has_no_flag():
    assert c.flags(row(), now=NOW, current_media=MEDIA) == []


def test_old_or_unknown_media_is_flagged_with_its_age():
    old = row(instance={'state': 'running', 'patch_level': '2026-10-01T00:00:00Z', 'media_image': MEDIA})
    flags = c.flags(old, now=NOW, current_media=MEDIA)
    assert names(flags) == ['media_old']
    assert flags[0]['detail'] == 'patch level 2026-10-01T00:00:00Z is 64 days old (more than 30)'
    # the threshold is the policy's
    assert c.flags(old, {'media_max_age_days': 90}, NOW, MEDIA) == []
    unknown = row(instance={'state': 'running', 'patch_level': 'unknown', 'media_image': MEDIA})
    assert c.flags(unknown, now=NOW)[0]['detail'] == 'patch level unknown (unknown)'
    assert c.flags(row(instance={'state': 'absent'}), now=NOW)[0]['detail'] == 'no instance'


@pytest.mark.parametrize('proposal,weak', [
    ('AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384', []),
    ('AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519', []),
    ('AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048', []),
    ('AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024', ['HMAC_SHA1_96', 'PRF_HMAC_SHA1', 'MODP_1024']),
    ('3DES_CBC/HMAC_MD5_96/PRF_HMAC_MD5/MODP_1536', ['3DES_CBC', 'HMAC_MD5_96', 'PRF_HMAC_MD5', 'MODP_1536']),
    ('AES_CBC_256/HMAC_SHA2_256_128/MODP_2048_256', ['MODP_2048_256']),
    ('NULL/HMAC_SHA2_256_128', ['NULL']),
    (None, []),
])
def test_negotiated_algorithms_outside_the_strong_set(proposal, weak):
    assert [alg for alg, reason in c.weak_algorithms(proposal)] == weak


def test_a_tunnel_agreed_on_classic_crypto_is_flagged_naming_the_tunnel_and_algorithm():
    tunnels = [{'name': 'phonehome', 'ike_proposal': 'AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024',
                'esp_proposal': 'AES_CBC_128/HMAC_SHA1_96'},
               {'name': 'backoffice', 'ike_proposal': STRONG_IKE, 'esp_proposal': 'AES_GCM_16_256'}]
    flags = c.flags(row(tunnels=tunnels), now=NOW, current_media=MEDIA)
    assert names(flags) == ['weak_tunnel']
    assert 'phonehome IKE: MODP_1024 (a MODP group smaller than 2048 bits)' in flags[0]['detail']
    assert 'phonehome ESP: HMAC_SHA1_96' in flags[0]['detail'] and 'backoffice' not in flags[0]['detail']


def test_backups_missing_or_too_old_are_flagged():
    assert c.flags(row(backup={}), now=NOW, current_media=MEDIA)[0]['detail'] == 'no verified backup set'
    stale = row(backup={'set': '20261130T020000Z', 'made': '2026-11-30T02:00:00Z'})
    flags = c.flags(stale, now=NOW, current_media=MEDIA)
    assert names(flags) == ['backup_old'] and '4.4 days old (more than 2)' in flags[0]['detail']
    assert c.flags(stale, {'backup_max_age_days': 7}, NOW, MEDIA) == []


def test_no_completed_cutover_is_flagged_unless_the_policy_does_not_ask_for_one():
    for cutover in ({}, {'outcome': 'rolled_back'}, {'outcome': 'in progress (window)'}):
        assert names(c.flags(row(cutover=cutover), now=NOW, current_media=MEDIA)) == ['no_cutover']
    assert c.flags(row(cutover={}), {'require_cutover': False}, NOW, MEDIA) == []


def test_an_instance_built_on_other_media_than_the_fleets_current_one_is_flagged():
    other = 'sha256:' + 'b' * 64
    flags = c.flags(row(), now=NOW, current_media=other)
    assert names(flags) == ['image_not_current']
    assert flags[0]['detail'] == 'built on media aaaaaaaaaaaa, the current one is bbbbbbbbbbbb'
    # unknown current media: not judged
    assert c.flags(row(), now=NOW, current_media=None) == []


def test_a_store_that_did_not_answer_is_flagged_and_every_flag_is_counted():
    rows = [dict(row(), flags=c.flags(row(), now=NOW, current_media=MEDIA)),
            dict(row(backup={}), flags=c.flags(row(backup={}), now=NOW, current_media=MEDIA)),
            dict(row(error='unreachable'), flags=c.flags(row(error='unreachable'), now=NOW))]
    assert rows[2]['flags'][0]['detail'] == 'the store did not answer: unreachable'
    total = c.totals(rows)
    assert total == {'stores': 3, 'flagged': 2, 'by_flag': {'media_old': 1, 'weak_tunnel': 0, 'backup_old': 1,
                                                            'no_cutover': 0, 'image_not_current': 0}}
    assert c.summary_line(total) == ('COMPLIANCE FLAGGED: 2 of 3 stores flagged (media patch level old 1, '
                                     'no recent verified backup 1)')
    assert c.summary_line(c.totals(rows[:1])) == 'COMPLIANCE OK: 0 of 1 stores flagged'


@pytest.mark.parametrize('policy,message', [
    ({'media_days': 3}, "fleet_status_policy: unknown key 'media_days'"),
    ({'media_max_age_days': 'soon'}, 'fleet_status_policy.media_max_age_days: give a number of days'),
    ({'backup_max_age_days': -1}, 'fleet_status_policy.backup_max_age_days: give a number of days, 0 or more'),
])
def test_a_bad_policy_names_its_field(policy, message):
    with pytest.raises(c.ComplianceError, match=message.replace('(', r'\(')):
        c.flags(row(), policy, NOW)
