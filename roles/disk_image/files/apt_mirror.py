# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the Debian mirror for a suite from this host's apt sources (the collection's own parser).

    apt_mirror.py MEDIA_PY SUITE [SOURCES...]

MEDIA_PY is the collection's plugins/module_utils/media.py. It runs with the host's python3, where
the collection is not importable: media.py and the module_utils it imports are loaded from their
files, each under its full name, so media.py's own imports find them.
"""

import glob
import importlib.util
import os
import sys

PACKAGE = 'ansible_collections.poscloud.fleet.plugins.module_utils'
# The module_utils media.py imports, in the order they must be loaded.
NEEDS = ('common',)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main():
    media_py, suite = sys.argv[1], sys.argv[2]
    folder = os.path.dirname(os.path.abspath(media_py))
    for name in NEEDS:
        load('%s.%s' % (PACKAGE, name), os.path.join(folder, name + '.py'))
    media = load('%s.media' % PACKAGE, media_py)
    files = sys.argv[3:] or (['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list'))
                             + sorted(glob.glob('/etc/apt/sources.list.d/*.sources')))
    entries = []
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except (IOError, OSError):
            continue
        entries += media.parse_apt_sources(text, 'deb822' if path.endswith('.sources') else 'one-line')
    mirror = media.mirror_for_suite(entries, suite)
    if not mirror:
        sys.stderr.write('no Debian mirror for %s in %s\n' % (suite, ', '.join(files)))
        return 1
    print(mirror)
    return 0


if __name__ == '__main__':
    sys.exit(main())
