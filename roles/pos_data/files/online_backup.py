# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Online-consistent backup of a store's data while its application runs.

  python3 online_backup.py ARCHIVE SQLITE_JSON EXCLUDE_JSON DATA_PATHS_JSON

Each SQLite database in SQLITE_JSON is copied first with SQLite's backup API (a consistent
snapshot, taken as the database file's owner so SQLite's shared-memory file keeps its owner) and
checked with PRAGMA integrity_check; then the other files of the data paths are written to the tar
ARCHIVE (members without the leading /, as tar -C / writes them), and the snapshots are appended
in place of the live databases (their -wal, -shm and -journal files are left out). Files the
application writes before it commits a row are therefore in the archive for every row of the
snapshot. Prints {"databases": N}.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

STAGE = os.environ.get('ONLINE_BACKUP_STAGE', '/tmp/poscloud-online-backup')


def snapshot(db, dest):
    st = os.stat(db)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.chown(os.path.dirname(dest), st.st_uid, st.st_gid)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(st.st_gid)
            os.setuid(st.st_uid)
            src = sqlite3.connect(db, timeout=30)
            dst = sqlite3.connect(dest)
            with dst:
                src.backup(dst)
            src.close()
            ok = dst.execute('PRAGMA integrity_check').fetchone()[0]
            dst.execute('PRAGMA journal_mode=DELETE')
            dst.close()
            if ok != 'ok':
                sys.stderr.write('%s: the copy fails its integrity check: %s\n' % (db, ok))
            else:
                code = 0
        except Exception as e:  # reported by the parent's exit status
            sys.stderr.write('%s: %s\n' % (db, e))
        os._exit(code)
    status = os.waitpid(pid, 0)[1]
    if status != 0:
        sys.exit('the SQLite backup of %s failed' % db)
    os.chmod(dest, st.st_mode & 0o7777)


def main():
    archive, databases, exclude, data_paths = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), \
        json.loads(sys.argv[4])
    for db in databases:
        if not os.path.isfile(db):
            sys.exit('backup.sqlite: %s is not a file in the instance\'s data; fix the profile' % db)
    shutil.rmtree(STAGE, ignore_errors=True)
    for db in databases:
        snapshot(db, STAGE + db)
    args = ['tar', '-C', '/', '--numeric-owner', '-cf', archive]
    args += ['--exclude=' + x for x in exclude]
    for db in databases:
        rel = db.lstrip('/')
        args += ['--exclude=' + rel + suffix for suffix in ('', '-wal', '-shm', '-journal')]
    # tar exits 1 when a file changed while it was read: the application runs; such a file is
    # not one of the databases, and the archive is checked against its manifest afterwards.
    rc = subprocess.call(args + [p.lstrip('/') for p in data_paths])
    if rc not in (0, 1):
        sys.exit('tar failed (exit status %d)' % rc)
    if databases:
        rc = subprocess.call(['tar', '-C', STAGE, '--numeric-owner', '-rf', archive] + [db.lstrip('/') for db in databases])
        if rc != 0:
            sys.exit('tar could not append the database snapshots (exit status %d)' % rc)
    shutil.rmtree(STAGE, ignore_errors=True)
    print(json.dumps({'databases': len(databases)}))


if __name__ == '__main__':
    main()
