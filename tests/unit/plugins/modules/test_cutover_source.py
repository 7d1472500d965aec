"""cutover_source with poscloud-init (hold files): the stop carries its deadline and the source's summary
and manifest are read with the application stopped; the commit makes the stop lasting and records the
move only while the deadline is still ahead, and changes nothing when it is not."""
import json
import sys
import time

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import hold
from ansible_collections.poscloud.fleet.plugins.modules import cutover_source


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A server whose init reports every service stopped (what it shows once the holds are applied)."""
    services = tmp_path / 'services.json'
    services.write_text(json.dumps([{'name': 'posd', 'running': False}]))
    monkeypatch.setattr(hold, 'SERVICES_FILE', str(services))
    data = tmp_path / 'usr2' / 'pos'
    data.mkdir(parents=True)
    (data / 'sales.db').write_bytes(b'sales\n')
    return tmp_path


def args(server, **more):
    base = dict(services=['posd'], service_manager='poscloud-init', hold_dir=str(server / 'hold'), hold_timeout=2)
    base.update(more)
    return base


def test_the_stop_has_its_deadline_and_reads_summary_and_manifest(run_module, server):
    summary = [sys.executable, '-c', 'import json; print(json.dumps({"transactions": 7, "digest": "ab"}))']
    before = time.time()
    out = run_module(cutover_source.main, args(
        server, state='stopped', hold_seconds=180, summary_command=summary, summary_user='root',
        manifest_paths=[str(server / 'usr2' / 'pos')], manifest_dest=str(server / 'm' / 'manifest.jsonl'),
        manifest_cache=str(server / 'm' / 'cache.json')))
    assert out.kind == 'exit', out.result
    until = json.loads((server / 'hold' / 'posd').read_text())['until']
    assert before + 179 < until < time.time() + 181
    assert out.result['summary'] == {'transactions': 7, 'digest': 'ab'}
    assert out.result['manifest']['files'] == 1 and len(out.result['manifest']['digest']) == 64
    assert (server / 'm' / 'manifest.jsonl').read_text().count('\n') == 2
    assert json.loads((server / 'm' / 'cache.json').read_text())['files']
    t = out.result['timings']
    assert t['stopped'] <= t['read']


def test_the_summary_ends_before_the_manifest_is_made(run_module, server):
    """The summary's reader leaves a side file while it runs (SQLite's write-ahead log): the manifest,
    made once the summary ended, does not list it."""
    data = server / 'usr2' / 'pos'
    summary = [sys.executable, '-c', 'import json, os, sys, time; wal = sys.argv[1]; open(wal, "w").close(); '
               'time.sleep(0.3); os.remove(wal); open(sys.argv[2], "w").write(repr(time.time())); '
               'print(json.dumps({"transactions": 7}))', str(data / 'sales.db-wal'), str(server / 'ended')]
    out = run_module(cutover_source.main, args(
        server, state='stopped', hold_seconds=180, summary_command=summary, summary_user='root',
        manifest_paths=[str(data)], manifest_dest=str(server / 'm' / 'manifest.jsonl'),
        manifest_cache=str(server / 'm' / 'cache.json')))
    assert out.kind == 'exit', out.result
    assert out.result['manifest']['files'] == 1 and 'sales.db-wal' not in (server / 'm' / 'manifest.jsonl').read_text()
    made = json.loads((server / 'm' / 'cache.json').read_text())['made_ns'] / 1e9
    assert float((server / 'ended').read_text()) <= made


def test_a_stop_without_a_deadline_is_refused_and_holds_nothing(run_module, server):
    out = run_module(cutover_source.main, args(server, state='stopped', hold_seconds=0))
    assert out.kind == 'fail' and out.result['msg'].startswith('hold_seconds: ')
    assert not (server / 'hold').exists()


def test_the_commit_makes_the_stop_lasting_and_records_the_move(run_module, server):
    (server / 'hold').mkdir()
    (server / 'hold' / 'posd').write_text(json.dumps({'until': time.time() + 120}))
    marker = server / 'records' / 'cutover-12345678.json'
    out = run_module(cutover_source.main, args(server, state='committed', marker_path=str(marker),
                                               marker={'store': '12345678', 'moved_to': 'cloud'}))
    assert out.kind == 'exit' and out.result['changed'], out.result
    assert (server / 'hold' / 'posd').read_text() == ''
    assert json.loads(marker.read_text()) == {'store': '12345678', 'moved_to': 'cloud'}


@pytest.mark.parametrize('left, why', [(None, 'is gone'), (3, 'too late to commit'), (-5, 'too late to commit')])
def test_a_commit_after_or_near_the_deadline_changes_nothing(run_module, server, left, why):
    (server / 'hold').mkdir()
    if left is not None:
        (server / 'hold' / 'posd').write_text(json.dumps({'until': time.time() + left}))
    marker = server / 'records' / 'cutover-12345678.json'
    out = run_module(cutover_source.main, args(server, state='committed', marker_path=str(marker),
                                               marker={'store': '12345678'}))
    assert out.kind == 'fail' and why in out.result['msg'] and 'nothing was committed' in out.result['msg']
    assert not marker.exists()
    if left is not None:
        assert json.loads((server / 'hold' / 'posd').read_text())['until'] > time.time() - 10


def test_a_stop_the_init_never_applies_fails_naming_the_service(run_module, server):
    (server / 'services.json').write_text(json.dumps([{'name': 'posd', 'running': True}]))
    out = run_module(cutover_source.main, args(server, state='stopped', hold_seconds=60, hold_timeout=0.3))
    assert out.kind == 'fail' and 'posd did not become held' in out.result['msg']


def test_ready_names_what_the_stop_would_miss_and_changes_nothing(run_module, server):
    out = run_module(cutover_source.main, args(server, state='ready', services=['posd', 'posgen'],
                                               manifest_paths=[str(server / 'usr2' / 'pos'), str(server / 'gone')],
                                               summary_command=[str(server / 'no-such-summary')]))
    assert out.kind == 'fail' and 'Nothing was stopped' in out.result['msg']
    for what in ('does not run posgen', str(server / 'gone') + ' does not exist', 'no-such-summary is not there'):
        assert what in out.result['msg'], what
    assert not (server / 'hold').exists()
    out = run_module(cutover_source.main, args(server, state='ready', manifest_paths=[str(server / 'usr2' / 'pos')],
                                               summary_command=[sys.executable]))
    assert out.kind == 'exit' and out.result['changed'] is False
