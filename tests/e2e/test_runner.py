"""AWX-like runs: the AWX wrapper playbooks run through ansible-runner with a private data
directory laid out as AWX lays it out (project/, env/extravars standing in for survey answers,
env/envvars, the limit on the command line), asserting the status, the per-host stats, and that
no secret of the lab appears in the runner's artefacts."""
import glob
import json
import os

import ansible_runner
import pytest

from conftest import ROOT, lab_host

STATE = os.path.join(ROOT, '.state', 'lab')


def secrets():
    """Every secret the lab holds: the stores' pre-shared keys, the controller's SSH key, the
    stores' copy keys."""
    found = []
    for path in glob.glob(os.path.join(STATE, 'psk-*')):
        with open(path) as f:
            found.append(f.read().strip())
    for path in [os.path.join(STATE, 'id_ed25519')] + glob.glob('/var/lib/poscloud-fleet/stores/*/sync_ed25519'):
        if os.path.exists(path):
            with open(path) as f:
                body = [line for line in f.read().splitlines() if line and not line.startswith('-----')]
            found.extend(body)
    return [s for s in found if len(s) >= 16]


def private_data_dir(tmp_path, extravars):
    pdd = tmp_path / 'pdd'
    (pdd / 'env').mkdir(parents=True)
    # AWX copies the project into project/; a link to this checkout is the same tree.
    os.symlink(ROOT, str(pdd / 'project'))
    (pdd / 'env' / 'extravars').write_text(json.dumps(extravars))
    (pdd / 'env' / 'envvars').write_text(json.dumps({
        'ANSIBLE_CONFIG': os.path.join(str(pdd / 'project'), 'ansible.cfg'),
        'PATH': os.path.join(ROOT, '.venv', 'bin') + os.pathsep + os.environ.get('PATH', ''),
        'ANSIBLE_FORCE_COLOR': '0',
    }))
    return pdd


def run(tmp_path, playbook, limit, extravars):
    pdd = private_data_dir(tmp_path, extravars)
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, limit=limit,
                           inventory=os.path.join(str(pdd / 'project'), 'inventories', 'lab'), quiet=True)
    artefacts = []
    for path in glob.glob(os.path.join(str(pdd), 'artifacts', '**', '*'), recursive=True):
        if os.path.isfile(path):
            with open(path, errors='replace') as f:
                artefacts.append((path, f.read()))
    assert artefacts, 'the runner wrote no artefacts'
    leaked = [(os.path.basename(p), s[:6] + '...') for s in secrets() for p, text in artefacts if s in text]
    assert not leaked, 'secrets in the runner artefacts: %s' % leaked
    return r


def test_deploy_through_the_runner_with_the_survey_confirmation(tmp_path, lab):
    # A deploy (a cutover, or nothing when an earlier run left the store cut over), then the same
    # job again: it changes nothing.
    for attempt in ('first', 'second'):
        r = run(tmp_path / attempt, 'awx/playbooks/deploy_pos.yml', 'store_12345678', {'deploy_pos_confirm': '12345678'})
        assert (r.status, r.rc) == ('successful', 0), r.stdout.read()[-3000:]
        stats = r.stats
        assert 'store_12345678' in stats['ok'] and not stats['failures'] and not stats['dark']
    assert stats['changed'].get('store_12345678', 0) == 0, stats
    assert len(secrets()) >= 3


def test_a_wrong_confirmation_stops_the_deploy_before_anything(tmp_path, lab):
    r = run(tmp_path, 'awx/playbooks/deploy_pos.yml', 'store_12345678', {'deploy_pos_confirm': '23456789'})
    assert r.status == 'failed' and r.rc != 0
    assert r.stats['failures'] == {'store_12345678': 1} and not r.stats['changed']
    assert 'deploy_pos_confirm' in r.stdout.read()


@pytest.mark.parametrize('waves', ['1,100%'])
def test_fleet_update_through_the_runner(tmp_path, lab, waves):
    # The survey's answers as AWX sends them: strings for the waves, an integer for the limit.
    extravars = {'fleet_update_waves': waves, 'fleet_update_max_fail_percentage': 0,
                 # the lab's stand-in for the patch level the fleet tests rolled out
                 'lab_fleet_patch_packages': ['less']}
    r = run(tmp_path, 'awx/playbooks/fleet_update.yml', 'fleet_stores', extravars)
    assert (r.status, r.rc) == ('successful', 0), r.stdout.read()[-3000:]
    stats = r.stats
    fleet = ['store_9000000%d' % i for i in (1, 2, 3)]
    assert all(h in stats['ok'] for h in fleet) and not stats['failures'] and not stats['dark']
    with open(os.path.join(ROOT, 'reports', 'fleet', 'fleet-update.json')) as f:
        summary = json.load(f)
    assert sorted(r['store'] for r in summary['stores']) == fleet
    # In `make test` this runs after test_fleet.py, which left the fleet at this patch level: every
    # store takes the no-op path. On its own it rolls the patch out. Either way each store runs it.
    assert all(r['outcome'] in ('skipped', 'updated') for r in summary['stores']), summary['stores']
    for host in fleet:
        assert lab_host('pos_' + host.split('_')[1]).package('less').is_installed, host
