"""The profile's backup section: include, exclude, and the online-consistent backup (online, sqlite)."""
import copy
import os

import pytest
import yaml

from ansible_collections.poscloud.fleet.plugins.module_utils import profile as prof

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
DATA = ['/usr2/pos']


def test_the_demo_profile_declares_an_online_sqlite_backup():
    with open(os.path.join(ROOT, 'profiles', 'demo.yml')) as f:
        demo = yaml.safe_load(f)
    backup = prof.validate_profile(demo)['backup']
    assert backup == {'include': ['/usr2/pos'], 'exclude': ['*.tmp', '*.db-shm'], 'online': 'sqlite',
                      'sqlite': ['/usr2/pos/db/pos.db']}
    without = copy.deepcopy(demo)
    del without['backup']
    assert prof.validate_profile(without)['backup'] == {'include': ['/usr2/pos'], 'exclude': [], 'online': 'none',
                                                        'sqlite': []}


@pytest.mark.parametrize('backup,expect', [
    (None, {'include': DATA, 'exclude': [], 'online': 'none', 'sqlite': []}),
    ({}, {'include': DATA, 'exclude': [], 'online': 'none', 'sqlite': []}),
    ({'online': 'none'}, {'include': DATA, 'exclude': [], 'online': 'none', 'sqlite': []}),
    ({'online': False}, {'include': DATA, 'exclude': [], 'online': 'none', 'sqlite': []}),
    ({'online': 'sqlite', 'sqlite': ['/usr2/pos/db//pos.db']},
     {'include': DATA, 'exclude': [], 'online': 'sqlite', 'sqlite': ['/usr2/pos/db/pos.db']}),
    ({'include': ['/usr2/pos/db'], 'exclude': ['*.tmp']},
     {'include': ['/usr2/pos/db'], 'exclude': ['*.tmp'], 'online': 'none', 'sqlite': []}),
])
def test_valid_backup_sections_are_normalised(backup, expect):
    assert prof.validate_backup(backup, DATA) == expect


@pytest.mark.parametrize('backup,field,hint', [
    ('yes', 'backup:', 'must be a mapping'),
    ({'onlne': 'sqlite'}, 'backup:', 'unknown key(s) onlne'),
    ({'online': 'mysql'}, 'backup.online:', 'give sqlite'),
    ({'online': True}, 'backup.online:', 'give sqlite'),
    ({'online': 'sqlite'}, 'backup.sqlite:', 'needs the SQLite database files'),
    ({'online': 'sqlite', 'sqlite': []}, 'backup.sqlite:', 'needs the SQLite database files'),
    ({'online': 'sqlite', 'sqlite': '/usr2/pos/db/pos.db'}, 'backup.sqlite:', 'must be a list'),
    ({'online': 'sqlite', 'sqlite': ['db/pos.db']}, 'backup.sqlite[0]:', 'absolute path'),
    ({'online': 'sqlite', 'sqlite': ['/var/lib/pos.db']}, 'backup.sqlite[0]:', 'inside one of the data_paths'),
    ({'online': 'sqlite', 'sqlite': ['/usr2/pos']}, 'backup.sqlite[0]:', 'inside one of the data_paths'),
    ({'online': 'sqlite', 'sqlite': ['/usr2/pos/../etc/x.db']}, 'backup.sqlite[0]:', 'absolute path'),
    ({'online': 'sqlite', 'sqlite': ['/usr2/pos/a.db', '/usr2/pos/a.db']}, 'backup.sqlite[1]:', 'listed twice'),
    ({'online': 'sqlite', 'sqlite': [7]}, 'backup.sqlite[0]:', 'absolute path'),
    ({'sqlite': ['/usr2/pos/a.db']}, 'backup.online:', 'online is not sqlite'),
    ({'include': '/usr2/pos'}, 'backup.include:', 'must be a list'),
    ({'include': ['/var/log']}, 'backup.include[0]:', 'not inside any of the data_paths'),
    ({'exclude': '*.tmp'}, 'backup.exclude:', 'must be a list'),
    ({'exclude': ['']}, 'backup.exclude[0]:', 'glob pattern'),
    ({'exclude': [None]}, 'backup.exclude[0]:', 'glob pattern'),
])
def test_a_wrong_backup_section_names_the_field(backup, field, hint):
    with pytest.raises(prof.ProfileError) as e:
        prof.validate_backup(backup, DATA)
    assert str(e.value).startswith(field) and hint in str(e.value), str(e.value)
