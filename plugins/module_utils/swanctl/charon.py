# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""charon's own settings the tunnel modules manage (the IPsec data path and the file log), and the
shell commands that probe the kernel's ESP support and restart charon."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import MANAGED_MARKER

DATAPATHS = ('auto', 'kernel', 'libipsec')

# Where the kernel shows ESP support that is loaded (read with the other files), and the probe that
# also tries to load it: rc 0 when the kernel has it. The kernel's IPsec needs ESP (esp4, or built in).
ESP_SIGNS = ('/sys/module/esp4', '/proc/modules')
ESP_PROBE = ['sh', '-c', 'test -d /sys/module/esp4 || grep -q "^esp4 " /proc/modules || modprobe -q esp4']

# With systemd, its unit; without (a POS instance), the instance's init starts charon again when it
# exits: stop it, and wait until the old process is gone so that the next answer is the new one's.
RESTART = ['sh', '-c', 'if [ -d /run/systemd/system ]; then exec systemctl restart strongswan; fi; '
                       'p=$(pgrep -x charon-systemd || pgrep -x charon) || exit 0; kill -TERM $p; '
                       'for i in $(seq 1 100); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1']


def esp_loaded(found, signs=ESP_SIGNS):
    """Whether the files of ``signs`` (ESP_SIGNS), as read_many returned them, show ESP loaded in the kernel."""
    sysfs = found.get(signs[0], (None, None))[1] == 'dir'
    modules = found.get(signs[1], (None, None))[0] or ''
    return sysfs or any(line.startswith('esp4 ') for line in modules.splitlines())


def datapath_conf(datapath):
    """kernel-libipsec.conf for the data path ``kernel`` or ``libipsec``."""
    return ('%s; changes made here are overwritten.\n# IPsec data path: %s\nkernel-libipsec {\n    load = %s\n}\n'
            % (MANAGED_MARKER, datapath, 'yes' if datapath == 'libipsec' else 'no'))


def filelog_conf(path):
    """charon-logging.conf with a file log at ``path`` (IKE and configuration lines at level 1)."""
    return '\n'.join([
        MANAGED_MARKER + '; changes made here are overwritten.',
        'charon {',
        '    filelog {',
        '        charon {',
        '            path = %s' % path,
        '            time_format = %b %e %T',
        '            default = 1',
        '            ike = 1',
        '            cfg = 1',
        '            flush_line = yes',
        '        }',
        '    }',
        '}',
    ]) + '\n'


def same_settings(old, new):
    """Whether two settings files say the same (comments and blank lines aside): a file written by an
    earlier release or by the image's staging is kept, and charon is not restarted for it."""
    def meaning(text):
        return [line.strip() for line in (text or '').splitlines() if line.strip() and not line.strip().startswith('#')]
    return old is not None and meaning(old) == meaning(new)
