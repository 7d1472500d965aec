"""cutover_cloud without an engine: the steps' order, rsync's figures, and the verification against a
fake docker command that shows a data volume in a temporary folder and answers the summary: equal data and
summary pass, another digest is returned (not failed) for the caller to name the entries, another summary
fails naming both."""
import json
import os
import stat
import sys

import pytest

from ansible_collections.poscloud.fleet.plugins.module_utils import manifest as mf
from ansible_collections.poscloud.fleet.plugins.modules import cutover_cloud

RSYNC_OUT = """
Number of files: 2,051 (reg: 2,003, dir: 48)
Number of created files: 3
Number of deleted files: 1
Number of regular files transferred: 190
Total file size: 217,292,790 bytes
Total transferred file size: 2,862,419 bytes
Total bytes sent: 4,120
Total bytes received: 70,331
"""


def test_rsync_figures_are_read_with_their_thousands_separators():
    assert cutover_cloud.rsync_stats(RSYNC_OUT) == {'bytes': 2862419, 'wire_bytes': 70331, 'files': 190, 'deleted': 1}
    assert cutover_cloud.rsync_stats('') == {'bytes': 0, 'wire_bytes': 0, 'files': 0, 'deleted': 0}


@pytest.fixture
def host(tmp_path):
    """A volume in a folder, and a docker command that knows it and prints the application's summary."""
    volume = tmp_path / 'volumes' / 'pos_12345678_usr2_pos'
    volume.mkdir(parents=True)
    (volume / 'sales.db').write_bytes(b'sales\n')
    (tmp_path / 'summary.json').write_text(json.dumps({'transactions': 7, 'digest': 'ab'}))
    fake = tmp_path / 'docker'
    fake.write_text('#!%s\n' % sys.executable + '''import os, sys, time
args = sys.argv[1:]
if args[:2] == ['volume', 'inspect']:
    for name in args[4:]:
        print(name, os.path.join(%r, name))
elif args[0] == 'exec':
    side = os.path.join(%r, 'side')
    if os.path.exists(side):
        # A reader like SQLite's: a write-ahead log beside the database while it runs.
        wal = os.path.join(%r, 'pos_12345678_usr2_pos', 'sales.db-wal')
        open(wal, 'w').close()
        time.sleep(0.3)
        os.remove(wal)
        open(side, 'w').write(repr(time.time()))
    print(open(%r).read())
else:
    sys.exit('unexpected: %%s' %% args)
''' % (str(tmp_path / 'volumes'), str(tmp_path), str(tmp_path / 'volumes'), str(tmp_path / 'summary.json')))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def digest(host):
    return mf.summarize(mf.tree_entries(str(host / 'volumes' / 'pos_12345678_usr2_pos'), '/usr2/pos'))['digest']


def verify(run_module, host, **more):
    args = dict(store='12345678', instance='pos_12345678', steps=['verify'], docker_cli=str(host / 'docker'),
                volumes={'/usr2/pos': 'pos_12345678_usr2_pos'}, manifest_cache=str(host / 'cache.json'),
                expect_digest=digest(host),
                summary_command=['posd', '--summary'], summary_user='pos',
                expect_summary={'transactions': 7, 'digest': 'ab'}, summary_compare=['transactions', 'digest'])
    args.update(more)
    return run_module(cutover_cloud.main, args)


def test_equal_data_and_summary_pass(run_module, host):
    out = verify(run_module, host)
    assert out.kind == 'exit', out.result
    assert out.result['data_matches'] is True and out.result['summary'] == {'transactions': 7, 'digest': 'ab'}
    assert out.result['manifest']['files'] == 1 and os.path.exists(str(host / 'cache.json'))
    assert out.result['changed'] is False


def test_another_digest_is_returned_for_the_caller_to_name_the_entries(run_module, host):
    source = digest(host)
    (host / 'volumes' / 'pos_12345678_usr2_pos' / 'sales.db').write_bytes(b'sales\nX')
    out = verify(run_module, host, expect_digest=source)
    assert out.kind == 'exit' and out.result['data_matches'] is False
    assert out.result['summary'] == {'transactions': 7, 'digest': 'ab'}


def test_the_summary_ends_before_the_manifest_is_made(run_module, host):
    """The summary's reader leaves a side file while it runs (SQLite's write-ahead log): the manifest,
    made once the summary ended, does not list it."""
    (host / 'side').write_text('')
    out = verify(run_module, host)
    assert out.kind == 'exit', out.result
    assert out.result['data_matches'] is True and out.result['manifest']['files'] == 1
    made = json.loads((host / 'cache.json').read_text())['made_ns'] / 1e9
    assert float((host / 'side').read_text()) <= made


def test_another_summary_fails_naming_both(run_module, host):
    out = verify(run_module, host, expect_summary={'transactions': 8, 'digest': 'ab'})
    assert out.kind == 'fail'
    assert 'summary differs' in out.result['msg'] and '"transactions": 8' in out.result['msg']
    assert '"transactions": 7' in out.result['msg']


@pytest.mark.parametrize('steps', [['verify', 'copy'], ['copy', 'copy'], []])
def test_steps_out_of_order_or_repeated_are_refused(run_module, host, steps):
    out = verify(run_module, host, steps=steps)
    assert out.kind == 'fail' and out.result['msg'].startswith('steps: ')


def test_verify_needs_the_sources_digest(run_module, host):
    out = verify(run_module, host, expect_digest=None)
    assert out.kind == 'fail' and out.result['msg'].startswith('expect_digest: ')
