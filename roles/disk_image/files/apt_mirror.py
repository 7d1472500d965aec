# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the Debian mirror for a suite from this host's apt sources (the collection's own parser).

    apt_mirror.py MEDIA_PY SUITE [SOURCES...]
"""

import glob
import importlib.util
import sys


def main():
    media_py, suite = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location('poscloud_media', media_py)
    media = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(media)
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
