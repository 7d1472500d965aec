from ansible_collections.poscloud.fleet.plugins.module_utils.ike_log import peer_refusal

OURS_IKE = ['aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha256-modp3072']
OURS_ESP = ['aes256gcm16-ecp384']

# What `swanctl --initiate --loglevel 1` printed against a store router allowing only classic proposals.
NO_PROP = [
    '[IKE] initiating IKE_SA phonehome[1] to 198.51.100.12',
    '[ENC] generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
    '[NET] sending packet: from 198.51.100.112[500] to 198.51.100.12[500] (332 bytes)',
    '[NET] received packet: from 198.51.100.12[500] to 198.51.100.112[500] (36 bytes)',
    '[ENC] parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]',
    '[IKE] received NO_PROPOSAL_CHOSEN notify error',
]
# Seen in the lab: the two sides with different pre-shared keys.
AUTH = [
    '[IKE] initiating IKE_SA phonehome[3] to 198.51.100.12',
    '[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) ]',
    '[CFG] selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384',
    '[NET] received packet: from 198.51.100.12[4500] to 198.51.100.112[4500] (65 bytes)',
    '[ENC] parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]',
    '[IKE] received AUTHENTICATION_FAILED notify error',
]


def test_no_proposal_chosen_is_named_with_the_proposals_we_offered():
    text = peer_refusal(NO_PROP, OURS_IKE, OURS_ESP)
    assert text.startswith('the peer answered NO_PROPOSAL_CHOSEN to IKE_SA_INIT: the peer accepts none of the '
                           'proposals we offered')
    assert 'we offered IKE aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-modp3072; ESP aes256gcm16-ecp384' in text
    assert text.count('NO_PROPOSAL_CHOSEN') == 1


def test_the_log_ending_at_the_36_byte_answer_still_names_no_proposal_chosen():
    # the log level hid the parsed and notify lines: the bare notify's size says it
    text = peer_refusal(NO_PROP[:4], OURS_IKE, None)
    assert 'bare 36-byte notify' in text and 'NO_PROPOSAL_CHOSEN' in text
    assert 'we offered IKE aes256gcm16-prfsha384-ecp384' in text


def test_authentication_failed_names_the_key_or_the_ids_and_no_proposals():
    text = peer_refusal(AUTH, OURS_IKE, OURS_ESP)
    assert text == ('the peer answered AUTHENTICATION_FAILED to IKE_AUTH: the peer did not accept our authentication: '
                    'the pre-shared key or the IDs differ between the two sides')


def test_ts_unacceptable_and_a_responders_view_of_both_sides_proposals():
    lines = ['[ENC] parsed IKE_AUTH response 1 [ IDr AUTH N(TS_UNACCEPT) ]',
             '[CFG] received proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024',
             '[CFG] configured proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384']
    text = peer_refusal(lines, OURS_IKE, OURS_ESP)
    assert text.startswith('the peer answered TS_UNACCEPTABLE to IKE_AUTH: the peer does not accept the traffic selectors')
    assert 'the peer offered IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024' in text
    assert 'we accept IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384' in text


def test_a_log_that_says_nothing_of_a_refusal_gives_nothing():
    assert peer_refusal(['[IKE] retransmit 3 of request with message ID 0',
                         '[NET] sending packet: from 198.51.100.112[500] to 198.51.100.12[500] (332 bytes)'], OURS_IKE) == ''
    assert peer_refusal(None) == ''
    # a 36-byte packet in an established tunnel (an informational) is not taken for a refusal
    assert peer_refusal(['[ENC] parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]',
                         '[NET] received packet: from 198.51.100.12[4500] to 198.51.100.112[4500] (36 bytes)']) == ''
