"""The online backup script (roles/pos_data/files/online_backup.py), run for real on a WAL-mode SQLite
database that a writer keeps open: the set holds a consistent database with every committed row, the
other files, and none of the live database's -wal or -shm files."""
import json
import os
import sqlite3
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(ROOT, 'roles', 'pos_data', 'files', 'online_backup.py')


def run(tmp_path, databases, exclude, data_paths):
    env = dict(os.environ, ONLINE_BACKUP_STAGE=str(tmp_path / 'stage'))
    archive = str(tmp_path / 'data.tar')
    proc = subprocess.run([sys.executable, SCRIPT, archive, json.dumps(databases), json.dumps(exclude),
                           json.dumps(data_paths)], env=env, capture_output=True, text=True, check=False)
    return proc, archive


def test_a_running_databases_committed_rows_and_files_are_in_the_set(tmp_path):
    data = tmp_path / 'usr2' / 'pos'
    (data / 'db').mkdir(parents=True)
    (data / 'receipts').mkdir()
    db = str(data / 'db' / 'pos.db')
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute('PRAGMA journal_mode=WAL')
    writer.execute('PRAGMA wal_autocheckpoint=0')
    writer.execute('CREATE TABLE sales (id INTEGER PRIMARY KEY, receipt TEXT)')
    for i in range(1, 51):
        (data / 'receipts' / ('%d.txt' % i)).write_text('sale %d' % i)
        writer.execute('INSERT INTO sales (receipt) VALUES (?)', ('receipts/%d.txt' % i,))
    (data / 'scratch.tmp').write_text('left out')
    assert os.path.getsize(db + '-wal') > 0, 'the rows must still be in the WAL for the test to mean anything'
    writer.execute('BEGIN')
    writer.execute("INSERT INTO sales (receipt) VALUES ('uncommitted')")

    proc, archive = run(tmp_path, [db], ['*.tmp'], [str(data)])
    writer.execute('ROLLBACK')
    writer.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {'databases': 1}

    rel = str(data).lstrip('/')
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert rel + '/db/pos.db' in names
        assert names.count(rel + '/db/pos.db') == 1
        assert not [n for n in names if n.endswith(('-wal', '-shm', '.tmp'))], names
        assert rel + '/receipts/50.txt' in names
        out = tmp_path / 'out'
        tar.extractall(str(out))
    copy = sqlite3.connect(str(out / rel / 'db' / 'pos.db'))
    assert copy.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    rows = copy.execute('SELECT receipt FROM sales').fetchall()
    assert len(rows) == 50 and ('uncommitted',) not in rows
    assert all((out / rel / r[0]).exists() for r in rows)
    assert not (tmp_path / 'stage').exists()


def test_a_missing_database_names_the_profile_field(tmp_path):
    data = tmp_path / 'usr2' / 'pos'
    data.mkdir(parents=True)
    proc = run(tmp_path, [str(data / 'db' / 'pos.db')], [], [str(data)])[0]
    assert proc.returncode != 0
    assert 'backup.sqlite' in proc.stderr and 'Traceback' not in proc.stderr
