# -*- coding: utf-8 -*-
# Copyright: poscloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the swanctl modules share: option values, defaults, markers and the input error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Proven to negotiate between two charon 5.9.8 instances with kernel-libipsec and the openssl plugin
# (docs/ipsec-proposals.md): AEAD ciphers, ECP-384 first and MODP-3072 as the fallback group.
DEFAULT_IKE_PROPOSALS = ('aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha256-modp3072')
DEFAULT_ESP_PROPOSALS = ('aes256gcm16-ecp384', 'aes256gcm16-modp3072')

ANY_ADDRS = ('%any', '%any4', '%any6')
DEFAULT_LOCAL_ADDRS = ('%any',)
IKE_VERSIONS = (1, 2)
DEFAULT_IKE_VERSION = 2
START_ACTIONS = ('none', 'trap', 'start')
DEFAULT_START_ACTION = 'none'
DPD_ACTIONS = ('clear', 'trap', 'restart')
DEFAULT_DPD_ACTION = 'clear'
AUTH_METHODS = ('psk', 'certificate')
DEFAULT_AUTH = 'psk'
MIN_PSK_LENGTH = 20
DPD_DELAY_RANGE = (5, 3600)
DEFAULT_DPD_DELAY = 30
MANAGED_MARKER = '# Managed by poscloud.fleet.ipsec_tunnel'
REDACTED = '<redacted>'


class SwanctlError(Exception):
    """An input is wrong. ``errors`` holds one message per problem, each naming the field and the fix."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [errors]
        self.errors = list(errors)
        super(SwanctlError, self).__init__('; '.join(self.errors))
