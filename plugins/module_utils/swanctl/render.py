# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One tunnel's connection file and secrets file, and the redaction of secrets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.poscloud.fleet.plugins.module_utils.swanctl.constants import MANAGED_MARKER, REDACTED


def quote(value):
    """Quote a value for swanctl.conf: backslash and double quote are escaped."""
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def secret_value(psk):
    """How the PSK is written: 0x/0s forms as given (swanctl decodes them), anything else quoted."""
    if re.match(r'^0[xXsS]', psk):
        return psk
    return quote(psk)


def conf_path(swanctl_dir, name):
    return '%s/conf.d/%s.conf' % (swanctl_dir.rstrip('/'), name)


def secrets_path(swanctl_dir, name):
    return '%s/conf.d/%s.secrets.conf' % (swanctl_dir.rstrip('/'), name)


def render_conf(spec):
    """The ``conf.d/<name>.conf`` text of a normalised spec. Same spec, same bytes."""
    name = spec['name']
    if spec['auth'] == 'certificate':
        local_auth = ['auth = pubkey', 'certs = %s' % spec['local_cert'], 'id = %s' % quote(spec['local_id'])]
        remote_auth = ['auth = pubkey', 'id = %s' % quote(spec['remote_id'])]
        if spec.get('remote_cacert'):
            remote_auth.append('cacerts = %s' % spec['remote_cacert'])
    else:
        local_auth = ['auth = psk', 'id = %s' % quote(spec['local_id'])]
        remote_auth = ['auth = psk', 'id = %s' % quote(spec['remote_id'])]
    lines = [
        MANAGED_MARKER + '; changes made here are overwritten.',
        'connections {',
        '    %s {' % name,
        '        version = %d' % spec['ike_version'],
        '        proposals = %s' % ','.join(spec['ike_proposals']),
        '        local_addrs = %s' % ','.join(spec['local_addrs']),
        '        remote_addrs = %s' % ','.join(spec['remote_addrs']),
        '        dpd_delay = %ds' % spec['dpd_delay'],
        '        local {',
    ]
    lines += ['            ' + item for item in local_auth]
    lines += ['        }', '        remote {']
    lines += ['            ' + item for item in remote_auth]
    lines += [
        '        }',
        '        children {',
        '            %s {' % name,
        '                mode = tunnel',
        '                local_ts = %s' % ','.join(spec['local_ts']),
        '                remote_ts = %s' % ','.join(spec['remote_ts']),
        '                esp_proposals = %s' % ','.join(spec['esp_proposals']),
        '                dpd_action = %s' % spec['dpd_action'],
        '                start_action = %s' % spec['start_action'],
        '            }',
        '        }',
        '    }',
        '}',
    ]
    return '\n'.join(lines) + '\n'


def render_secrets(spec):
    """The ``conf.d/<name>.secrets.conf`` text (to be written with mode 0600), or None without a PSK."""
    if spec['auth'] != 'psk' or not spec.get('psk'):
        return None
    lines = [
        MANAGED_MARKER + '; keep this file mode 0600.',
        'secrets {',
        '    ike-%s {' % spec['name'],
        '        id-1 = %s' % quote(spec['local_id']),
        '        id-2 = %s' % quote(spec['remote_id']),
        '        secret = %s' % secret_value(spec['psk']),
        '    }',
        '}',
    ]
    return '\n'.join(lines) + '\n'


_SECRET_LINE_RE = re.compile(r'^(\s*secret\s*=\s*)(.*)$', re.MULTILINE)


def redact_secrets(text, marker=REDACTED):
    """``text`` with the value of every ``secret =`` line replaced by ``marker``; None stays None."""
    if text is None:
        return None
    return _SECRET_LINE_RE.sub(lambda m: m.group(1) + marker, text)


def secret_of(text):
    """The raw value of the first ``secret =`` line of a secrets file, or None."""
    if not text:
        return None
    m = _SECRET_LINE_RE.search(text)
    return m.group(2).strip() if m else None
